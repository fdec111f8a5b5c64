package device

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/proto"
)

// waitLimit bounds how long a test waits for the goroutine under test to
// react; it is a failure deadline, never an assertion.
const waitLimit = 5 * time.Second

// runUntilCleanup runs a component's Run in the background and, when the
// test ends, cancels it and requires that it returns nil within waitLimit.
func runUntilCleanup(t *testing.T, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v, want nil after cancel", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("Run() did not return after cancel")
		}
	})
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir(), store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// call is one call on the recording display.
type call struct {
	slides []Slide
	mode   Mode
	isMode bool
}

func (c call) String() string {
	if c.isMode {
		return "mode " + c.mode.String()
	}
	return "slides " + slideList(c.slides)
}

func slideList(s []Slide) string {
	var b strings.Builder
	b.WriteString("[")
	for i, sl := range s {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%d", sl.ID, sl.Rev)
	}
	b.WriteString("]")
	return b.String()
}

// recDisplay records every call in order; the clock's trust apart.
type recDisplay struct {
	calls chan call
	trust chan bool
}

func newRecDisplay() *recDisplay {
	return &recDisplay{calls: make(chan call, 100), trust: make(chan bool, 100)}
}

func (d *recDisplay) SetSlides(s []Slide)     { d.calls <- call{slides: slices.Clone(s)} }
func (d *recDisplay) SetMode(m Mode)          { d.calls <- call{mode: m, isMode: true} }
func (d *recDisplay) SetClockTrusted(ok bool) { d.trust <- ok }

func (d *recDisplay) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-d.calls:
		return c
	case <-time.After(waitLimit):
		t.Fatalf("no display call within %s", waitLimit)
		return call{}
	}
}

// expect checks the next call, e.g. "slides [a:1 b:2]" or "mode day".
func (d *recDisplay) expect(t *testing.T, want string) call {
	t.Helper()
	c := d.next(t)
	if got := c.String(); got != want {
		t.Fatalf("display call = %s, want %s", got, want)
	}
	return c
}

// none checks that no call is waiting; use it once the scheduler settled.
func (d *recDisplay) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-d.calls:
		t.Fatalf("unexpected display call %s", c)
	default:
	}
}

