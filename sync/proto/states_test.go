package proto

import (
	"encoding/json"
	"errors"
	"testing"
)

// Every value of every named state: its String, and one text encoding
// that round-trips it; unknown values are refused both ways.
func TestStatesRoundTrip(t *testing.T) {
	type textual interface {
		String() string
		MarshalText() ([]byte, error)
	}
	var all []textual
	for _, v := range AvailabilityStates {
		all = append(all, v)
	}
	for _, v := range Answers {
		all = append(all, v)
	}
	for _, v := range Lifecycles {
		all = append(all, v)
	}
	for _, v := range CallPhases {
		all = append(all, v)
	}
	seen := map[string]bool{}
	for _, v := range all {
		b, err := v.MarshalText()
		if err != nil || string(b) != v.String() {
			t.Errorf("%#v: MarshalText = %q, %v; want %q", v, b, err, v.String())
		}
		key := func() string {
			switch v.(type) {
			case AvailabilityState:
				return "avail"
			case Answer:
				return "answer"
			case Lifecycle:
				return "life"
			}
			return "phase"
		}() + ":" + v.String()
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
	}
	roundTrip(t, AvailabilityStates, func(v AvailabilityState) string { return string(v) })
	roundTrip(t, Answers, func(v Answer) string { return string(v) })
	roundTrip(t, Lifecycles, func(v Lifecycle) string { return string(v) })
	roundTrip(t, CallPhases, CallPhase.String)
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"availability", new(AvailabilityState).UnmarshalText([]byte("asleep"))},
		{"answer", new(Answer).UnmarshalText([]byte("available"))},
		{"lifecycle", new(Lifecycle).UnmarshalText([]byte("gone"))},
		{"phase", new(CallPhase).UnmarshalText([]byte("Active"))},
	} {
		if !errors.Is(tt.err, ErrInvalid) {
			t.Errorf("unknown %s: err = %v, want ErrInvalid", tt.name, tt.err)
		}
	}
	if _, err := CallPhase(42).MarshalText(); !errors.Is(err, ErrInvalid) {
		t.Errorf("CallPhase(42).MarshalText: err = %v, want ErrInvalid", err)
	}
	if s := CallPhase(42).String(); s != "CallPhase(42)" {
		t.Errorf("CallPhase(42).String() = %q", s)
	}
	if _, err := json.Marshal(Availability{State: "sleeping"}); err == nil {
		t.Error("an availability with an unknown state encoded")
	}
	// A state reply carries its phase as text; other replies leave it out.
	b, _ := json.Marshal(Reply{Type: SignalState, Phase: CallActive})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["phase"] != "active" {
		t.Errorf("state reply phase = %v, want \"active\"", m["phase"])
	}
	b, _ = json.Marshal(Reply{Type: SignalAnswer})
	m = nil
	_ = json.Unmarshal(b, &m)
	if _, ok := m["phase"]; ok {
		t.Errorf("answer reply carries a phase: %s", b)
	}
}

// roundTrip decodes each value's text back into it.
func roundTrip[T comparable, P interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, all []T, text func(T) string) {
	t.Helper()
	for _, v := range all {
		var got T
		if err := P(&got).UnmarshalText([]byte(text(v))); err != nil || got != v {
			t.Errorf("UnmarshalText(%q) = %v, %v", text(v), got, err)
		}
	}
}
