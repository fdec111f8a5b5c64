package device

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/signed"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/proto"
)

// ids lists the slides' ids, with the revisions of items (a card's is a
// hash of its content).
func ids(slides []Slide) string {
	var out []string
	for _, sl := range slides {
		if sl.Card != nil {
			out = append(out, sl.ID)
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d", sl.ID, sl.Rev))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// expectSlides checks the next display call is slides with these ids and
// returns them.
func (d *recDisplay) expectSlides(t *testing.T, want string) []Slide {
	t.Helper()
	c := d.next(t)
	if c.isMode || ids(c.slides) != want {
		t.Fatalf("display call = %s, want slides %s", c, want)
	}
	return c.slides
}

func (d *recDisplay) expectTrust(t *testing.T, want bool) {
	t.Helper()
	select {
	case got := <-d.trust:
		if got != want {
			t.Fatalf("SetClockTrusted(%v), want %v", got, want)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no SetClockTrusted within %s", waitLimit)
	}
}

func (f *schedFixture) logAct(t *testing.T, a store.Activity) {
	t.Helper()
	if err := f.st.LogActivity(a); err != nil {
		t.Fatal(err)
	}
}

var names = map[string]string{"anna": "Anna", "nurse-eva": "Nurse Eva"}

func withNames(s *Scheduler) { s.Names = func(id string) string { return names[id] } }

func TestSchedulerCallsCard(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.apply(t, item("a", 1, f.at(9, 0), f.at(9, 0).AddDate(0, 0, 3)))
	// Yesterday's call is not today's.
	f.logAct(t, store.Activity{Time: f.at(20, 0).AddDate(0, 0, -1), Type: "call_answered", Call: "c0", Caller: "anna"})
	f.run(t, withNames)
	f.disp.expect(t, "mode day")
	f.disp.expectSlides(t, "[a:1]")
	settle(t, f.clk, f.at(9, 0).AddDate(0, 0, 3))

	f.logAct(t, store.Activity{Time: f.at(10, 2), Type: "call_answered", Call: "c1", Caller: "anna"})
	first := f.disp.expectSlides(t, "[a:1 card:calls]")
	f.logAct(t, store.Activity{Time: f.at(10, 14), Type: "call_ended", Call: "c1", Caller: "anna", DurationMs: 12 * 60e3})
	f.logAct(t, store.Activity{Time: f.at(10, 20), Type: "call_missed", Call: "c2", Caller: "nurse-eva"})
	// A stranger refused is no call of the resident's; Anna refused for
	// do-not-disturb is one she missed.
	f.logAct(t, store.Activity{Time: f.at(10, 25), Type: "call_refused", Call: "c3", Caller: "stranger", Reason: "not on the allowlist"})
	f.logAct(t, store.Activity{Time: f.at(10, 30), Type: "call_refused", Call: "c4", Caller: "anna", Reason: proto.RefusedDND})
	var got []Slide
	for got == nil || len(got[1].Card.Calls) < 3 {
		got = f.disp.expectSlides(t, "[a:1 card:calls]")
	}
	card := got[1]
	want := []CallEntry{
		{Name: "Anna", At: f.at(10, 2), Length: 12 * time.Minute},
		{Name: "Nurse Eva", At: f.at(10, 20), Missed: true},
		{Name: "Anna", At: f.at(10, 30), Missed: true},
	}
	if card.Card.Kind != CardCalls || !reflect.DeepEqual(card.Card.Calls, want) {
		t.Fatalf("calls card = %+v, want %+v", card.Card.Calls, want)
	}
	if card.Rev == first[1].Rev {
		t.Error("the calls card's Rev did not change with its content")
	}
	midnight := time.Date(2026, 11, 23, 0, 0, 0, 0, f.loc)
	if !card.Start.Equal(f.at(0, 0)) || !card.End.Equal(midnight) {
		t.Errorf("calls card window %s to %s, want today", card.Start, card.End)
	}
	settle(t, f.clk, midnight) // gone at midnight
	f.clk.Set(midnight)
	f.disp.expectSlides(t, "[a:1]")
}

// signer is a carer's (or family's) key on a test allowlist.
type signer struct {
	id   string
	key  ed25519.PrivateKey
	list map[string]proto.AllowedCaller
}

func newSigners(t *testing.T) (carer, family signer, lookup func(string) (proto.AllowedCaller, error)) {
	t.Helper()
	list := map[string]proto.AllowedCaller{}
	mk := func(id string, modes ...proto.CallMode) signer {
		pub, priv, _ := ed25519.GenerateKey(nil)
		list[id] = proto.AllowedCaller{ID: id, Name: names[id], Key: pub, Mode: modes}
		return signer{id: id, key: priv, list: list}
	}
	carer = mk("nurse-eva", proto.ModeForced, proto.ModeSignalled)
	family = mk("anna", proto.ModeSignalled)
	return carer, family, func(id string) (proto.AllowedCaller, error) {
		c, ok := list[id]
		if !ok {
			return proto.AllowedCaller{}, errors.New("unknown caller")
		}
		return c, nil
	}
}

func (s signer) book(id string, rev uint64, at time.Time, length time.Duration, reason string, issued time.Time) proto.Booking {
	b := proto.Booking{V: 1, ID: id, Device: "dev1", Caller: s.id, Rev: rev, At: at, LengthS: int(length / time.Second),
		Reason: reason, Issued: issued}
	b.Sig = ed25519.Sign(s.key, b.SigningBytes())
	return b
}

func (s signer) cancel(id string, rev uint64, issued time.Time) proto.Booking {
	b := proto.Booking{V: 1, ID: id, Device: "dev1", Caller: s.id, Rev: rev, Cancel: true, Issued: issued}
	b.Sig = ed25519.Sign(s.key, b.SigningBytes())
	return b
}

// The right book lets someone who calls nobody (the carers' office) book.
func TestBookingsTakeTheRightToBook(t *testing.T) {
	f := newFixture(t, 10, 0)
	carer, _, lookup := newSigners(t)
	pub, priv, _ := ed25519.GenerateKey(nil)
	carer.list["office"] = proto.AllowedCaller{ID: "office", Name: "Office", Key: pub, Mode: []proto.CallMode{proto.RightBook}}
	bk := &Bookings{Store: f.st, Callers: lookup, Clock: f.clk, Live: NewLive(State{}, f.clk, f.loc), Logger: quietLog()}
	if refused, err := bk.Take(signer{id: "office", key: priv}.book("b1", 1, f.at(15, 0), 10*time.Minute, "", f.at(9, 0))); refused != nil || err != nil {
		t.Errorf("Take from the office = %v, %v; want it kept", refused, err)
	}
}

func TestBookingsTake(t *testing.T) {
	f := newFixture(t, 10, 0)
	carer, family, lookup := newSigners(t)
	live := NewLive(State{}, f.clk, f.loc)
	bk := &Bookings{Store: f.st, Callers: lookup, Clock: f.clk, Live: live, Logger: quietLog()}
	good := carer.book("b1", 1, f.at(14, 0), 10*time.Minute, "Medicine check", f.at(9, 0))
	forged := good
	forged.Reason = "Something else"
	other := family.book("b1", 2, f.at(14, 0), 10*time.Minute, "", f.at(9, 0))
	other.Caller = "nurse-eva" // claims to be the carer, signed by the family
	for _, tc := range []struct {
		name string
		b    proto.Booking
		want error
	}{
		{"good", good, nil},
		{"again", good, nil},
		{"forged", forged, signed.ErrBadSignature},
		{"not signed by its caller", other, signed.ErrBadSignature},
		{"family", family.book("b2", 1, f.at(14, 0), 10*time.Minute, "", f.at(9, 0)), ErrNotCarer},
		{"over", carer.book("b3", 1, f.at(9, 0), 10*time.Minute, "", f.at(8, 0)), signed.ErrExpired},
		{"from the future", carer.book("b4", 1, f.at(14, 0), 10*time.Minute, "", f.at(11, 0)), signed.ErrExpired},
		{"unknown caller", signer{id: "stranger", key: carer.key}.book("b5", 1, f.at(14, 0), time.Minute, "", f.at(9, 0)), nil},
	} {
		refused, err := bk.Take(tc.b)
		if err != nil {
			t.Fatalf("%s: Take = %v (a store failure)", tc.name, err)
		}
		if tc.name == "unknown caller" {
			if refused == nil || !strings.Contains(refused.Error(), "unknown caller") {
				t.Errorf("%s: Take refused %v, want unknown caller", tc.name, refused)
			}
			continue
		}
		if !errors.Is(refused, tc.want) || (tc.want == nil) != (refused == nil) {
			t.Errorf("%s: Take refused %v, want %v", tc.name, refused, tc.want)
		}
	}
	bs, _ := f.st.Bookings()
	if len(bs) != 1 || bs[0].ID != "b1" || bs[0].Reason != "Medicine check" {
		t.Fatalf("Bookings = %+v, want b1 alone, as its carer signed it", bs)
	}
	// Another carer cannot take over or cancel the booking.
	pub, priv, _ := ed25519.GenerateKey(nil)
	carer.list["nurse-ola"] = proto.AllowedCaller{ID: "nurse-ola", Key: pub, Mode: []proto.CallMode{proto.ModeForced}}
	ola := signer{id: "nurse-ola", key: priv}
	if refused, _ := bk.Take(ola.cancel("b1", 2, f.at(9, 30))); !errors.Is(refused, ErrOtherCaller) {
		t.Errorf("another carer's cancellation: refused %v, want %v", refused, ErrOtherCaller)
	}
	if refused, _ := bk.Take(carer.cancel("b1", 2, f.at(9, 30))); refused != nil {
		t.Errorf("the carer's cancellation refused: %v", refused)
	}
	if bs, _ := f.st.Bookings(); len(bs) != 0 {
		t.Errorf("Bookings after the cancellation = %+v", bs)
	}
	// The carer reads what became of each in the activity log; a copy
	// already kept is not reported again.
	acts, _ := f.st.ActivitiesSince(time.Time{}, ActivityBookingKept, ActivityBookingCancelled)
	var got []string
	for _, a := range acts {
		got = append(got, a.Type+" "+a.Item+" "+a.Reason)
	}
	if want := "[booking_kept b1 2026-11-22T13:00:00Z for 10m0s: Medicine check booking_cancelled b1 ]"; fmt.Sprint(got) != want {
		t.Errorf("booking activities = %s, want %s", got, want)
	}
	// A clock that cannot be trusted judges nothing over.
	live.SetClock(ClockUnsynced)
	if refused, _ := bk.Take(carer.book("b3", 1, f.at(9, 0), 10*time.Minute, "", f.at(8, 0))); refused != nil {
		t.Errorf("Take on an untrusted clock refused %v", refused)
	}
	if refused, _ := (&Bookings{Store: f.st, Logger: quietLog()}).Take(good); refused == nil || !strings.Contains(refused.Error(), "no allowlist") {
		t.Errorf("Take without an allowlist refused %v", refused)
	}
}

func TestSchedulerBookingCard(t *testing.T) {
	f := newFixture(t, 11, 0)
	carer, _, lookup := newSigners(t)
	bk := &Bookings{Store: f.st, Callers: lookup, Clock: f.clk, Logger: quietLog()}
	take := func(b proto.Booking) {
		t.Helper()
		if refused, err := bk.Take(b); refused != nil || err != nil {
			t.Fatalf("Take(%s) = %v, %v", b.ID, refused, err)
		}
	}
	take(carer.book("b1", 1, f.at(14, 0), 10*time.Minute, "Medicine check", f.at(9, 0)))
	take(carer.book("b2", 1, f.at(16, 0), 5*time.Minute, "", f.at(9, 0)))
	f.run(t, withNames)
	f.disp.expect(t, "mode day")
	f.disp.expectSlides(t, "[]")
	settle(t, f.clk, f.at(12, 0)) // two hours before

	f.clk.Set(f.at(12, 0))
	sl := f.disp.expectSlides(t, "[card:booking]")[0]
	want := Booking{ID: "b1", Caller: "nurse-eva", Name: "Nurse Eva", At: f.at(14, 0), Length: 10 * time.Minute, Reason: "Medicine check"}
	if sl.Card.Kind != CardBooking || !reflect.DeepEqual(sl.Card.Booking, want) || !sl.Start.Equal(f.at(12, 0)) || !sl.End.Equal(f.at(14, 10)) {
		t.Fatalf("booking card = %+v %+v, want %+v", sl, sl.Card.Booking, want)
	}
	// A call of hers long before the booked time was about something
	// else: the booking's card stays.
	f.clk.Set(f.at(12, 30))
	f.logAct(t, store.Activity{Time: f.at(12, 30), Type: "call_answered", Call: "c0", Caller: "nurse-eva"})
	if b := f.disp.expectSlides(t, "[card:booking card:calls]")[0].Card.Booking; b.ID != "b1" {
		t.Fatalf("after an earlier call, booking card of %s, want b1", b.ID)
	}
	settle(t, f.clk, f.at(14, 0)) // b2's card may open

	// The nurse calls a little early: the booking's card goes, the
	// call is on today's calls.
	f.clk.Set(f.at(13, 58))
	f.logAct(t, store.Activity{Time: f.at(13, 58), Type: "call_answered", Call: "c1", Caller: "nurse-eva"})
	f.disp.expectSlides(t, "[card:calls]")

	// b2's card opens at 14:00 and, uncalled, goes at its end; the
	// booking then leaves the store.
	f.clk.Set(f.at(14, 0))
	if b := f.disp.expectSlides(t, "[card:booking card:calls]")[0].Card.Booking; b.ID != "b2" {
		t.Fatalf("booking card of %s, want b2", b.ID)
	}
	settle(t, f.clk, f.at(14, 10)) // b1's end: it leaves the store
	f.clk.Set(f.at(14, 10))
	settle(t, f.clk, f.at(16, 5))
	if _, ok, _ := f.st.Booking("b1"); ok {
		t.Error("b1 still stored after its end")
	}
	f.clk.Set(f.at(16, 5))
	f.disp.expectSlides(t, "[card:calls]")
	settle(t, f.clk, time.Date(2026, 11, 23, 0, 0, 0, 0, f.loc))
	if bs, _ := f.st.Bookings(); len(bs) != 0 {
		t.Errorf("Bookings after their end = %+v", bs)
	}
}

// Items that arrive in the night are counted on the first screen of the
// morning, which leads the carousel for an hour.
func TestSchedulerNewSince(t *testing.T) {
	f := newFixture(t, 21, 0)
	f.night = NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightOff}
	until := f.at(12, 0).AddDate(0, 0, 3)
	f.apply(t, item("before", 1, f.at(9, 0), until)) // came in the evening
	f.run(t, nil)
	f.disp.expect(t, "mode day")
	f.disp.expectSlides(t, "[before:1]")
	settle(t, f.clk, f.at(22, 0), until)

	f.clk.Set(f.at(23, 0))
	f.disp.expect(t, "mode night-off")
	settle(t, f.clk, f.at(7, 0).AddDate(0, 0, 1), until)
	f.readyPhoto(t, item("p1", 1, f.at(22, 0), until), []byte("one"))
	f.disp.expectSlides(t, "[p1:1 before:1]")
	f.readyPhoto(t, item("p2", 1, f.at(22, 0), until), []byte("two"))
	f.disp.expectSlides(t, "[p1:1 p2:1 before:1]")
	m := item("m1", 1, f.at(22, 0), until)
	m.From = "Peter"
	f.apply(t, m)
	f.disp.expectSlides(t, "[m1:1 p1:1 p2:1 before:1]")
	settle(t, f.clk, f.at(7, 0).AddDate(0, 0, 1), until)

	morning := f.at(7, 0).AddDate(0, 0, 1)
	f.clk.Set(morning)
	f.disp.expect(t, "mode day")
	sl := f.disp.expectSlides(t, "[card:new-since m1:1 p1:1 p2:1 before:1]")[0]
	want := NewSince{Photos: 2, Messages: 1, From: []string{"Anna", "Peter"}}
	if !reflect.DeepEqual(sl.Card.New, want) || !sl.Start.Equal(morning) || !sl.End.Equal(morning.Add(time.Hour)) {
		t.Fatalf("new-since card = %+v from %s to %s, want %+v for an hour from %s", sl.Card.New, sl.Start, sl.End, want, morning)
	}
	settle(t, f.clk, morning.Add(time.Hour), f.at(22, 0).AddDate(0, 0, 1))
	f.clk.Set(morning.Add(time.Hour))
	f.disp.expectSlides(t, "[m1:1 p1:1 p2:1 before:1]")
}

// A device that starts with its clock in 1970 (a Pi without an RTC, before
// NTP) shows what it showed at the last trusted time, hides its clock and
// expires nothing; synchronised, it judges everything again.
func TestSchedulerUntrustedClock(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.apply(t, item("a", 1, f.at(9, 0), f.at(11, 0)))
	f.apply(t, item("b", 1, f.at(10, 30), f.at(18, 0)))
	if err := f.st.SetSetting(store.SettingLastTrusted, f.at(10, 0).Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	boot := time.Date(1970, 1, 1, 0, 0, 12, 0, time.UTC)
	f.clk = clock.NewFake(boot)
	f.trust = ClockUnsynced
	floor := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.run(t, func(s *Scheduler) { s.TimeFloor = floor })
	f.disp.expect(t, "mode day")
	f.disp.expectTrust(t, false)
	f.disp.expectSlides(t, "[a:1]") // as at 10:00
	settle(t, f.clk, boot.Add(untrustedPoll))
	if !f.live.Get().ClockEarly {
		t.Error("Live's ClockEarly is false in 1970")
	}

	// Time passes on the wrong clock: nothing changes.
	f.clk.Set(boot.Add(time.Hour))
	settle(t, f.clk, boot.Add(time.Hour+untrustedPoll))
	f.disp.none(t)

	// The clock is set (timedated not yet sure): still not trusted.
	f.clk.Set(f.at(12, 0))
	settle(t, f.clk, f.at(12, 0).Add(untrustedPoll))
	f.disp.none(t)
	if _, ok, _ := f.st.Get("a"); !ok {
		t.Fatal("a was expired on a clock that cannot be trusted")
	}
	// Synchronised: re-judged at 12:00.
	f.live.SetClock(ClockSynced)
	f.disp.expectTrust(t, true)
	f.disp.expectSlides(t, "[b:1]")
	settle(t, f.clk, f.at(18, 0))
	if f.live.Get().ClockEarly || !f.live.Get().ClockTrusted() {
		t.Errorf("Live = %+v, want a trusted clock", f.live.Get())
	}
	acts, _ := f.st.Activities(0, 100)
	if n := len(acts); n == 0 || acts[n-1].Type != "item_expired" || acts[n-1].Item != "a" || !acts[n-1].Time.Equal(f.at(12, 0)) {
		t.Errorf("activities %+v, want a expired at 12:00", acts)
	}
	// The trusted time is written down for the next start.
	if v, _ := f.st.Setting(store.SettingLastTrusted); v != f.at(12, 0).UTC().Format(time.RFC3339Nano) {
		t.Errorf("last trusted time kept = %q", v)
	}
}

// A clock years ahead that is not synchronised expires nothing, and its
// night hours do not darken the screen: both are judged at the last
// trusted time.
func TestSchedulerUntrustedClockAhead(t *testing.T) {
	f := newFixture(t, 10, 0)
	f.apply(t, item("a", 1, f.at(9, 0), f.at(11, 0)))
	if err := f.st.SetSetting(store.SettingLastTrusted, f.at(10, 0).Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	f.clk = clock.NewFake(f.at(23, 0).AddDate(3, 0, 0))
	f.trust = ClockUnsynced
	f.night = NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightOff}
	f.run(t, func(s *Scheduler) { s.TimeFloor = f.at(0, 0) })
	if f.live.Get().Night != ModeNightOff {
		t.Fatalf("Live's night = %v at 23:00, want night-off", f.live.Get().Night)
	}
	f.disp.expect(t, "mode day") // 10:00
	f.disp.expectTrust(t, false)
	f.disp.expectSlides(t, "[a:1]") // judged at the last trusted time
	settle(t, f.clk, f.at(23, 0).AddDate(3, 0, 0).Add(untrustedPoll), f.at(7, 0).AddDate(3, 0, 1))
	if _, ok, _ := f.st.Get("a"); !ok {
		t.Fatal("a was expired on a clock that cannot be trusted")
	}
	// Synchronised: it is night.
	f.live.SetClock(ClockSynced)
	f.disp.expectTrust(t, true)
	f.disp.expect(t, "mode night-off")
	f.disp.expectSlides(t, "[]")
}

func TestLastNight(t *testing.T) {
	loc := stockholm(t)
	n := NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightDim}
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, loc) }
	for _, tc := range []struct {
		now        time.Time
		start, end time.Time
		ok         bool
	}{
		{at(23, 7, 0), at(22, 22, 0), at(23, 7, 0), true},
		{at(23, 21, 59), at(22, 22, 0), at(23, 7, 0), true},
		{at(23, 23, 0), time.Time{}, time.Time{}, false}, // in the night
		{at(23, 6, 59), time.Time{}, time.Time{}, false},
	} {
		s, e, ok := lastNight(n, tc.now, loc)
		if ok != tc.ok || !s.Equal(tc.start) || !e.Equal(tc.end) {
			t.Errorf("lastNight(%s) = %s, %s, %v; want %s, %s, %v", tc.now, s, e, ok, tc.start, tc.end, tc.ok)
		}
	}
	if _, _, ok := lastNight(NightHours{}, at(23, 8, 0), loc); ok {
		t.Error("lastNight without night hours found one")
	}
}
