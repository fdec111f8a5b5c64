package device

import (
	"cmp"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/proto"
)

// CardPrefix starts the id of every slide the device composes itself.
const CardPrefix = "card:"

// Defaults of the cards.
const (
	// DefaultBookingLead is how long before a booked call its card shows.
	DefaultBookingLead = 2 * time.Hour
	// DefaultNewSinceFor is how long after the night the morning's "new
	// since yesterday" card leads the carousel: about an hour's rounds,
	// long enough to be seen on getting up, short enough not to go stale.
	DefaultNewSinceFor = time.Hour
)

// bookingEarly is how long before its booked time a carer's call counts
// as the booked call (and takes the booking's card off).
const bookingEarly = 30 * time.Minute

// The activity types the calls card is made of. A forced call that met
// "busy" is logged as call_missed too; a family call refused for
// do-not-disturb (call_refused) is a call the resident missed as well.
var callTypes = []string{"call_answered", "call_ended", "call_missed", "call_refused"}

// cardSlide wraps a card as a slide: its id names the kind, its Rev is a
// hash of its content (so it changes exactly when the content does), and
// Start and End are the card's own window.
func cardSlide(c Card, start, end time.Time) Slide {
	b, _ := json.Marshal(c) // plain fields: cannot fail
	h := fnv.New64a()
	h.Write(b)
	return Slide{ID: CardPrefix + c.Kind.String(), Rev: h.Sum64() | 1, Card: &c, Start: start, End: end}
}

// dayOf is the start of t's day in loc and the start of the next.
func dayOf(t time.Time, loc *time.Location) (start, next time.Time) {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// callsCard lists the calls of acts (call activities, oldest first) that
// started at or after since: answered ones at their answer, with their
// length once they ended, and missed ones, in the screen's zone loc. It
// reports false when there were none.
func callsCard(acts []store.Activity, since time.Time, loc *time.Location, name func(string) string) (Card, bool) {
	ended := map[string]time.Duration{}
	for _, a := range acts {
		if a.Type == "call_ended" {
			ended[a.Call] = time.Duration(a.DurationMs) * time.Millisecond
		}
	}
	var calls []CallEntry
	for _, a := range acts {
		if a.Time.Before(since) {
			continue
		}
		switch a.Type {
		case "call_answered":
			calls = append(calls, CallEntry{Name: name(a.Caller), At: a.Time.In(loc), Length: ended[a.Call]})
		case "call_missed":
			calls = append(calls, CallEntry{Name: name(a.Caller), At: a.Time.In(loc), Missed: true})
		case "call_refused":
			// Other refusals (strangers, forged or expired invites) are
			// nothing the resident could have taken.
			if a.Reason == proto.RefusedDND {
				calls = append(calls, CallEntry{Name: name(a.Caller), At: a.Time.In(loc), Missed: true})
			}
		}
	}
	if len(calls) == 0 {
		return Card{}, false
	}
	slices.SortStableFunc(calls, func(a, b CallEntry) int { return a.At.Compare(b.At) })
	return Card{Kind: CardCalls, Calls: calls}, true
}

// bookingCard is the card of the soonest booking whose window holds now:
// from lead before its time until its end, or until its caller's call was
// answered in that window; its time in the screen's zone loc. next is the
// next instant a booking's window opens or closes after now (zero: none).
func bookingCard(bookings []proto.Booking, acts []store.Activity, now time.Time, loc *time.Location, lead time.Duration,
	name func(string) string) (c Card, start, end, next time.Time, ok bool) {
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	var best *proto.Booking
	for i, b := range bookings {
		from, until := b.At.Add(-lead), b.End()
		consider(from)
		consider(until)
		if now.Before(from) || !now.Before(until) {
			continue
		}
		// The booked call is the caller's call answered from a little
		// before its time: an earlier call of theirs that day was about
		// something else, and the booking still stands.
		called := slices.ContainsFunc(acts, func(a store.Activity) bool {
			return a.Type == "call_answered" && a.Caller == b.Caller && !a.Time.Before(b.At.Add(-bookingEarly))
		})
		if called {
			continue
		}
		if best == nil || b.At.Before(best.At) || (b.At.Equal(best.At) && b.ID < best.ID) {
			best = &bookings[i]
		}
	}
	if best == nil {
		return Card{}, time.Time{}, time.Time{}, next, false
	}
	c = Card{Kind: CardBooking, Booking: Booking{ID: best.ID, Caller: best.Caller, Name: name(best.Caller),
		At: best.At.In(loc), Length: best.Length(), Reason: best.Reason}}
	return c, best.At.Add(-lead).In(loc), best.End().In(loc), next, true
}

// lastNight is the night hours' last night that ended at or before now:
// its start and end. ok is false inside the night, or without night hours.
func lastNight(n NightHours, now time.Time, loc *time.Location) (start, end time.Time, ok bool) {
	if !n.Enabled() || n.ModeAt(now, loc) != ModeDay {
		return time.Time{}, time.Time{}, false
	}
	edges := n.edges(now, loc)
	for i := len(edges) - 1; i >= 0; i-- {
		e := edges[i]
		if e.at.After(now) {
			continue
		}
		switch {
		case !e.night && end.IsZero():
			end = e.at
		case e.night && !end.IsZero():
			return e.at, end, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// newSinceCard counts the slides whose item arrived during the last night,
// for the first screen of the morning: shown from the night's end for
// lasting. It reports false when nothing arrived or the time is over.
func newSinceCard(slides []Slide, recs []store.Record, n NightHours, now time.Time, loc *time.Location,
	lasting time.Duration) (c Card, start, end time.Time, ok bool) {
	from, until, ok := lastNight(n, now, loc)
	if !ok || !now.Before(until.Add(lasting)) {
		return Card{}, time.Time{}, time.Time{}, false
	}
	received := make(map[string]time.Time, len(recs))
	for _, r := range recs {
		received[r.Item.ID] = r.Received
	}
	ns := NewSince{}
	count := map[string]int{}
	var order []string
	for _, sl := range slides {
		at, ok := received[sl.ID]
		if sl.Card != nil || !ok || at.Before(from) || !at.Before(until) {
			continue
		}
		if sl.Photo {
			ns.Photos++
		} else {
			ns.Messages++
		}
		if sl.From == "" {
			continue
		}
		if count[sl.From] == 0 {
			order = append(order, sl.From)
		}
		count[sl.From]++
	}
	if ns.Photos+ns.Messages == 0 {
		return Card{}, time.Time{}, time.Time{}, false
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(count[b], count[a]), strings.Compare(a, b))
	})
	ns.From = order[:min(len(order), 3)]
	return Card{Kind: CardNewSince, New: ns}, until, until.Add(lasting), true
}
