package main

// End-to-end tests: the real hearthd and hearthctl binaries against a real
// Mosquitto, with bbolt on disk; one test with a real window under Xvfb, one
// with the arm64 build under qemu. They are slow-ish (seconds each) and skip
// when their tools are missing, unless make test asks for them.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/store"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	binDir = os.Getenv("HEARTH_BIN")
	if binDir == "" && !testing.Short() {
		dir, err := os.MkdirTemp("", "hearth-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "github.com/hearth-home/hearth/cmd/hearthd", "github.com/hearth-home/hearth/cmd/hearthctl")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build binaries:", err)
			os.Exit(1)
		}
		binDir = dir
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func needBinaries(t *testing.T) {
	t.Helper()
	if binDir == "" {
		t.Skip("no binaries in -short mode")
	}
}

// daemon is a running hearthd.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startDaemon(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	return startCommand(t, env, filepath.Join(binDir, "hearthd"), args...)
}

func startCommand(t *testing.T, env []string, bin string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, log: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			t.Logf("hearthd log:\n%s", d.log)
		}
	})
	return d
}

func (d *daemon) kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}

// stop sends SIGTERM and requires a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.t.Fatalf("hearthd did not exit within 10 s of SIGTERM")
	}
	if d.err != nil {
		d.t.Fatalf("hearthd exit after SIGTERM: %v, want a clean exit\n%s", d.err, d.log)
	}
}

func (d *daemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// waitLog waits until the daemon's log contains s.
func (d *daemon) waitLog(s string, within time.Duration) {
	d.t.Helper()
	waitFor(d.t, within, "log line "+s, func() bool { return strings.Contains(d.log.String(), s) })
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ctl(t *testing.T, broker string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "hearthctl"), append([]string{"--broker", broker}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HEARTH_FROM=Anna")
	if err := cmd.Run(); err != nil {
		t.Fatalf("hearthctl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// inventory reads the device's retained report.
func inventory(t *testing.T, broker, device string) (proto.Inventory, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hsync.Dial(ctx, broker, "test")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	msgs, err := c.Retained(ctx, proto.InventoryTopic(device), 150*time.Millisecond)
	if err != nil {
		t.Fatalf("read inventory: %v", err)
	}
	p, ok := msgs[proto.InventoryTopic(device)]
	if !ok {
		return proto.Inventory{}, false
	}
	inv, err := proto.DecodeInventory(p)
	if err != nil {
		t.Fatalf("decode inventory: %v", err)
	}
	return inv, true
}

// waitReady waits until the device reports n items ready.
func waitReady(t *testing.T, broker, device string, n int, within time.Duration) proto.Inventory {
	t.Helper()
	var inv proto.Inventory
	waitFor(t, within, fmt.Sprintf("%d ready items on %s", n, device), func() bool {
		var ok bool
		inv, ok = inventory(t, broker, device)
		ready := 0
		for _, it := range inv.Items {
			if it.State == proto.StateReady {
				ready++
			}
		}
		return ok && ready == n
	})
	return inv
}

func liveIDs(t *testing.T, dir string) []string {
	t.Helper()
	st, err := store.Open(dir, store.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open store after the daemon: %v", err)
	}
	defer st.Close()
	recs, err := st.Live()
	if err != nil {
		t.Fatalf("live: %v", err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.Item.ID)
	}
	return ids
}

func writePhoto(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
