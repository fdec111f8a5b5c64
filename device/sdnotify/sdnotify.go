// Package sdnotify tells systemd about hearthd's life, without cgo or
// libsystemd: READY=1 when it has started, STOPPING=1 on the way out,
// STATUS= lines for `systemctl status`, and WATCHDOG=1 keep-alives from a
// Watchdog that stops sending them when hearthd is wedged, so that
// systemd's WatchdogSec= restarts it.
//
// Everything is a no-op outside systemd (NOTIFY_SOCKET unset). hearthd's
// unit is cmd/hearthd/hearthd.service (Type=notify, NotifyAccess=main,
// WatchdogSec=). hearthd re-executes itself once to fix its environment
// (cmd/hearthd/env.go); exec keeps the pid, so the main-pid checks of
// NotifyAccess=main and WATCHDOG_PID still hold.
//
// The protocol is sd_notify(3): one datagram of newline-separated
// VARIABLE=value lines to the unix socket named by NOTIFY_SOCKET, a path or,
// with a leading '@', an abstract socket.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// sendTimeout bounds one send: a datagram to a unix socket blocks while the
// receiver's queue is full, and a stuck systemd must not stall hearthd.
const sendTimeout = time.Second

// Notify sends state (for example "READY=1", or several lines) to the
// service manager. It does nothing and returns nil when NOTIFY_SOCKET is
// unset, that is when hearthd does not run under systemd's Type=notify.
func Notify(state string) error {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		return nil
	}
	// Go's net package turns a leading '@' into the abstract namespace's
	// NUL byte (syscall.SockaddrUnix), as sd_notify does.
	if sock[0] != '/' && sock[0] != '@' {
		return fmt.Errorf("sd_notify: unsupported NOTIFY_SOCKET %q (want a path or @abstract)", sock)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if err := c.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %q: %w", firstLine(state), err)
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Ready tells systemd that start-up has finished (READY=1): a Type=notify
// unit counts as started only then, and units ordered after it wait.
func Ready() error { return Notify("READY=1") }

// Stopping tells systemd that hearthd is shutting down (STOPPING=1).
func Stopping() error { return Notify("STOPPING=1") }

// Ping sends one watchdog keep-alive (WATCHDOG=1). Watchdog sends them
// regularly; Ping is for a caller that manages its own timing.
func Ping() error { return Notify("WATCHDOG=1") }

// Status sets the one-line status that `systemctl status` shows
// (STATUS=...). Line breaks in s become spaces: each line of a
// notification is a separate assignment.
func Status(s string) error {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return Notify("STATUS=" + s)
}

// WatchdogInterval returns WatchdogSec= of hearthd's unit, which systemd
// passes as WATCHDOG_USEC, and whether the watchdog is on for this process:
// off when WATCHDOG_USEC is unset, zero or malformed, or when WATCHDOG_PID
// is set and names another process (a child that inherited the variables).
func WatchdogInterval() (time.Duration, bool) {
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 || us > int64(time.Duration(1<<63-1)/time.Microsecond) {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(us) * time.Microsecond, true
}
