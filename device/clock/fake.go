package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a Clock that only moves when told to. Timers fire (in deadline
// order) from Advance or Set, so a test can assert exactly when a component
// wakes up.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a Fake clock showing t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer makes a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.when = f.now.Add(d)
	t.active = true
	f.timers = append(f.timers, t)
	if d <= 0 {
		f.fireLocked()
	}
	return t
}

// Advance moves the time forward by d, firing the timers that fall due.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the time to t (never backwards), firing timers in order.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.Before(f.now) {
		return
	}
	for {
		// Fire timers one deadline at a time so Now() reads the deadline
		// while a receiver handles it.
		next, ok := f.nextLocked()
		if !ok || next.after(t) {
			break
		}
		f.now = next.when
		f.fireLocked()
	}
	f.now = t
}

// Pending returns the deadlines of the timers still armed, earliest first.
func (f *Fake) Pending() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Time
	for _, t := range f.timers {
		if t.active {
			out = append(out, t.when)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func (f *Fake) nextLocked() (*fakeTimer, bool) {
	var best *fakeTimer
	for _, t := range f.timers {
		if t.active && (best == nil || t.when.Before(best.when)) {
			best = t
		}
	}
	return best, best != nil
}

func (f *Fake) fireLocked() {
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.active && !t.when.After(f.now) {
			t.active = false
			select {
			case t.c <- f.now:
			default:
			}
		}
		if t.active {
			kept = append(kept, t)
		}
	}
	f.timers = kept
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time
	when   time.Time
	active bool
}

func (t *fakeTimer) after(x time.Time) bool { return t.when.After(x) }

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	// Drain a stale fire so the next receive sees only the new deadline.
	select {
	case <-t.c:
	default:
	}
	t.when = t.f.now.Add(d)
	t.active = true
	listed := false
	for _, o := range t.f.timers {
		listed = listed || o == t
	}
	if !listed {
		t.f.timers = append(t.f.timers, t)
	}
	if d <= 0 {
		t.f.fireLocked()
	}
}
