package sysbus_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/device/sysbus/sysbustest"
	"github.com/hearth-home/hearth/internal/backoff"
)

// logBuf collects a Link's log lines. A Link logs only on the goroutine
// that asks it, so no lock.
type logBuf struct{ bytes.Buffer }

// count is how many times s was logged.
func (l *logBuf) count(s string) int { return strings.Count(l.String(), s) }

func newLink(t *testing.T, address string, clk clock.Clock) (*sysbus.Link, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	l := sysbus.NewLink(t.Context(), sysbus.LinkOptions{Address: address, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	t.Cleanup(func() { _ = l.Close() })
	return l, logs
}

// until calls ok until it holds, moving clk past any backoff between
// tries; it fails only after a deadline no healthy machine comes near.
func until(t *testing.T, clk *clock.Fake, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		clk.Advance(sysbus.MaxBackoff)
		time.Sleep(20 * time.Millisecond)
	}
}

// The dbus-daemon restarts (every connection to it closes) and the
// services come back on the new bus: the Link reads them again, and says
// once that the bus was lost and once that it is back.
func TestLinkAfterBusRestart(t *testing.T) {
	bus := sysbustest.Start(t)
	bus.TimeDated(true)
	bus.NetworkManager(sysbustest.Wifi("Kitchen", 62, "192.168.1.23"))
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	l, logs := newLink(t, bus.Address, clk)
	ctx := t.Context()
	if synced, known := l.Synchronized(ctx); !synced || !known {
		t.Fatalf("Synchronized = %v, %v, want true, true", synced, known)
	}
	if st, known := l.Status(ctx); !known || st.SSID != "Kitchen" {
		t.Fatalf("Status = %+v, %v, want Kitchen", st, known)
	}

	bus.Restart()
	// Different values than before, so that a stale answer cannot pass.
	bus.TimeDated(false)
	nm := bus.NetworkManager(sysbustest.Ethernet("10.0.0.7"))
	until(t, clk, "timedated through the new bus", func() bool {
		synced, known := l.Synchronized(ctx)
		return known && !synced
	})
	want := sysbus.NetStatus{Interface: "eth0", Type: "ethernet", Signal: -1, IP: "10.0.0.7", State: "connected"}
	if st, known := l.Status(ctx); !known || st != want {
		t.Errorf("Status after the restart = %+v, %v\nwant %+v, true", st, known, want)
	}
	if err := l.AddWifi(ctx, "Home", "secret pass"); err != nil {
		t.Errorf("AddWifi after the restart: %v", err)
	}
	if got := len(nm.Connections()); got != 1 {
		t.Errorf("profiles after AddWifi = %d, want 1", got)
	}
	for _, tc := range []struct {
		line string
		want int
	}{{"system bus lost", 1}, {"system bus back", 1}, {"no system bus", 0}} {
		if got := logs.count(tc.line); got != tc.want {
			t.Errorf("%q logged %d times, want %d:\n%s", tc.line, got, tc.want, logs)
		}
	}
}

// hearthd starts before the bus: every answer is unknown, a missing bus is
// tried once per backoff step (not per question), and once the bus is
// there the answers come.
func TestLinkBusAppearsLater(t *testing.T) {
	bus := sysbustest.New(t)
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	l, logs := newLink(t, bus.Address, clk)
	ctx := t.Context()
	for range 4 {
		if _, known := l.Synchronized(ctx); known {
			t.Fatal("Synchronized without a bus is known")
		}
		if st, known := l.Status(ctx); known || st.State != "unknown" {
			t.Fatalf("Status without a bus = %+v, %v, want unknown", st, known)
		}
		clk.Advance(sysbus.MaxBackoff)
	}
	if err := l.AddWifi(ctx, "Home", "secret pass"); err == nil || !strings.Contains(err.Error(), sysbus.ErrNoNetworkManager.Error()) {
		t.Errorf("AddWifi without a bus = %v, want ErrNoNetworkManager", err)
	}
	if got := logs.count("no system bus"); got != 1 {
		t.Errorf(`"no system bus" logged %d times, want once:\n%s`, got, logs)
	}

	bus.Start()
	bus.TimeDated(true)
	// The last failed attempt set a backoff; the clock has not moved, so
	// the Link does not knock yet.
	if _, known := l.Synchronized(ctx); known {
		t.Fatal("Synchronized reconnected inside its backoff")
	}
	clk.Advance(sysbus.MaxBackoff)
	until(t, clk, "timedated once the bus is up", func() bool {
		synced, known := l.Synchronized(ctx)
		return known && synced
	})
	if got := logs.count("system bus back"); got != 1 {
		t.Errorf(`"system bus back" logged %d times, want once:\n%s`, got, logs)
	}
}

// A missing bus is tried again only after the backoff, at start and after
// a loss (whose first retry is at once, and fails here). The backoff is
// jittered: the first wait lies between backoff.MinDelay and MinBackoff.
func TestLinkBackoff(t *testing.T) {
	bus := sysbustest.New(t)
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	l, logs := newLink(t, bus.Address, clk) // the first attempt failed: wait up to MinBackoff
	bus.Start()
	bus.TimeDated(true)
	early := backoff.MinDelay / 2
	clk.Advance(early)
	if _, known := l.Synchronized(t.Context()); known {
		t.Fatalf("reconnected %v after a failure, want not before %v", early, backoff.MinDelay)
	}
	clk.Advance(sysbus.MinBackoff - early)
	if _, known := l.Synchronized(t.Context()); !known {
		t.Fatalf("not reconnected %v after a failure", sysbus.MinBackoff)
	}

	bus.Stop()
	// The question that notices the loss tries at once, fails, and sets
	// the backoff.
	until(t, clk, "the loss noticed", func() bool {
		l.Synchronized(t.Context())
		return logs.count("system bus lost") == 1
	})
	bus.Start()
	bus.TimeDated(true)
	if _, known := l.Synchronized(t.Context()); known {
		t.Fatal("reconnected inside the backoff")
	}
	until(t, clk, "reconnected", func() bool { _, known := l.Synchronized(t.Context()); return known })
}

func TestLinkClosed(t *testing.T) {
	bus := sysbustest.Start(t)
	bus.TimeDated(true)
	l, _ := newLink(t, bus.Address, nil)
	if _, known := l.Synchronized(t.Context()); !known {
		t.Fatal("Synchronized before Close is unknown")
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, known := l.Synchronized(t.Context()); known {
		t.Error("Synchronized after Close is known")
	}
}
