package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// listen makes a unixgram socket at name (a path, or @abstract), sets
// NOTIFY_SOCKET to it and returns it for reading what was sent.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return c
}

// shortDir is a temp dir with a short path: a socket path must stay under
// 108 bytes.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// recv returns the next datagram, or "" and false if none came within d.
func recv(t *testing.T, c *net.UnixConn, d time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "", false
	}
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n]), true
}

func TestNotify(t *testing.T) {
	for _, sock := range []string{"path", "abstract"} {
		t.Run(sock, func(t *testing.T) {
			name := filepath.Join(shortDir(t), "notify")
			if sock == "abstract" {
				name = fmt.Sprintf("@hearth-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
			}
			c := listen(t, name)
			for _, tc := range []struct {
				name string
				send func() error
				want string
			}{
				{"Ready", Ready, "READY=1"},
				{"Stopping", Stopping, "STOPPING=1"},
				{"Ping", Ping, "WATCHDOG=1"},
				{"Status", func() error { return Status("3 photos\nREADY=1\r\n") }, "STATUS=3 photos READY=1 "},
				{"Notify", func() error { return Notify("STATUS=x\nWATCHDOG=1") }, "STATUS=x\nWATCHDOG=1"},
			} {
				if err := tc.send(); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got, ok := recv(t, c, 5*time.Second); !ok || got != tc.want {
					t.Errorf("%s sent %q, %v, want %q", tc.name, got, ok, tc.want)
				}
			}
		})
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Ready(); err != nil {
		t.Errorf("Ready without NOTIFY_SOCKET = %v, want nil", err)
	}
	for _, sock := range []string{"vsock:2:1234", filepath.Join(shortDir(t), "absent")} {
		t.Setenv("NOTIFY_SOCKET", sock)
		if err := Ready(); err == nil {
			t.Errorf("Ready with NOTIFY_SOCKET=%s = nil, want an error", sock)
		}
	}
}

func TestWatchdogInterval(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", me, 30 * time.Second, true},
		{"30000000", "1", 0, false},
		{"30000000", "x", 0, false},
		{"0", "", 0, false},
		{"-1", "", 0, false},
		{"30s", "", 0, false},
		{"99999999999999999", "", 0, false}, // overflows a Duration
		{"1", me, time.Microsecond, true},
	} {
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		if got, ok := WatchdogInterval(); got != tc.want || ok != tc.ok {
			t.Errorf("WatchdogInterval() with WATCHDOG_USEC=%q WATCHDOG_PID=%q = %v, %v, want %v, %v",
				tc.usec, tc.pid, got, ok, tc.want, tc.ok)
		}
	}
}