// settle waits until the fake clock's armed timers are exactly want: the
// scheduler arms its timer last in each round, after any display call.
func settle(t *testing.T, clk *clock.Fake, want ...time.Time) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := clk.Pending()
		if slices.EqualFunc(got, want, time.Time.Equal) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("armed timers = %v, want %v", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

type schedFixture struct {
	st    *store.Store
	clk   *clock.Fake
	disp  *recDisplay
	loc   *time.Location
	night NightHours // in force when run starts
	trust ClockTrust // the time service's word when run starts
	live  *Live      // made by run
}

// newFixture makes a store, a recording display and a fake clock showing
// 2026-11-22 h:m in Stockholm.
func newFixture(t *testing.T, h, m int) *schedFixture {
	t.Helper()
	f := &schedFixture{st: newStore(t), disp: newRecDisplay(), loc: stockholm(t)}
	f.clk = clock.NewFake(f.at(h, m))
	return f
}

func (f *schedFixture) run(t *testing.T, configure func(*Scheduler)) {
	t.Helper()
	f.live = NewLive(State{NightHours: f.night, Clock: f.trust}, f.clk, f.loc)
	s := &Scheduler{Store: f.st, Clock: f.clk, Display: f.disp, Live: f.live, Logger: quietLog(), MaxWait: -1}
	if configure != nil {
		configure(s)
	}
	runUntilCleanup(t, f.live.Run)
	runUntilCleanup(t, s.Run)
}

func (f *schedFixture) at(h, m int) time.Time {
	return time.Date(2026, 11, 22, h, m, 0, 0, f.loc)
}

func item(id string, rev uint64, start, end time.Time) proto.Item {
	return proto.Item{V: 1, ID: id, Device: "dev1", Rev: rev, Kind: proto.KindMessage,
		Text: "text of " + id, From: "Anna", Start: start, End: end}
}

func (f *schedFixture) apply(t *testing.T, it proto.Item) {
	t.Helper()
	if _, err := f.st.Apply(it, f.clk.Now()); err != nil {
		t.Fatalf("Apply(%s) = %v", it.ID, err)
	}
}

// readyPhoto stores a photo item and resolves it; it returns the screen hash.
func (f *schedFixture) readyPhoto(t *testing.T, it proto.Item, data []byte) string {
	t.Helper()
	sum := sha256.Sum256(data)
	it.Kind, it.Photo = proto.KindPhoto, &proto.Photo{Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	f.apply(t, it)
	screen := append([]byte("screen of "), data...)
	if err := f.st.Resolve(it.ID, it.Rev, it.Photo.SHA256, screen); err != nil {
		t.Fatal(err)
	}
	ss := sha256.Sum256(screen)
	return hex.EncodeToString(ss[:])
}

func TestSchedulerWindows(t *testing.T) {
	f := newFixture(t, 10, 0)
	tomorrow := f.at(10, 0).AddDate(0, 0, 1)
	f.apply(t, item("a", 1, f.at(10, 30), f.at(11, 0)))
	screen := f.readyPhoto(t, item("b", 1, f.at(10, 0), f.at(12, 0)), []byte("photo b"))
	f.apply(t, item("c", 1, f.at(9, 0), f.at(10, 0)))             // already over
	f.apply(t, item("d", 1, tomorrow, tomorrow.AddDate(0, 0, 1))) // tomorrow
	f.run(t, nil)
	f.disp.expect(t, "mode day")

	c := f.disp.expect(t, "slides [b:1]")
	b := c.slides[0]
	if !b.Photo || b.Image != f.st.BlobPath(screen) || b.Text != "text of b" || b.From != "Anna" ||
		!b.Start.Equal(f.at(10, 0)) || !b.End.Equal(f.at(12, 0)) || !b.Sent.Equal(f.at(10, 0)) {
		t.Errorf("slide b = %+v", b)
	}
	settle(t, f.clk, f.at(10, 30))

	f.clk.Advance(30 * time.Minute) // a starts, and is newer
	f.disp.expect(t, "slides [a:1 b:1]")
	settle(t, f.clk, f.at(11, 0))

	f.clk.Advance(30 * time.Minute) // a ends
	f.disp.expect(t, "slides [b:1]")
	settle(t, f.clk, f.at(12, 0))

	f.clk.Advance(time.Hour) // b ends
	f.disp.expect(t, "slides []")
	// Next: d starts tomorrow 10:00, which is also when c may be expired.
	settle(t, f.clk, tomorrow)

	f.clk.Set(tomorrow)
	f.disp.expect(t, "slides [d:1]")
	settle(t, f.clk, f.at(11, 0).AddDate(0, 0, 1)) // a's end + 24 h: expiry
	if _, ok, _ := f.st.Get("c"); ok {
		t.Error("c still stored a day after its end")
	}
	f.disp.none(t)
	// a and b left the screen when their windows ended: the senders can
	// see that in the activity log. (c never was on screen.)
	acts, _ := f.st.Activities(0, 100)
	var ended []string
	for _, a := range acts {
		if a.Type == "item_expired" {
			ended = append(ended, a.Item+"@"+a.Time.Format("15:04"))
		}
	}
	if got := strings.Join(ended, " "); got != "a@11:00 b@12:00" {
		t.Errorf("item_expired events: %s", got)
	}
}

func TestSchedulerEditAndDelete(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.apply(t, item("a", 1, f.at(10, 0), f.at(12, 0)))
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides [a:1]")
	settle(t, f.clk, f.at(12, 0))

	// The sender moves the window later: off screen until it starts.
	f.apply(t, item("a", 2, f.at(11, 0), f.at(13, 0)))
	f.disp.expect(t, "slides []")
	settle(t, f.clk, f.at(11, 0))
	f.clk.Set(f.at(11, 0))
	f.disp.expect(t, "slides [a:2]")
	settle(t, f.clk, f.at(13, 0))

	// An edit of the text only: same window, new revision.
	it := item("a", 3, f.at(11, 0), f.at(13, 0))
	it.Text = "new words"
	f.apply(t, it)
	if c := f.disp.expect(t, "slides [a:3]"); c.slides[0].Text != "new words" {
		t.Errorf("edited slide text = %q", c.slides[0].Text)
	}
	settle(t, f.clk, f.at(13, 0))

	// A stale revision changes nothing.
	f.apply(t, item("a", 1, f.at(10, 0), f.at(12, 0)))
	// Deleted: off screen, nothing left to wait for.
	f.apply(t, proto.Item{V: 1, ID: "a", Device: "dev1", Rev: 4, Deleted: true})
	f.disp.expect(t, "slides []")
	settle(t, f.clk)
	f.disp.none(t)
	acts, _ := f.st.Activities(0, 100)
	if n := len(acts); n == 0 || acts[n-1].Type != "item_removed" || acts[n-1].Item != "a" {
		t.Errorf("last activity %+v, want item_removed a", acts)
	} else if a := acts[n-1]; a.ItemKind != proto.KindMessage || a.ItemText != "new words" {
		t.Errorf("item_removed of %q %q, want the message \"new words\" it showed", a.ItemKind, a.ItemText)
	}
}

func TestSchedulerMessageEndsAtMinute(t *testing.T) {
	f := newFixture(t, 10, 0)
	end := f.at(10, 17)
	f.apply(t, item("visit", 1, f.at(9, 0), end))
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides [visit:1]")
	settle(t, f.clk, end) // the timer is armed for exactly 10:17:00

	f.clk.Set(end.Add(-time.Millisecond))
	settle(t, f.clk, end)
	f.disp.none(t)

	f.clk.Set(end)
	f.disp.expect(t, "slides []")
	if now := f.clk.Now(); !now.Equal(end) {
		t.Errorf("taken off at %s, want %s", now, end)
	}
}

func TestSchedulerPendingPhoto(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.readyPhoto(t, item("p", 1, f.at(9, 0), f.at(12, 0)), []byte("first"))
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides [p:1]")
	settle(t, f.clk, f.at(12, 0))

	// Rev 2 is pending, then refused: rev 1 stays on screen.
	data := []byte("second")
	sum := sha256.Sum256(data)
	it := item("p", 2, f.at(9, 0), f.at(12, 0))
	it.Kind, it.Photo = proto.KindPhoto, &proto.Photo{Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	f.apply(t, it)
	if err := f.st.Refuse("p", 2, "not a photo", f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	// Rev 3 is pending; once resolved it replaces rev 1.
	it.Rev = 3
	f.apply(t, it)
	settle(t, f.clk, f.at(12, 0))
	f.disp.none(t)
	if err := f.st.Resolve("p", 3, it.Photo.SHA256, []byte("screen 3")); err != nil {
		t.Fatal(err)
	}
	f.disp.expect(t, "slides [p:3]")
}

func TestSchedulerNight(t *testing.T) {
	f := newFixture(t, 21, 0)
	end := f.at(9, 0).AddDate(0, 0, 3)
	f.apply(t, item("a", 1, f.at(9, 0), end))
	f.night = NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightOff}
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides [a:1]")
	settle(t, f.clk, f.at(22, 0), end) // Live's night edge, the item's end

	f.clk.Set(f.at(22, 0))
	f.disp.expect(t, "mode night-off")
	morning := f.at(7, 0).AddDate(0, 0, 1)
	settle(t, f.clk, morning, end)

	f.clk.Set(morning)
	f.disp.expect(t, "mode day")
	settle(t, f.clk, f.at(22, 0).AddDate(0, 0, 1), end)
	f.disp.none(t)
}

// A call wins over every night mode: the screen is on while it lasts, and
// goes back to the night's mode after.
func TestSchedulerCallWinsOverNight(t *testing.T) {
	f := newFixture(t, 23, 0)
	f.night = NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightOff}
	f.run(t, nil)
	f.disp.expect(t, "mode night-off")
	f.disp.expect(t, "slides []")
	for _, p := range []CallPhase{CallAnnouncing, CallActive, CallEnded} {
		f.live.SetCall("c-1", p)
		if p == CallAnnouncing {
			f.disp.expect(t, "mode day")
		}
	}
	f.live.SetOnScreen("x") // not a mode change: nothing
	f.disp.none(t)
	f.live.SetCall("", CallNone)
	f.disp.expect(t, "mode night-off")
}

func TestSchedulerMaxWait(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.apply(t, item("a", 1, f.at(9, 0), f.at(18, 0)))
	f.run(t, func(s *Scheduler) { s.MaxWait = 0 }) // the default cap
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides [a:1]")
	settle(t, f.clk, f.at(10, 15))
	// A wake-up that changes nothing calls nothing.
	f.clk.Set(f.at(10, 15))
	settle(t, f.clk, f.at(10, 30))
	f.disp.none(t)
}

func TestSchedulerEmptyStore(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides []")
	settle(t, f.clk) // nothing to wait for
	f.apply(t, item("a", 1, f.at(10, 0), f.at(11, 0)))
	f.disp.expect(t, "slides [a:1]")
	settle(t, f.clk, f.at(11, 0))
}

func TestSchedulerOrder(t *testing.T) {
	s := &Scheduler{Store: newStore(t)}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	recs := []store.Record{
		{Item: item("b", 1, t0, t0.Add(time.Hour))},
		{Item: item("a", 1, t0, t0.Add(time.Hour))},
		{Item: item("c", 1, t0.Add(-time.Hour), t0.Add(time.Hour))},
		{Item: item("new", 1, t0.Add(time.Minute), t0.Add(time.Hour))},
		{Item: item("late", 1, t0.Add(2*time.Minute), t0.Add(time.Hour))},
		{Item: item("over", 1, t0.Add(-time.Hour), t0.Add(time.Minute))},
	}
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{t0.Add(-time.Second), "[c:1 over:1]"},
		{t0, "[a:1 b:1 c:1 over:1]"},
		{t0.Add(time.Minute), "[new:1 a:1 b:1 c:1]"},
		{t0.Add(time.Hour), "[]"},
	} {
		if got := slideList(s.slidesAt(recs, tt.at)); got != tt.want {
			t.Errorf("slidesAt(%s) = %s, want %s", tt.at.Format("15:04:05"), got, tt.want)
		}
	}
}

func TestSchedulerStartsAtNight(t *testing.T) {
	f := newFixture(t, 23, 30) // back from a power cut at night
	end := f.at(9, 0).AddDate(0, 0, 3)
	f.apply(t, item("a", 1, f.at(9, 0), end))
	f.night = NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightDim}
	f.run(t, nil)
	f.disp.expect(t, "mode night-dim") // before any slide is drawn
	f.disp.expect(t, "slides [a:1]")
	settle(t, f.clk, f.at(7, 0).AddDate(0, 0, 1), end)
}

