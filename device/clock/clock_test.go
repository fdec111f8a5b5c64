package clock

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)

func fired(tm Timer) (time.Time, bool) {
	select {
	case at := <-tm.C():
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestFakeFiresInOrderAtDeadline(t *testing.T) {
	f := NewFake(t0)
	a := f.NewTimer(10 * time.Second)
	b := f.NewTimer(5 * time.Second)
	f.Advance(4 * time.Second)
	if _, ok := fired(b); ok {
		t.Fatal("timer fired 1 s early")
	}
	f.Advance(time.Second)
	if at, ok := fired(b); !ok || !at.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("timer b fired = %v %v, want at t0+5s", at, ok)
	}
	if _, ok := fired(a); ok {
		t.Fatal("timer a fired early")
	}
	f.Advance(time.Hour)
	if at, ok := fired(a); !ok || !at.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("timer a fired = %v %v, want at its deadline t0+10s", at, ok)
	}
	if !f.Now().Equal(t0.Add(time.Hour + 5*time.Second)) {
		t.Errorf("Now = %v, want t0+1h5s", f.Now())
	}
}

func TestFakeStopResetPending(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(time.Minute)
	if p := f.Pending(); len(p) != 1 || !p[0].Equal(t0.Add(time.Minute)) {
		t.Fatalf("Pending = %v, want [t0+1m]", p)
	}
	if !tm.Stop() {
		t.Error("Stop of an armed timer = false, want true")
	}
	if len(f.Pending()) != 0 {
		t.Errorf("Pending after Stop = %v, want none", f.Pending())
	}
	tm.Reset(30 * time.Second)
	tm.Reset(20 * time.Second)
	if p := f.Pending(); len(p) != 1 || !p[0].Equal(t0.Add(20*time.Second)) {
		t.Fatalf("Pending after Reset = %v, want [t0+20s] once", p)
	}
	f.Advance(20 * time.Second)
	if _, ok := fired(tm); !ok {
		t.Fatal("reset timer did not fire")
	}
	f.Set(t0) // never backwards
	if !f.Now().Equal(t0.Add(20 * time.Second)) {
		t.Errorf("Set backwards moved the clock to %v", f.Now())
	}
	z := f.NewTimer(0)
	if _, ok := fired(z); !ok {
		t.Error("zero-duration timer did not fire at once")
	}
}

func TestReal(t *testing.T) {
	c := Real()
	tm := c.NewTimer(time.Millisecond)
	<-tm.C()
	if c.Now().IsZero() {
		t.Error("Real().Now() is zero")
	}
}

func TestAlarm(t *testing.T) {
	f := NewFake(t0)
	a := Alarm{Clock: f}
	if c := a.At(t0, time.Time{}); c != nil {
		t.Fatal("At(zero) returned a channel, want nil")
	}
	c := a.At(t0, t0.Add(time.Minute))
	a.At(t0, t0.Add(30*time.Second)) // re-aimed: one timer, the new deadline
	if p := f.Pending(); len(p) != 1 || !p[0].Equal(t0.Add(30*time.Second)) {
		t.Fatalf("Pending = %v, want [t0+30s]", p)
	}
	f.Advance(30 * time.Second)
	select {
	case <-c:
	default:
		t.Fatal("alarm did not fire at its deadline")
	}
	a.At(f.Now(), f.Now().Add(time.Second))
	a.Stop()
	if p := f.Pending(); len(p) != 0 {
		t.Errorf("Pending after Stop = %v, want none", p)
	}
}
