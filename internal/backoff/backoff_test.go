package backoff

import (
	"math"
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	p := Policy{Base: time.Second, Cap: 3 * time.Second}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{-1, time.Second}, {0, time.Second}, {1, 2 * time.Second}, {2, 3 * time.Second}, {3, 3 * time.Second},
		{62, 3 * time.Second}, {63, 3 * time.Second}, {math.MaxInt, 3 * time.Second},
	} {
		if got := p.Ceiling(tc.attempt); got != tc.want {
			t.Errorf("Ceiling(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
	// No cap: no growth. A base below the floor: the floor.
	for _, tc := range []struct {
		p       Policy
		attempt int
		want    time.Duration
	}{
		{Policy{Base: time.Second}, 5, time.Second},
		{Policy{Base: time.Millisecond, Cap: time.Hour}, 0, MinDelay},
		{Policy{Base: time.Millisecond, Cap: time.Hour, Floor: time.Second}, 3, time.Second},
		{Policy{}, 0, MinDelay},
		{Policy{Base: time.Hour, Cap: time.Hour << 20}, 40, time.Hour << 20},
	} {
		if got := tc.p.Ceiling(tc.attempt); got != tc.want {
			t.Errorf("%+v.Ceiling(%d) = %v, want %v", tc.p, tc.attempt, got, tc.want)
		}
	}
}

// Every delay lies between the floor and the ceiling, is never zero, and
// the draws spread over the whole range (full jitter, not a fixed step).
func TestDelayFullJitter(t *testing.T) {
	p := Policy{Base: time.Second, Cap: 3 * time.Second, Floor: 100 * time.Millisecond}
	for attempt := range 6 {
		hi := p.Ceiling(attempt)
		var low, high bool
		for range 2000 {
			d := p.Delay(attempt)
			if d < p.Floor || d > hi {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", attempt, d, p.Floor, hi)
			}
			// The lowest and highest tenth of the range are both drawn.
			low = low || d < p.Floor+(hi-p.Floor)/10
			high = high || d > hi-(hi-p.Floor)/10
		}
		if !low || !high {
			t.Errorf("Delay(%d) over 2000 draws: low tenth %v, high tenth %v; want both", attempt, low, high)
		}
	}
}

func TestDelayFloorAboveCeiling(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Floor: 250 * time.Millisecond}
	for range 100 {
		if d := p.Delay(0); d != p.Floor {
			t.Fatalf("Delay(0) = %v, want the floor %v", d, p.Floor)
		}
	}
	if d := (Policy{}).Delay(3); d != MinDelay {
		t.Errorf("zero Policy: Delay(3) = %v, want MinDelay %v", d, MinDelay)
	}
}
