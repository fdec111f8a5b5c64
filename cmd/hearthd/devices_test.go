package main

import (
	"context"
	"io"
	"log/slog"
	gosync "sync"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/media"
)

// A USB camera unplugged while the device runs: a call that cannot open it
// has the devices probed at once; the periodic probe finds it back. Each
// change is reported (an activity, the heartbeat's fields).
func TestWatchDevicesFollowsTheCamera(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	var mu gosync.Mutex
	present := media.Devices{Camera: false, Microphone: true, Speaker: true}
	notes := make(chan string, 4)
	pokes := make(chan struct{}, 4)
	c := &calls{clk: clk, log: slog.New(slog.NewTextHandler(io.Discard, nil)), recheck: make(chan struct{}, 1),
		devs:           media.Devices{Camera: true, Microphone: true, Speaker: true},
		probe:          func() media.Devices { mu.Lock(); defer mu.Unlock(); return present },
		noteDev:        func(what string) { notes <- what },
		devicesChanged: func() { pokes <- struct{}{} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.watchDevices(ctx, time.Minute)
	next := func(what string) string {
		t.Helper()
		select {
		case s := <-notes:
			<-pokes
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("no change reported: %s", what)
			return ""
		}
	}

	c.recheckDevices() // a call could not open the camera
	if got := next("after a failed capture"); got != "camera missing" {
		t.Fatalf("reported %q, want camera missing", got)
	}
	if c.devices().Camera || !c.devices().Microphone {
		t.Fatalf("devices %+v, want no camera", c.devices())
	}

	mu.Lock()
	present.Camera, present.Speaker = true, false
	mu.Unlock()
	waitFor(t, 10*time.Second, "the next probe's timer", func() bool { return len(clk.Pending()) > 0 })
	clk.Advance(time.Minute)
	if got := next("a minute later"); got != "camera back, speaker missing" {
		t.Fatalf("reported %q, want camera back, speaker missing", got)
	}

	// Nothing changed: nothing reported.
	waitFor(t, 10*time.Second, "the next probe's timer", func() bool { return len(clk.Pending()) > 0 })
	clk.Advance(time.Minute)
	waitFor(t, 10*time.Second, "the probe after that", func() bool { return len(clk.Pending()) > 0 })
	select {
	case s := <-notes:
		t.Fatalf("reported %q with nothing changed", s)
	default:
	}
}
