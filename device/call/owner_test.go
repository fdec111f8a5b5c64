package call

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/sync/proto"
)

// Camera and microphone are closed on every path: whatever happens while
// they open, one close for every open, and Run returns.
func TestCaptureClosedOnEveryPath(t *testing.T) {
	t.Run("normal end", func(t *testing.T) {
		r := newTimerRig(t)
		r.invite("c-1", proto.ModeForced)
		waitCount(t, "cameras opened", &r.fake.opened, 1)
		r.waitPhase(device.CallAnnouncing)
		waitUntil(t, "the camera light on", func() bool { v := r.scr.last(); return v.CameraOn && v.MicOn })
		r.scr.last().Hangup() // the resident's one touch
		r.waitPhase(device.CallEnded)
		waitCount(t, "cameras closed", &r.fake.closed, 1)
		// The privacy light tells the truth on the "Call ended" screen:
		// once camera and microphone are closed, the screen says so, for
		// all the time the ended screen stays up.
		waitUntil(t, "the ended screen with the camera light out", func() bool {
			v := r.scr.last()
			return v.Phase == device.CallEnded && !v.CameraOn && !v.MicOn
		})
	})
	t.Run("call ended while opening", func(t *testing.T) {
		r, gate := newOpeningRig(t)
		r.waitPhase(device.CallAnnouncing)
		r.scr.last().Hangup()
		r.waitPhase(device.CallEnded)
		close(gate)
		waitCount(t, "cameras opened", &r.fake.opened, 1)
		waitCount(t, "cameras closed after the call ended while they opened", &r.fake.closed, 1)
	})
	t.Run("Run cancelled while opening", func(t *testing.T) {
		r, gate := newOpeningRig(t)
		r.waitPhase(device.CallAnnouncing)
		start := time.Now()
		r.stop()
		select {
		case <-r.stopped:
		case <-time.After(closeWait + 2*time.Second):
			t.Fatal("Run did not return while the camera was still opening")
		}
		t.Logf("Run returned %v after cancel, the camera still opening", time.Since(start).Round(time.Millisecond))
		close(gate) // the camera opens after Run returned: its opener closes it
		waitCount(t, "cameras opened", &r.fake.opened, 1)
		waitCount(t, "cameras closed after Run returned", &r.fake.closed, 1)
		waitUntil(t, "nothing stuck", func() bool { return r.m.stuck.Load() == 0 })
	})
	t.Run("Run cancelled, the camera opens just in time", func(t *testing.T) {
		r, gate := newOpeningRig(t)
		r.stop()
		close(gate) // races with Run's end: either side closes it, once
		<-r.stopped
		waitCount(t, "cameras opened", &r.fake.opened, 1)
		waitCount(t, "cameras closed", &r.fake.closed, 1)
	})
	t.Run("open fails", func(t *testing.T) {
		r := newTimerRigWith(t, func(o *Options) { o.Media = &fakeMedia{failOpen: errors.New("no such device")} })
		r.fake = r.m.opt.Media.(*fakeMedia)
		r.invite("c-1", proto.ModeForced)
		r.waitPhase(device.CallEnded)
		if v := r.scr.last(); v.EndReason != "camera and microphone: no such device" {
			t.Fatalf("end reason %q", v.EndReason)
		}
		if o, c := r.fake.opened.Load(), r.fake.closed.Load(); o != 0 || c != 0 {
			t.Fatalf("opened %d, closed %d: want neither", o, c)
		}
	})
}

