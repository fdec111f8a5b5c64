package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

func booking(id string, rev uint64, at time.Time) proto.Booking {
	return proto.Booking{V: 1, ID: id, Device: "dev1", Caller: "nurse-eva", Rev: rev, At: at, LengthS: 600,
		Reason: "Medicine check", Issued: t0, Sig: []byte{1}}
}

func bookingIDs(t *testing.T, s *Store) []string {
	t.Helper()
	bs, err := s.Bookings()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	return ids
}

func TestBookingsRevisionsCancelAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	at := t0.Add(2 * time.Hour)
	for _, step := range []struct {
		b    proto.Booking
		want Outcome
	}{
		{booking("b1", 1, at), Added},
		{booking("b1", 1, at), Duplicate},
		{booking("b1", 2, at.Add(time.Hour)), Updated},
		{booking("b1", 1, at), Stale},
		{booking("b2", 1, at), Added},
		{proto.Booking{V: 1, ID: "b2", Device: "dev1", Caller: "nurse-eva", Rev: 2, Cancel: true, Issued: t0, Sig: []byte{1}}, Deleted},
		{booking("b2", 1, at), Stale}, // a replay of what was cancelled stays cancelled
	} {
		changed := s.Changed()
		got, err := s.PutBooking(step.b, t0)
		if err != nil || got != step.want {
			t.Fatalf("PutBooking(%s rev %d) = %v, %v; want %v", step.b.ID, step.b.Rev, got, err, step.want)
		}
		select {
		case <-changed:
			if got == Stale || got == Duplicate {
				t.Fatalf("PutBooking(%s rev %d) = %v told of a change", step.b.ID, step.b.Rev, got)
			}
		default:
			if got != Stale && got != Duplicate {
				t.Fatalf("PutBooking(%s rev %d) = %v did not tell of a change", step.b.ID, step.b.Rev, got)
			}
		}
	}
	if got := bookingIDs(t, s); len(got) != 1 || got[0] != "b1" {
		t.Fatalf("Bookings = %v, want [b1]", got)
	}
	// A restart keeps them.
	s.Close()
	s = openT(t, dir, Options{})
	bs, _ := s.Bookings()
	if len(bs) != 1 || bs[0].Rev != 2 || !bs[0].At.Equal(at.Add(time.Hour)) {
		t.Fatalf("Bookings after a restart = %+v", bs)
	}
	if r, ok, err := s.Booking("b2"); err != nil || !ok || !r.Booking.Cancel {
		t.Fatalf("Booking(b2) = %+v, %v, %v; want the cancellation", r, ok, err)
	}

	// b1 ends at at+1h+10m; the cancellation is kept for KeepCancels.
	if n, err := s.ExpireBookings(at.Add(time.Hour + 9*time.Minute)); n != 0 || err != nil {
		t.Fatalf("ExpireBookings before the end = %d, %v", n, err)
	}
	if n, err := s.ExpireBookings(at.Add(time.Hour + 10*time.Minute)); n != 1 || err != nil {
		t.Fatalf("ExpireBookings at the end = %d, %v; want 1", n, err)
	}
	if _, ok, _ := s.Booking("b2"); !ok {
		t.Fatal("the cancellation went with the booking")
	}
	if n, err := s.ExpireBookings(t0.Add(KeepCancels)); n != 1 || err != nil {
		t.Fatalf("ExpireBookings after KeepCancels = %d, %v; want 1", n, err)
	}
	if _, err := s.PutBooking(booking("", 1, at), t0); err == nil {
		t.Fatal("PutBooking took an empty id")
	}
}

func TestActivitiesSince(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	for i, typ := range []string{"call_answered", "item_shown", "call_ended", "call_missed", "call_answered"} {
		if err := s.LogActivity(Activity{Time: t0.Add(time.Duration(i) * time.Hour), Type: typ, Call: typ}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ActivitiesSince(t0.Add(time.Hour), "call_answered", "call_ended", "call_missed")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, a := range got {
		types = append(types, a.Type)
	}
	if want := "[call_ended call_missed call_answered]"; fmt.Sprint(types) != want {
		t.Fatalf("ActivitiesSince = %v, want %s", types, want)
	}
	if all, _ := s.ActivitiesSince(t0); len(all) != 5 {
		t.Fatalf("ActivitiesSince(all types) = %d entries, want 5", len(all))
	}
}
