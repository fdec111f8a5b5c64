package device

import (
	"context"
	"fmt"
	gosync "sync"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// State is the device's live state: one value, owned by Live. Every
// component reads it from there and writes only its own part, so no fact
// is known in two places (night hours, do-not-disturb, the devices, the
// call's phase, what is on screen).
//
// State is comparable: Live broadcasts a change only when the value
// differs.
type State struct {
	// Calls says whether the device takes calls at all and whether its
	// allowlist arrived.
	Calls CallsState
	// NightHours are the hours in force (configuration, or an admin's
	// set_night); Night is the screen mode they give now, moved at each
	// edge by Live.Run.
	NightHours NightHours
	Night      Mode
	// DNDUntil is when do-not-disturb ends; zero while it is off. Live.Run
	// clears it when it ends.
	DNDUntil time.Time
	// Devices are what the last probe found.
	Devices Devices
	// Call and CallID are the call holding the device (CallNone: none),
	// written by the call Manager alone.
	Call   CallPhase
	CallID string
	// OnScreen is the id of the item on screen ("" for none), from the
	// screen.
	OnScreen string
	// Volume is the speaker's level in percent; -1 until one is set
	// (the system's level stands).
	Volume int
	// Clock says whether the system clock is known to be synchronised.
	Clock ClockTrust
	// ClockEarly: the wall clock reads before this build was made, so it
	// is wrong whatever the time service says (a Pi without an RTC after
	// boot, before NTP). Written by the Scheduler, which reads the time.
	ClockEarly bool
}

// ClockTrusted reports whether the wall clock can be believed: not known
// to be unsynchronised, and not before the build. A device without a
// time service (ClockUnknown) trusts a clock that passes the build check.
func (s State) ClockTrusted() bool { return s.Clock != ClockUnsynced && !s.ClockEarly }

// Devices says which of camera, microphone and speaker the device has.
type Devices struct {
	Camera, Microphone, Speaker bool
}

// CallsState says whether a device takes calls.
type CallsState uint8

// The calls states.
const (
	// CallsOff: no organisation key, nobody may call (not provisioned).
	CallsOff CallsState = iota
	// CallsNoAllowlist: calls are on but no allowlist has arrived yet.
	CallsNoAllowlist
	// CallsOn: an allowlist is in force.
	CallsOn
)

// CallsStates lists every calls state.
var CallsStates = []CallsState{CallsOff, CallsNoAllowlist, CallsOn}

var callsNames = [...]string{"off", "no_allowlist", "on"}

func (c CallsState) String() string { return enumString("CallsState", callsNames[:], c) }

// ClockTrust is what the device knows of its clock.
type ClockTrust uint8

// The clock trust states.
const (
	ClockUnknown  ClockTrust = iota // no time service answered
	ClockSynced                     // NTP synchronised
	ClockUnsynced                   // running on its own (no RTC on a Pi: may be far off after boot)
)

// ClockTrusts lists every clock trust state.
var ClockTrusts = []ClockTrust{ClockUnknown, ClockSynced, ClockUnsynced}

var clockNames = [...]string{"unknown", "synced", "unsynced"}

func (c ClockTrust) String() string { return enumString("ClockTrust", clockNames[:], c) }

// enumString names v from names, or says it is out of range.
func enumString[E ~uint8](typ string, names []string, v E) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, uint8(v))
}

// DND reports whether do-not-disturb is on.
func (s State) DND() bool { return !s.DNDUntil.IsZero() }

// ScreenMode is the mode the screen should be in: a call wins over every
// night mode (the resident must see who is calling and that the camera is
// on), otherwise the night hours decide.
func (s State) ScreenMode() Mode {
	if s.Call.InCall() {
		return ModeDay
	}
	return s.Night
}

// Availability is how the device takes calls now, as callers and the
// fleet read it: the state, and what a forced and a signalled caller meet.
// It is derived from the rest of State alone.
func (s State) Availability() (proto.AvailabilityState, map[proto.CallMode]proto.Answer) {
	answer := func(forced, signalled proto.Answer) map[proto.CallMode]proto.Answer {
		return map[proto.CallMode]proto.Answer{proto.ModeForced: forced, proto.ModeSignalled: signalled}
	}
	switch {
	case s.Calls == CallsOff:
		return proto.AvailNotProvisioned, answer(proto.AnswerNone, proto.AnswerNone)
	case !s.Devices.Camera && !s.Devices.Microphone:
		return proto.AvailNoCameraOrMic, answer(proto.AnswerNone, proto.AnswerNone)
	case s.Calls == CallsNoAllowlist:
		return proto.AvailNoAllowlist, answer(proto.AnswerNone, proto.AnswerNone)
	case s.Call == CallRinging:
		return proto.AvailRinging, answer(proto.AnswerBusy, proto.AnswerBusy)
	case s.Call.InCall() && s.Call != CallEnded:
		// The "Call ended" screen gives way to the next call at once, so
		// the device is available again while it shows.
		return proto.AvailInCall, answer(proto.AnswerBusy, proto.AnswerBusy)
	case s.DND():
		return proto.AvailDoNotDisturb, answer(proto.AnswerAuto, proto.AnswerAsleep)
	case s.Night != ModeDay:
		return proto.AvailNight, answer(proto.AnswerAuto, proto.AnswerRings)
	case !s.Devices.Camera:
		return proto.AvailCameraMissing, answer(proto.AnswerAuto, proto.AnswerRings)
	case !s.Devices.Microphone:
		return proto.AvailMicrophoneMissing, answer(proto.AnswerAuto, proto.AnswerRings)
	}
	return proto.AvailAvailable, answer(proto.AnswerAuto, proto.AnswerRings)
}

