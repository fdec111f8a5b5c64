package device

import (
	"testing"
	"time"
)

func stockholm(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	return loc
}

func TestParseNightHours(t *testing.T) {
	h, m := time.Hour, time.Minute
	tests := []struct {
		in      string
		want    NightHours
		wantErr bool
	}{
		{"22:00-07:00", NightHours{22 * h, 7 * h, ModeNightDim}, false},
		{" 21:30 - 6:15 ", NightHours{21*h + 30*m, 6*h + 15*m, ModeNightDim}, false},
		{"00:00-06:00", NightHours{0, 6 * h, ModeNightDim}, false},
		{"20:00-24:00", NightHours{20 * h, 0, ModeNightDim}, false},
		{"off", NightHours{}, false},
		{"OFF", NightHours{}, false},
		{"", NightHours{}, false},
		{"22:00", NightHours{}, true},
		{"22:00-22:00", NightHours{}, true},
		{"24:00-07:00", NightHours{}, true},
		{"22:60-07:00", NightHours{}, true},
		{"22:0-07:00", NightHours{}, true},
		{"ten-seven", NightHours{}, true},
		{"-1:00-07:00", NightHours{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNightHours(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseNightHours(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNightHoursString(t *testing.T) {
	for _, tt := range []struct {
		n    NightHours
		want string
	}{
		{NightHours{}, "off"},
		{NightHours{From: 22 * time.Hour, To: 7 * time.Hour}, "off"}, // ModeDay
		{NightHours{From: 7 * time.Hour, To: 7 * time.Hour, Mode: ModeNightOff}, "off"},
		{NightHours{From: 22 * time.Hour, To: 7*time.Hour + 30*time.Minute, Mode: ModeNightOff}, "22:00-07:30 night-off"},
	} {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestModeAt(t *testing.T) {
	loc := stockholm(t)
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, loc) }
	wrap := NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightOff}
	plain := NightHours{From: 13 * time.Hour, To: 15 * time.Hour, Mode: ModeNightDim}
	tests := []struct {
		name string
		n    NightHours
		t    time.Time
		want Mode
	}{
		{"evening before", wrap, at(11, 22, 21, 59), ModeDay},
		{"from is inclusive", wrap, at(11, 22, 22, 0), ModeNightOff},
		{"midnight", wrap, at(11, 23, 0, 0), ModeNightOff},
		{"early morning", wrap, at(11, 23, 6, 59), ModeNightOff},
		{"to is exclusive", wrap, at(11, 23, 7, 0), ModeDay},
		{"noon", wrap, at(11, 23, 12, 0), ModeDay},
		{"not wrapping, inside", plain, at(11, 23, 14, 0), ModeNightDim},
		{"not wrapping, before", plain, at(11, 23, 12, 59), ModeDay},
		{"not wrapping, after", plain, at(11, 23, 15, 0), ModeDay},
		{"off", NightHours{}, at(11, 23, 23, 0), ModeDay},
		{"spring-forward morning", wrap, at(3, 29, 6, 59), ModeNightOff},
		{"spring-forward 07:00", wrap, at(3, 29, 7, 0), ModeDay},
		{"fall-back morning", wrap, at(10, 25, 6, 59), ModeNightOff},
		{"fall-back 07:00", wrap, at(10, 25, 7, 0), ModeDay},
		{"in another zone", wrap, time.Date(2026, 11, 22, 22, 30, 0, 0, time.UTC), ModeNightOff}, // 23:30 in Stockholm
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.ModeAt(tt.t, loc); got != tt.want {
				t.Errorf("ModeAt(%s) = %s, want %s", tt.t.In(loc), got, tt.want)
			}
		})
	}
}

func TestNextEdge(t *testing.T) {
	loc := stockholm(t)
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, loc) }
	utc := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	wrap := NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightDim}
	// Edges inside the hour that DST skips (spring) or repeats (autumn).
	odd := NightHours{From: 2*time.Hour + 30*time.Minute, To: 6 * time.Hour, Mode: ModeNightDim}
	tests := []struct {
		name string
		n    NightHours
		t    time.Time
		want time.Time
	}{
		{"to the evening", wrap, at(11, 22, 12, 0), utc(11, 22, 21, 0)},
		{"at the edge, the next one", wrap, at(11, 22, 22, 0), utc(11, 23, 6, 0)},
		{"over midnight", wrap, at(11, 23, 1, 0), utc(11, 23, 6, 0)},
		// 2026-03-29: 02:00 CET becomes 03:00 CEST. The night is an hour
		// shorter; 07:00 is still 07:00 on the clock.
		{"spring night", wrap, at(3, 28, 22, 0), utc(3, 29, 5, 0)},
		{"spring evening", wrap, at(3, 28, 12, 0), utc(3, 28, 21, 0)},
		// 2026-10-25: 03:00 CEST becomes 02:00 CET. The night is an hour longer.
		{"autumn night", wrap, at(10, 24, 22, 0), utc(10, 25, 6, 0)},
		{"autumn morning after", wrap, at(10, 25, 7, 0), utc(10, 25, 21, 0)},
		// 02:30 does not exist on 2026-03-29: night starts as the clock jumps.
		{"edge in the skipped hour", odd, at(3, 29, 0, 0), utc(3, 29, 1, 0)},
		// 02:30 happens twice on 2026-10-25: night starts the first time.
		{"edge in the repeated hour", odd, at(10, 25, 0, 0), utc(10, 25, 0, 30)},
		{"after the repeated edge", odd, utc(10, 25, 0, 30), utc(10, 25, 5, 0)},
		{"off", NightHours{}, at(11, 22, 12, 0), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.NextEdge(tt.t, loc); !got.Equal(tt.want) {
				t.Errorf("NextEdge(%s) = %s, want %s", tt.t.In(loc), got.In(loc), tt.want.In(loc))
			}
		})
	}
}