func TestSchedulerDays(t *testing.T) {
	// Shown for 3 days from a Saturday morning, across the end of summer time.
	loc := stockholm(t)
	start := time.Date(2026, 10, 24, 10, 0, 0, 0, loc)
	f := &schedFixture{st: newStore(t), disp: newRecDisplay(), loc: loc, clk: clock.NewFake(start)}
	it := proto.Item{V: 1, ID: "trip", Device: "dev1", Rev: 1, Kind: proto.KindMessage, Text: "Away until Tuesday", Start: start, Days: 3}
	if err := it.Normalize(); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 10, 27, 10, 0, 0, 0, loc)
	if !it.End.Equal(end) {
		t.Fatalf("End = %s, want %s", it.End, end)
	}
	f.apply(t, it)
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides [trip:1]")
	settle(t, f.clk, end)
	f.clk.Set(end.Add(-time.Second))
	settle(t, f.clk, end)
	f.disp.none(t)
	f.clk.Set(end)
	f.disp.expect(t, "slides []")
}

func TestSchedulerSetNight(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expect(t, "slides []")
	n, err := ParseNightHours("09:00-11:00") // an admin's command: now is night
	if err != nil {
		t.Fatal(err)
	}
	n.Mode = ModeNightDim
	f.live.SetNightHours(n)
	f.disp.expect(t, "mode night-dim")
}
