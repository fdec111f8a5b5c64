// Package clock is the one source of time for Hearth: display windows, the
// carousel dwell, night hours and reconnect backoff all read it, so tests can
// drive them with Fake instead of sleeping.
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	// NewTimer starts a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that Hearth uses.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was active.
	Stop() bool
	// Reset changes the timer to fire after d.
	Reset(d time.Duration)
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Stop() bool            { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }

// Alarm is one reusable timer aimed at an instant, for loops that sleep
// until their next deadline (display windows, retries).
type Alarm struct {
	Clock Clock
	t     Timer
}

// At aims the alarm at instant at (seen from now) and returns the channel
// to wait on; a zero at disarms it and returns nil, which blocks forever
// in a select.
func (a *Alarm) At(now, at time.Time) <-chan time.Time {
	if at.IsZero() {
		a.Stop()
		return nil
	}
	if a.t == nil {
		a.t = a.Clock.NewTimer(at.Sub(now))
	} else {
		a.t.Reset(at.Sub(now))
	}
	return a.t.C()
}

// Stop disarms the alarm.
func (a *Alarm) Stop() {
	if a.t != nil {
		a.t.Stop()
	}
}
