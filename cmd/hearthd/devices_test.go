package main

import (
	"context"
	"io"
	"log/slog"
	gosync "sync"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/media"
	"github.com/hearth-home/hearth/sync/proto"
)

// A USB camera unplugged while the device runs: a call that cannot open it
// has the devices probed at once; the periodic probe finds it back. Each
// change is reported (an activity, the heartbeat's fields).
func TestWatchDevicesFollowsTheCamera(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	var mu gosync.Mutex
	present := media.Devices{Camera: false, Microphone: true, Speaker: true}
	notes := make(chan string, 4)
	live := device.NewLive(device.State{Calls: device.CallsOn, Devices: device.Devices{Camera: true, Microphone: true, Speaker: true}}, clk, time.UTC)
	c := &calls{clk: clk, log: slog.New(slog.NewTextHandler(io.Discard, nil)), recheck: make(chan struct{}, 1), live: live,
		probe: func() media.Devices { mu.Lock(); defer mu.Unlock(); return present },
		note:  func(a store.Activity) { notes <- a.Reason },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.watchDevices(ctx, time.Minute)
	next := func(what string) string {
		t.Helper()
		select {
		case s := <-notes:
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
	if d := live.Get().Devices; d.Camera || !d.Microphone {
		t.Fatalf("devices %+v, want no camera", d)
	}
	if a, _ := live.Get().Availability(); a != proto.AvailCameraMissing {
		t.Fatalf("availability %q, want camera_missing", a)
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
