package device

import "testing"

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{ModeDay: "day", ModeNightDim: "night-dim", ModeNightOff: "night-off", Mode(9): "unknown"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}