// Cancelled mid-call, Run returns within seconds, even when the media
// stack hangs in closing; Alive then tells the watchdog.
func TestShutdownMidCallWithStuckMedia(t *testing.T) {
	hang := make(chan struct{})
	r := newTimerRigWith(t, func(o *Options) { o.Media = &fakeMedia{hang: hang} })
	r.fake = r.m.opt.Media.(*fakeMedia)
	r.invite("c-1", proto.ModeForced)
	waitCount(t, "cameras opened", &r.fake.opened, 1)
	waitUntil(t, "the capture in the call", func() bool { return r.scr.last().CameraOn && r.fake.opened.Load() == 1 })
	r.settle()
	if err := r.m.Alive(context.Background()); err != nil {
		t.Fatalf("Alive mid-call = %v", err)
	}
	start := time.Now()
	r.stop()
	select {
	case <-r.stopped:
	case <-time.After(2*closeWait + 2*time.Second):
		t.Fatal("Run did not return after cancel with the media stuck")
	}
	took := time.Since(start)
	t.Logf("Run returned %v after cancel mid-call, media stuck", took.Round(time.Millisecond))
	if took > 2*closeWait+time.Second {
		t.Fatalf("Run took %v to return", took)
	}
	if err := r.m.Alive(context.Background()); err == nil {
		t.Fatal("Alive = nil with the media stuck closing")
	}
	close(hang)
	waitUntil(t, "the stuck media to finish", func() bool { return r.m.stuck.Load() == 0 })
	if r.fake.closed.Load() != 1 {
		t.Fatalf("closed %d, want 1", r.fake.closed.Load())
	}
}

// A media stack stuck mid-call (not at shutdown) leaves the call loop
// running but Alive failing, so systemd restarts the daemon.
func TestStuckCaptureFailsAlive(t *testing.T) {
	hang := make(chan struct{})
	r := newTimerRigWith(t, func(o *Options) { o.Media = &fakeMedia{hang: hang} })
	r.fake = r.m.opt.Media.(*fakeMedia)
	r.invite("c-1", proto.ModeForced)
	waitCount(t, "cameras opened", &r.fake.opened, 1)
	waitUntil(t, "the capture in the call", func() bool { return r.scr.last().CameraOn })
	r.settle()
	r.scr.last().Hangup()
	r.waitPhase(device.CallEnded)
	waitUntil(t, "the capture counted as stuck", func() bool { return r.m.stuck.Load() == 1 })
	if err := r.m.Alive(context.Background()); err == nil {
		t.Fatal("Alive = nil with the capture stuck closing")
	}
	// The loop itself still answers: the next call is taken.
	r.advance(3 * time.Second)
	r.waitPhase(device.CallNone)
	close(hang)
	waitUntil(t, "the stuck capture to finish", func() bool { return r.m.stuck.Load() == 0 })
	if err := r.m.Alive(context.Background()); err != nil {
		t.Fatalf("Alive after the capture closed at last = %v", err)
	}
}

// Alive fails when the Run loop does not come round (blocked), and when
// Run has returned.
func TestAlive(t *testing.T) {
	r := newTimerRig(t)
	if err := r.m.Alive(context.Background()); err != nil {
		t.Fatalf("Alive = %v", err)
	}
	block := make(chan struct{})
	r.m.post(func() { <-block })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.m.Alive(ctx); err == nil {
		t.Fatal("Alive = nil with the loop blocked")
	}
	close(block)
	if err := r.m.Alive(context.Background()); err != nil {
		t.Fatalf("Alive after the loop moved on = %v", err)
	}
	r.stop()
	<-r.stopped
	if err := r.m.Alive(context.Background()); err == nil {
		t.Fatal("Alive = nil after Run returned")
	}
}

// newOpeningRig is a rig whose forced call c-1 has begun opening the
// camera and microphone, held open until gate is closed.
func newOpeningRig(t *testing.T) (*timerRig, chan struct{}) {
	t.Helper()
	gate := make(chan struct{})
	r := newTimerRigWith(t, func(o *Options) { o.Media = &fakeMedia{gate: gate} })
	r.fake = r.m.opt.Media.(*fakeMedia)
	r.invite("c-1", proto.ModeForced)
	waitCount(t, "captures opening", &r.fake.opening, 1)
	return r, gate
}