// TestNextEdgeConsistent walks across the 2026 DST changes in several
// zones and checks that ModeAt is constant up to NextEdge and changes there.
func TestNextEdgeConsistent(t *testing.T) {
	// Lord Howe Island moves its clocks by 30 minutes, in April and October.
	zones := []string{"Europe/Stockholm", "Europe/Helsinki", "Australia/Lord_Howe", "UTC"}
	hours := []NightHours{
		{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightDim},
		{From: 2*time.Hour + 30*time.Minute, To: 6 * time.Hour, Mode: ModeNightOff},
		{From: 2*time.Hour + 45*time.Minute, To: 2*time.Hour + 15*time.Minute, Mode: ModeNightOff},
		{From: 2*time.Hour + 15*time.Minute, To: 2*time.Hour + 45*time.Minute, Mode: ModeNightOff},
		{From: 0, To: 3 * time.Hour, Mode: ModeNightDim},
	}
	for _, z := range zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			t.Logf("skipping %s: %v", z, err)
			continue
		}
		for _, n := range hours {
			for _, start := range []time.Time{
				time.Date(2026, 3, 28, 0, 0, 0, 0, loc), time.Date(2026, 10, 24, 0, 0, 0, 0, loc),
				time.Date(2026, 4, 4, 0, 0, 0, 0, loc), time.Date(2026, 10, 3, 0, 0, 0, 0, loc),
			} {
				for t1 := start; t1.Before(start.Add(48 * time.Hour)); t1 = t1.Add(11 * time.Minute) {
					next := n.NextEdge(t1, loc)
					if !next.After(t1) || next.Sub(t1) > 49*time.Hour {
						t.Fatalf("%s %v: NextEdge(%s) = %s", z, n, t1, next)
					}
					m := n.ModeAt(t1, loc)
					if got := n.ModeAt(next.Add(-time.Nanosecond), loc); got != m {
						t.Fatalf("%s %v: ModeAt(%s) = %s but ModeAt(just before NextEdge %s) = %s", z, n, t1, m, next, got)
					}
					if got := n.ModeAt(next, loc); got == m {
						t.Fatalf("%s %v: ModeAt(NextEdge(%s) = %s) = %s, want a change", z, n, t1, next, got)
					}
				}
			}
		}
	}
}