// Live owns the device's State. Components read it with Get or Watch and
// change their own part with the setters (or Update); every change closes
// the channel Watch returned, so a reader wakes, reads the new State and
// watches again (close-and-replace: a slow reader never blocks a writer
// and never misses the latest value). Run moves the time-driven parts
// (night edges, do-not-disturb's end). Safe for concurrent use.
type Live struct {
	clk clock.Clock
	loc *time.Location

	mu      gosync.Mutex
	s       State
	changed chan struct{}
	kick    chan struct{} // the hours or DND's end moved: Run re-aims
}

// NewLive starts from s; its Night and DNDUntil are brought up to now at
// once. A nil clk is the real clock, a nil loc time.Local.
func NewLive(s State, clk clock.Clock, loc *time.Location) *Live {
	if clk == nil {
		clk = clock.Real()
	}
	if loc == nil {
		loc = time.Local
	}
	l := &Live{clk: clk, loc: loc, changed: make(chan struct{}), kick: make(chan struct{}, 1)}
	l.s = l.settle(s, clk.Now())
	return l
}

// Location is the device's time zone, in which night hours are read.
func (l *Live) Location() *time.Location { return l.loc }

// Get returns the state now.
func (l *Live) Get() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}

// Watch returns the state now and a channel closed at its next change.
func (l *Live) Watch() (State, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s, l.changed
}

// Update changes the state with fn (on a copy) and tells the watchers if
// it changed; it reports whether it did. fn must not block or call Live.
func (l *Live) Update(fn func(*State)) bool {
	l.mu.Lock()
	old := l.s
	s := old
	fn(&s)
	s = l.settle(s, l.clk.Now())
	if s == old {
		l.mu.Unlock()
		return false
	}
	l.s = s
	close(l.changed)
	l.changed = make(chan struct{})
	timed := s.NightHours != old.NightHours || !s.DNDUntil.Equal(old.DNDUntil)
	l.mu.Unlock()
	if timed {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// settle brings the time-driven parts of s up to now.
func (l *Live) settle(s State, now time.Time) State {
	s.Night = s.NightHours.ModeAt(now, l.loc)
	if !s.DNDUntil.IsZero() && !now.Before(s.DNDUntil) {
		s.DNDUntil = time.Time{}
	}
	return s
}

// SetNightHours puts new night hours in force (the mode follows at once).
func (l *Live) SetNightHours(n NightHours) bool {
	return l.Update(func(s *State) { s.NightHours = n })
}

// SetDND turns do-not-disturb on until a time (zero or past: off).
func (l *Live) SetDND(until time.Time) bool {
	return l.Update(func(s *State) { s.DNDUntil = until })
}

// SetDevices records what the last probe found.
func (l *Live) SetDevices(d Devices) bool {
	return l.Update(func(s *State) { s.Devices = d })
}

// SetCall records the call holding the device (the call Manager's alone).
func (l *Live) SetCall(id string, p CallPhase) bool {
	if p == CallNone {
		id = ""
	}
	return l.Update(func(s *State) { s.Call, s.CallID = p, id })
}

// SetCalls records whether calls are on and an allowlist is in force.
func (l *Live) SetCalls(c CallsState) bool {
	return l.Update(func(s *State) { s.Calls = c })
}

// SetOnScreen records the item on screen.
//
// Watchers are not woken for it: nothing waits for the slide to change
// (the heartbeat reads it when it is sent), and a carousel changes it at
// every slide, which woke every watcher of the device between two fades.
func (l *Live) SetOnScreen(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s.OnScreen == id {
		return false
	}
	l.s.OnScreen = id
	return true
}

// SetVolume records the speaker's level.
func (l *Live) SetVolume(percent int) bool {
	return l.Update(func(s *State) { s.Volume = percent })
}

// SetClock records what the time service said.
func (l *Live) SetClock(c ClockTrust) bool {
	return l.Update(func(s *State) { s.Clock = c })
}

// SetClockEarly records whether the wall clock reads before the build.
func (l *Live) SetClockEarly(early bool) bool {
	return l.Update(func(s *State) { s.ClockEarly = early })
}

// Run moves Night at each night-hours edge and clears DNDUntil when it
// ends, until ctx ends. It sleeps on one timer aimed at the next of them.
// Cancellation is not an error.
func (l *Live) Run(ctx context.Context) error {
	alarm := clock.Alarm{Clock: l.clk}
	defer alarm.Stop()
	for {
		now := l.clk.Now()
		s := l.Get()
		next := s.NightHours.NextEdge(now, l.loc)
		if !s.DNDUntil.IsZero() && (next.IsZero() || s.DNDUntil.Before(next)) {
			next = s.DNDUntil
		}
		var fire <-chan time.Time
		if !next.IsZero() {
			fire = alarm.At(now, next)
		} else {
			alarm.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-l.kick:
		case <-fire:
			l.Update(func(*State) {}) // settle does the work
		}
	}
}
