package device

import (
	"context"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

func TestStateEnums(t *testing.T) {
	for _, tt := range []struct {
		v    interface{ String() string }
		want string
	}{
		{CallsOff, "off"}, {CallsNoAllowlist, "no_allowlist"}, {CallsOn, "on"}, {CallsState(9), "CallsState(9)"},
		{ClockUnknown, "unknown"}, {ClockSynced, "synced"}, {ClockUnsynced, "unsynced"}, {ClockTrust(9), "ClockTrust(9)"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.v, got, tt.want)
		}
	}
	if len(CallsStates) != 3 || len(ClockTrusts) != 3 {
		t.Errorf("a state list is out of date: %v %v", CallsStates, ClockTrusts)
	}
}

func TestAvailability(t *testing.T) {
	both := Devices{Camera: true, Microphone: true, Speaker: true}
	dnd := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	type ans = map[proto.CallMode]proto.Answer
	normal := ans{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerRings}
	none := ans{proto.ModeForced: proto.AnswerNone, proto.ModeSignalled: proto.AnswerNone}
	busy := ans{proto.ModeForced: proto.AnswerBusy, proto.ModeSignalled: proto.AnswerBusy}
	for _, tt := range []struct {
		name   string
		s      State
		state  proto.AvailabilityState
		answer ans
	}{
		{"not provisioned", State{Calls: CallsOff, Devices: both}, proto.AvailNotProvisioned, none},
		{"no allowlist", State{Calls: CallsNoAllowlist, Devices: both}, proto.AvailNoAllowlist, none},
		{"no camera or microphone wins over no allowlist", State{Calls: CallsNoAllowlist}, proto.AvailNoCameraOrMic, none},
		{"available", State{Calls: CallsOn, Devices: both}, proto.AvailAvailable, normal},
		{"ringing", State{Calls: CallsOn, Devices: both, Call: CallRinging}, proto.AvailRinging, busy},
		{"in a call, at night, in DND", State{Calls: CallsOn, Devices: both, Call: CallActive, Night: ModeNightOff, DNDUntil: dnd}, proto.AvailInCall, busy},
		{"the ended screen gives way to the next call", State{Calls: CallsOn, Devices: both, Call: CallEnded}, proto.AvailAvailable, normal},
		{"dnd", State{Calls: CallsOn, Devices: both, DNDUntil: dnd, Night: ModeNightDim}, proto.AvailDoNotDisturb,
			ans{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerAsleep}},
		{"night", State{Calls: CallsOn, Devices: both, Night: ModeNightDim}, proto.AvailNight, normal},
		{"camera missing", State{Calls: CallsOn, Devices: Devices{Microphone: true}}, proto.AvailCameraMissing, normal},
		{"microphone missing", State{Calls: CallsOn, Devices: Devices{Camera: true}}, proto.AvailMicrophoneMissing, normal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, a := tt.s.Availability()
			if st != tt.state || len(a) != len(tt.answer) || a[proto.ModeForced] != tt.answer[proto.ModeForced] ||
				a[proto.ModeSignalled] != tt.answer[proto.ModeSignalled] {
				t.Fatalf("Availability() = %q %v, want %q %v", st, a, tt.state, tt.answer)
			}
			if !st.Valid() {
				t.Fatalf("%q is not a valid availability state", st)
			}
		})
	}
}

// Live moves the night mode at each edge and ends do-not-disturb by
// itself; each change wakes the watchers once.
func TestLiveRun(t *testing.T) {
	loc := time.UTC
	t0 := time.Date(2026, 12, 7, 21, 0, 0, 0, loc)
	clk := clock.NewFake(t0)
	night, err := ParseNightHours("22:00-07:00")
	if err != nil {
		t.Fatal(err)
	}
	l := NewLive(State{NightHours: night, DNDUntil: t0.Add(30 * time.Minute)}, clk, loc)
	if s := l.Get(); s.Night != ModeDay || !s.DND() {
		t.Fatalf("at start: night %v dnd %v, want day and on", s.Night, s.DND())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()

	step := func(to time.Time, what string, ok func(State) bool) {
		t.Helper()
		_, changed := l.Watch()
		waitPending(t, clk, to)
		clk.Set(to)
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no change", what)
		}
		if s := l.Get(); !ok(s) {
			t.Fatalf("%s: state %+v", what, s)
		}
	}
	step(t0.Add(30*time.Minute), "do-not-disturb's end", func(s State) bool { return !s.DND() && s.Night == ModeDay })
	step(t0.Add(time.Hour), "night", func(s State) bool { return s.Night == ModeNightDim })
	step(t0.Add(10*time.Hour), "morning", func(s State) bool { return s.Night == ModeDay })

	// New hours re-aim Run at once; no change, no wake-up.
	n2, _ := ParseNightHours("08:00-09:00")
	if !l.SetNightHours(n2) || l.SetNightHours(n2) {
		t.Fatal("SetNightHours reported no change, or a change twice")
	}
	step(t0.Add(11*time.Hour), "the new night", func(s State) bool { return s.Night == ModeNightDim })
}

// waitPending waits until the fake clock has a timer at want.
func waitPending(t *testing.T, clk *clock.Fake, want time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range clk.Pending() {
			if p.Equal(want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no timer at %v; armed: %v", want, clk.Pending())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPublishAvailability(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	l := NewLive(State{Calls: CallsOn, Devices: Devices{Camera: true, Microphone: true}}, clk, time.UTC)
	got := make(chan proto.Availability, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- PublishAvailability(ctx, l, clk, "mum", "Mum's kitchen", func(a proto.Availability) { got <- a })
	}()
	defer func() { cancel(); <-done }()
	next := func(want proto.AvailabilityState) {
		t.Helper()
		select {
		case a := <-got:
			if a.State != want || a.Device != "mum" || a.Name != "Mum's kitchen" {
				t.Fatalf("published %+v, want state %q", a, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing published, want %q", want)
		}
	}
	next(proto.AvailAvailable)
	l.SetOnScreen("photo") // callers are not told
	l.SetCall("c", CallRinging)
	next(proto.AvailRinging)
	l.SetCall("c", CallActive)
	next(proto.AvailInCall)
	l.SetCall("c", CallEnded) // the next call may come
	next(proto.AvailAvailable)
	l.SetCall("", CallNone) // nothing new for callers
	select {
	case a := <-got:
		t.Fatalf("published %+v with nothing new for callers", a)
	case <-time.After(50 * time.Millisecond):
	}
}

// A new slide on screen is recorded without waking the watchers: the
// carousel changes it at every slide.
func TestOnScreenWakesNobody(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	l := NewLive(State{}, clk, time.UTC)
	_, changed := l.Watch()
	if !l.SetOnScreen("photo-1") || l.SetOnScreen("photo-1") {
		t.Fatal("SetOnScreen: want true for a new id, false for the same")
	}
	if got := l.Get().OnScreen; got != "photo-1" {
		t.Fatalf("OnScreen = %q, want photo-1", got)
	}
	select {
	case <-changed:
		t.Fatal("watchers woken for a new slide")
	default:
	}
	l.SetCall("c", CallRinging)
	select {
	case <-changed:
	default:
		t.Fatal("watchers not woken for a call")
	}
}
