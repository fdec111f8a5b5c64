package sdnotify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
)

type syncBuffer struct {
	mu sync.Mutex
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

// armedFor waits until the watchdog's timer is set for d from the fake
// now, which it does after each tick's keep-alive has been sent or withheld.
func armedFor(t *testing.T, f *clock.Fake, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p := f.Pending(); len(p) == 1 && p[0].Equal(f.Now().Add(d)) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("watchdog timer pending %v at %v, want one at +%v", f.Pending(), f.Now(), d)
}

func TestWatchdog(t *testing.T) {
	sock := listen(t, filepath.Join(shortDir(t), "notify"))
	f := clock.NewFake(time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC))
	var sick atomic.Pointer[error]
	var checks atomic.Int32
	var logs syncBuffer
	w := &Watchdog{
		Interval: 30 * time.Second,
		Clock:    f,
		Health: func(ctx context.Context) error {
			checks.Add(1)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("Health got a context without deadline")
			}
			if err := sick.Load(); err != nil {
				return *err
			}
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	// The first keep-alive goes at once, then one every Interval/2.
	expect := func(when string, want bool) {
		t.Helper()
		armedFor(t, f, 15*time.Second)
		// A keep-alive is queued on the socket before the timer is
		// re-armed, so a short wait is enough to tell.
		got, ok := recv(t, sock, 10*time.Millisecond)
		if want && (!ok || got != "WATCHDOG=1") {
			t.Fatalf("%s: sent %q, %v, want WATCHDOG=1", when, got, ok)
		}
		if !want && ok {
			t.Fatalf("%s: sent %q, want nothing", when, got)
		}
	}
	expect("at start", true)
	f.Advance(15 * time.Second)
	expect("after 15 s", true)

	wedged := errors.New("screen does not answer")
	sick.Store(&wedged)
	f.Advance(15 * time.Second)
	expect("while unhealthy", false)
	f.Advance(15 * time.Second)
	expect("still unhealthy", false)
	if n := strings.Count(logs.String(), "screen does not answer"); n != 1 {
		t.Errorf("unhealthy logged %d times, want once:\n%s", n, logs.String())
	}

	sick.Store(nil)
	f.Advance(15 * time.Second)
	expect("healthy again", true)
	if !strings.Contains(logs.String(), "healthy again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
	if n := checks.Load(); n != 5 {
		t.Errorf("Health called %d times, want 5 (one per tick)", n)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestWatchdogOff(t *testing.T) {
	w := &Watchdog{Notify: func(string) error { t.Error("Notify called with the watchdog off"); return nil }}
	if err := w.Run(t.Context()); err != nil {
		t.Errorf("Run with Interval 0 = %v, want nil", err)
	}
}

// A failing send is logged once and does not stop the keep-alives.
func TestWatchdogSendFails(t *testing.T) {
	f := clock.NewFake(time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC))
	var sent atomic.Int32
	var logs syncBuffer
	w := &Watchdog{
		Interval: 10 * time.Second, Clock: f,
		Notify: func(state string) error {
			sent.Add(1)
			return errors.New("no such socket")
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for range 3 {
		armedFor(t, f, 5*time.Second)
		f.Advance(5 * time.Second)
	}
	armedFor(t, f, 5*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if n := sent.Load(); n != 4 {
		t.Errorf("Notify called %d times, want 4", n)
	}
	if n := strings.Count(logs.String(), "no such socket"); n != 1 {
		t.Errorf("send failure logged %d times, want once:\n%s", n, logs.String())
	}
}
