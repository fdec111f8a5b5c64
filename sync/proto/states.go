package proto

import (
	"fmt"
	"slices"
)

// The device's named states. Each is a type with String, Valid and one
// text encoding (MarshalText/UnmarshalText), which is how it travels in
// JSON: a value the type does not know is refused both ways, so neither a
// typo in the device nor a message from a newer sender slips through as a
// plain string. states_test.go goes over every value.

// AvailabilityState is how a device takes calls now (Availability.State,
// Heartbeat.Availability).
type AvailabilityState string

// The availability states, most urgent reason first where several hold.
const (
	AvailAvailable         AvailabilityState = "available"               // answers as its policy says
	AvailRinging           AvailabilityState = "ringing"                 // a signalled call is ringing
	AvailInCall            AvailabilityState = "in_call"                 // in a call (announcing, connecting, active, ended screen)
	AvailDoNotDisturb      AvailabilityState = "do_not_disturb"          // only forced calls until DNDUntil
	AvailNight             AvailabilityState = "night"                   // night hours: calls still wake the screen
	AvailCameraMissing     AvailabilityState = "camera_missing"          // calls carry no picture of the resident
	AvailMicrophoneMissing AvailabilityState = "microphone_missing"      // calls carry no sound from the resident
	AvailNoAllowlist       AvailabilityState = "no_allowlist"            // nobody may call yet
	AvailNoCameraOrMic     AvailabilityState = "no_camera_or_microphone" // cannot take calls
	AvailNotProvisioned    AvailabilityState = "not_provisioned"         // no organisation key: nobody may call
)

// AvailabilityStates lists every availability state.
var AvailabilityStates = []AvailabilityState{AvailAvailable, AvailRinging, AvailInCall, AvailDoNotDisturb, AvailNight,
	AvailCameraMissing, AvailMicrophoneMissing, AvailNoAllowlist, AvailNoCameraOrMic, AvailNotProvisioned}

func (s AvailabilityState) String() string { return string(s) }

// Valid reports whether s is one of the availability states.
func (s AvailabilityState) Valid() bool { return slices.Contains(AvailabilityStates, s) }

func (s AvailabilityState) MarshalText() ([]byte, error) { return marshalState("availability", s) }

func (s *AvailabilityState) UnmarshalText(b []byte) error {
	return unmarshalState("availability", b, s)
}

// Answer is what a caller of one mode meets (Availability.Answer).
type Answer string

// The answer policies.
const (
	AnswerAuto   Answer = "auto"   // answers by itself (forced calls connect)
	AnswerRings  Answer = "rings"  // rings, then answers by itself
	AnswerAsleep Answer = "asleep" // night hours or do-not-disturb: only forced calls
	AnswerBusy   Answer = "busy"   // in a call
	AnswerNone   Answer = "none"   // cannot take calls (no allowlist, no camera and microphone)
)

// Answers lists every answer policy.
var Answers = []Answer{AnswerAuto, AnswerRings, AnswerAsleep, AnswerBusy, AnswerNone}

func (a Answer) String() string { return string(a) }

// Valid reports whether a is one of the answer policies.
func (a Answer) Valid() bool { return slices.Contains(Answers, a) }

func (a Answer) MarshalText() ([]byte, error) { return marshalState("answer", a) }

func (a *Answer) UnmarshalText(b []byte) error { return unmarshalState("answer", b, a) }

// Lifecycles lists every lifecycle state.
var Lifecycles = []Lifecycle{LifeInit, LifeReady, LifeDisconnected, LifeLost, LifeAlert}

func (l Lifecycle) String() string { return string(l) }

// Valid reports whether l is one of the lifecycle states.
func (l Lifecycle) Valid() bool { return slices.Contains(Lifecycles, l) }

func (l Lifecycle) MarshalText() ([]byte, error) { return marshalState("lifecycle", l) }

func (l *Lifecycle) UnmarshalText(b []byte) error { return unmarshalState("lifecycle", b, l) }

// CallPhase is where a call stands: on the device's screen, in its state
// and in the "state" replies to callers (Reply.Phase).
type CallPhase uint8

// The phases of a call. CallNone means no call: the carousel. It is never
// sent (Reply.Phase is left out then).
const (
	CallNone CallPhase = iota
	// CallAnnouncing: a forced call; chime, caller's name and reason for the
	// announcement time; the camera is opening but no video leaves yet.
	CallAnnouncing
	// CallRinging: a signalled call rings with the caller's name for the
	// ring time, then answers by itself; one touch ends it.
	CallRinging
	// CallConnecting: answered, waiting for the media to flow.
	CallConnecting
	// CallActive: the caller full screen, the resident small in a corner.
	CallActive
	// CallEnded: shown briefly ("Call ended") before the carousel returns.
	CallEnded
)

// CallPhases lists every call phase.
var CallPhases = []CallPhase{CallNone, CallAnnouncing, CallRinging, CallConnecting, CallActive, CallEnded}

var callPhaseNames = [...]string{"none", "announcing", "ringing", "connecting", "active", "ended"}

func (p CallPhase) String() string {
	if int(p) < len(callPhaseNames) {
		return callPhaseNames[p]
	}
	return fmt.Sprintf("CallPhase(%d)", uint8(p))
}

// Valid reports whether p is one of the call phases.
func (p CallPhase) Valid() bool { return int(p) < len(callPhaseNames) }

// InCall reports whether a call holds the device: any phase but none.
func (p CallPhase) InCall() bool { return p != CallNone && p.Valid() }

func (p CallPhase) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("%w: call phase %d", ErrInvalid, uint8(p))
	}
	return []byte(p.String()), nil
}

func (p *CallPhase) UnmarshalText(b []byte) error {
	for i, n := range callPhaseNames {
		if string(b) == n {
			*p = CallPhase(i)
			return nil
		}
	}
	return fmt.Errorf("%w: call phase %q", ErrInvalid, b)
}

type stateString interface {
	~string
	Valid() bool
}

func marshalState[S stateString](what string, s S) ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("%w: %s state %q", ErrInvalid, what, string(s))
	}
	return []byte(s), nil
}

func unmarshalState[S stateString](what string, b []byte, s *S) error {
	v := S(b)
	if !v.Valid() {
		return fmt.Errorf("%w: %s state %q", ErrInvalid, what, b)
	}
	*s = v
	return nil
}
