package panel_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/panel"
)

// recorder is a panel that remembers what it was told, and says the
// display's level (which something else may change).
type recorder struct {
	mu    sync.Mutex
	got   []string
	level string
}

func (r *recorder) On() error    { r.add("on"); return nil }
func (r *recorder) Off() error   { r.add("off"); return nil }
func (r *recorder) Close() error { return nil }
func (r *recorder) add(s string) {
	r.mu.Lock()
	r.got, r.level = append(r.got, s), s
	r.mu.Unlock()
}

func (r *recorder) Level() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.level, nil
}

// setLevel changes the display behind the driver's back.
func (r *recorder) setLevel(l string) {
	r.mu.Lock()
	r.level = l
	r.mu.Unlock()
}

// take returns what the panel was told since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// rig is a Driver running over a Live at 21:00 UTC with night hours
// 22:00-07:00 in the given mode.
type rig struct {
	clk  *clock.Fake
	live *device.Live
	p    *recorder
	d    *panel.Driver
	t    *testing.T
}

func newRig(t *testing.T, mode device.Mode) *rig {
	clk := clock.NewFake(time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC))
	night, err := device.ParseNightHours("22:00-07:00")
	if err != nil {
		t.Fatal(err)
	}
	night.Mode = mode
	live := device.NewLive(device.State{NightHours: night}, clk, time.UTC)
	r := &rig{clk: clk, live: live, p: &recorder{}, t: t}
	r.d = panel.NewDriver(panel.Options{Panel: r.p, Live: live, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = live.Run(ctx) }()
	go func() { _ = r.d.Run(ctx) }()
	t.Cleanup(func() { cancel(); synctest.Wait() })
	return r
}

// expect checks what the panel was told since the last check.
func (r *rig) expect(what string, want ...string) {
	r.t.Helper()
	synctest.Wait()
	if got := r.p.take(); !slices.Equal(got, want) {
		r.t.Errorf("%s: panel told %q, want %q", what, got, want)
	}
}

// advance moves the fake clock and lets everything settle.
func (r *rig) advance(d time.Duration) {
	synctest.Wait()
	r.clk.Advance(d)
}

// Night-off turns the panel off at the night's start and on at its end;
// a call in between has it on from its wake to its end.
func TestDriverFollowsTheNightAndCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, device.ModeNightOff)
		r.expect("day at start", "on")
		r.advance(time.Hour) // 22:00
		r.expect("night starts", "off")

		r.d.Wake()
		r.expect("a call wakes it", "on")
		// A change that is not the call, before the call reaches the
		// live state, leaves it on.
		r.live.SetVolume(50)
		r.expect("an unrelated change before the call shows")
		r.live.SetCall("c1", device.CallAnnouncing)
		r.live.SetCall("c1", device.CallActive)
		r.live.SetCall("c1", device.CallEnded)
		r.expect("during the call")
		r.live.SetCall("", device.CallNone)
		r.expect("after the call", "off")

		r.advance(9 * time.Hour) // 07:00
		r.expect("morning", "on")
	})
}

// In the dim night and the day the panel stays on; a wake tells it on
// again anyway (something else may have turned it off).
func TestDriverDimAndDayStayOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, device.ModeNightDim)
		r.expect("day at start", "on")
		r.advance(time.Hour)
		r.expect("dim night")
		r.d.Wake()
		r.expect("a call at a dim night", "on")
		r.live.SetCall("c1", device.CallRinging)
		r.live.SetCall("", device.CallNone)
		r.expect("after the call")
	})
}

// A wake whose call never reaches the live state (refused after the
// wake, say) gives the panel back to the night after a while.
func TestDriverWakeWithoutACallLetsGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, device.ModeNightOff)
		r.advance(time.Hour)
		r.expect("night", "on", "off")
		r.d.Wake()
		r.expect("wake", "on")
		r.advance(29 * time.Second)
		r.expect("still held")
		r.advance(time.Second)
		r.expect("the hold ends", "off")
	})
}

// A display turned off in the day by something else (an X idle timer), or
// on at night, is set again within a minute.
func TestDriverSetsAgainWhatSomethingElseChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, device.ModeNightOff)
		r.expect("day at start", "on")
		r.p.setLevel("blanked")
		r.advance(59 * time.Second)
		r.expect("within the minute")
		r.advance(time.Second)
		r.expect("the minute's look", "on")
		r.advance(time.Hour) // night
		r.expect("night", "off")
		r.p.setLevel("on")
		r.advance(time.Minute)
		r.expect("lit at night behind its back", "off")
		r.advance(time.Minute)
		r.expect("as set")
	})
}
