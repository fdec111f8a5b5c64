package device

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/proto"
)

// Defaults of the Scheduler.
const (
	DefaultExpireAfter = 24 * time.Hour
	DefaultMaxWait     = 15 * time.Minute
)

// Scheduler decides what is on screen: at time t exactly the live items
// with Start <= t < End, and the screen mode the live state gives (night
// hours, or day while a call is on). It recomputes when the store changes,
// when the screen mode changes and at the next instant a window starts or
// ends, on one clock timer; between those it sleeps.
type Scheduler struct {
	Store   *store.Store
	Clock   clock.Clock // default clock.Real()
	Display Display
	// Live is the device's state, for the screen mode (required).
	Live   *Live
	Logger *slog.Logger // default slog.Default()
	// ExpireAfter is how long ended items stay in the store (and the
	// inventory); default DefaultExpireAfter.
	ExpireAfter time.Duration
	// MaxWait caps one wait, default DefaultMaxWait; negative means no cap.
	// The timer measures elapsed time, so a wall-clock step (NTP at boot:
	// a Pi has no RTC) would otherwise go unnoticed until the next boundary,
	// possibly days away. A wake-up that changes nothing calls nothing.
	MaxWait time.Duration

	// TimeFloor is the earliest time the wall clock can truly read
	// (BuildTime); a clock reading earlier cannot be trusted. Zero: no
	// such check. While the clock cannot be trusted (this, or Live's
	// ClockUnsynced) the screen keeps what it showed at the last trusted
	// time, judging every window by that time, expires nothing, and is
	// told so (Display.SetClockTrusted).
	TimeFloor time.Time
	// Names gives a caller's display name from the allowlist, for the
	// cards; nil (or ""): the caller's id.
	Names func(caller string) string
	// BookingLead is how long before a booked call its card shows;
	// default DefaultBookingLead.
	BookingLead time.Duration
	// NewSinceFor is how long the morning's card of what came in during
	// the night leads the carousel; default DefaultNewSinceFor.
	NewSinceFor time.Duration
}

// untrustedPoll is how often the wall clock is read while it reads before
// TimeFloor: a clock set by hand, or by NTP without a time service that
// says so, is noticed within this.
const untrustedPoll = 30 * time.Second

// keepTrustedEvery is how often the last trusted time is written down,
// so a restart with a wrong clock judges windows by a time near it.
const keepTrustedEvery = time.Hour

// slideKey identifies what a slide shows.
type slideKey struct {
	id  string
	rev uint64
	// kind and text say what the slide is, for the item events upward
	// (the same id and rev never change them).
	kind proto.Kind
	text string
}

// Run drives the Display until ctx ends. It sets the slides and the mode
// once at start and then only when they change. Cancellation is not an
// error.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.Store == nil || s.Display == nil || s.Live == nil {
		return errors.New("scheduler: Store, Display and Live are required")
	}
	clk := s.Clock
	if clk == nil {
		clk = clock.Real()
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "scheduler")
	keep := s.ExpireAfter
	if keep <= 0 {
		keep = DefaultExpireAfter
	}
	maxWait := s.MaxWait
	if maxWait == 0 {
		maxWait = DefaultMaxWait
	}

	var (
		shown   []slideKey
		mode    Mode
		night   Mode
		trusted bool
		first   = true
		expire  = true
		errWait = time.Second
		aimed   time.Time // the instant the alarm was last aimed at
		judge   = clockJudge{floor: s.TimeFloor, st: s.Store, log: log}
	)
	alarm := clock.Alarm{Clock: clk}
	defer alarm.Stop()
	for {
		changed := s.Store.Changed()
		acts := s.Store.ActivityChanged()
		wall := clk.Now()
		if !aimed.IsZero() && !wall.Before(aimed) {
			// The instant the alarm was aimed at has come, whether its
			// firing or another wake-up (a store change at the same
			// moment) started this round: what ended then expires now.
			expire = true
		}
		if early := judge.early(wall); early != s.Live.Get().ClockEarly {
			s.Live.SetClockEarly(early)
		}
		live, liveChanged := s.Live.Watch()
		now, ok := judge.at(wall, live.ClockTrusted())
		if first || ok != trusted {
			log.Info("screen clock", "trusted", ok, "clock", live.Clock, "early", live.ClockEarly, "wall", wall, "judged_at", now)
			s.Display.SetClockTrusted(ok)
			trusted = ok
			expire = expire || ok // judged again: what ended meanwhile goes
		}
		if expire && ok {
			// Expiry only needs to happen now and then; boundaries are a
			// natural rhythm. Its own change notice wakes us once more.
			// Never on a clock that cannot be trusted: it may be years
			// ahead.
			if _, err := s.Store.Expire(now.Add(-keep)); err != nil {
				log.Warn("expire old items", "err", err)
			}
			if _, err := s.Store.ExpireBookings(now); err != nil {
				log.Warn("expire bookings", "err", err)
			}
			expire = false
		}
		night = live.Night
		recs, err := s.Store.Live()
		var next time.Time
		if err != nil {
			// Keep what is on screen; try again soon.
			log.Error("read live items", "err", err, "retry_in", errWait)
			next = wall.Add(errWait)
			errWait = min(errWait*2, time.Minute)
		} else {
			errWait = time.Second
			// The mode first: after a power cut at night, no bright flash.
			if m := s.screenMode(live, now, ok); first || m != mode {
				log.Info("screen mode", "mode", m, "at", now)
				s.Display.SetMode(m)
				mode = m
			}
			slides := s.slidesAt(recs, now)
			cards, cardsNext := s.cardsAt(slides, recs, live.NightHours, now, log)
			slides = append(cards.front, append(slides, cards.back...)...)
			keys := make([]slideKey, len(slides))
			for i, sl := range slides {
				keys[i] = slideKey{id: sl.ID, rev: sl.Rev, kind: proto.KindMessage, text: sl.Text}
				if sl.Photo {
					keys[i].kind = proto.KindPhoto
				}
			}
			if first || !slices.Equal(keys, shown) {
				log.Info("carousel", "slides", len(slides), "at", now)
				s.Display.SetSlides(slides)
				s.noteEnded(shown, slides, recs, now, log)
				shown = keys
			}
			first = false
			next = earliest(nextBoundary(recs, now, keep), cardsNext)
			if !ok {
				// Boundaries on a clock that cannot be trusted mean
				// nothing; look at the clock again soon.
				next = wall.Add(untrustedPoll)
			}
		}
		if maxWait > 0 && (next.IsZero() || next.Sub(wall) > maxWait) {
			next = wall.Add(maxWait)
		}
		// Aimed from the time now, not the round's: a clock that moved
		// during the round fires at once rather than late. A clock that
		// moved past next while the alarm was being aimed is caught by
		// reading it once more.
		fire := alarm.At(clk.Now(), next)
		aimed = next
		if !next.IsZero() && !clk.Now().Before(next) {
			expire = true
			continue
		}
		for woke := false; !woke; {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				woke = true
			case <-acts:
				// Calls come and go on the cards (and a booking's card
				// goes when its caller called).
				acts = s.Store.ActivityChanged()
				woke = true
			case <-liveChanged:
				// Only the screen mode, the night and the clock's trust
				// matter here, not every change of the live state (a new
				// slide on screen is one).
				var live State
				live, liveChanged = s.Live.Watch()
				woke = s.screenMode(live, now, trusted) != mode || live.Night != night || live.ClockTrusted() != trusted
			case <-fire:
				expire, woke = true, true
			}
		}
	}
}

// screenMode is the mode the screen should be in: the live state's, but
// while the clock cannot be trusted the night hours are read at the time
// windows are judged by (a Pi in 1970 must not dim or light up by a wrong
// clock). A call wins either way.
func (s *Scheduler) screenMode(st State, at time.Time, trusted bool) Mode {
	if trusted || st.Call.InCall() {
		return st.ScreenMode()
	}
	return st.NightHours.ModeAt(at, s.Live.Location())
}

// earliest is the earlier of two instants, a zero one counting as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// clockJudge decides at which time windows are judged: the wall clock
// while it can be trusted, else the last time it could (in this run, or
// written down before a restart), so the screen keeps what it showed.
type clockJudge struct {
	floor time.Time
	st    *store.Store
	log   *slog.Logger
	last  time.Time // the last trusted time of this run
	kept  time.Time // the last one written down
}

// early reports whether wall reads before the floor.
func (j *clockJudge) early(wall time.Time) bool { return !j.floor.IsZero() && wall.Before(j.floor) }

// at returns the time to judge windows by, and whether it is the wall's.
func (j *clockJudge) at(wall time.Time, trusted bool) (time.Time, bool) {
	if trusted {
		j.last = wall
		if j.kept.IsZero() || wall.Sub(j.kept) >= keepTrustedEvery || wall.Before(j.kept) {
			if err := j.st.SetSetting(store.SettingLastTrusted, wall.UTC().Format(time.RFC3339Nano)); err != nil {
				j.log.Warn("write down the trusted time", "err", err)
			}
			j.kept = wall
		}
		return wall, true
	}
	if j.last.IsZero() {
		// None yet in this run: the one written down before, else the
		// floor (nothing on the device can be older).
		j.last = j.floor
		if v, ok := j.st.Setting(store.SettingLastTrusted); ok {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.After(j.last) {
				j.last = t
			}
		}
		if j.last.IsZero() {
			j.last = wall
		}
	}
	return j.last, false
}

// cards are the device's own slides: front ones lead the carousel, back
// ones follow the items.
type cards struct{ front, back []Slide }

// cardsAt composes the cards at now (the slides are the items on screen);
// next is the next instant one of them appears or goes (zero: none).
func (s *Scheduler) cardsAt(slides []Slide, recs []store.Record, nh NightHours, now time.Time, log *slog.Logger) (cards, time.Time) {
	loc := s.Live.Location()
	lead := cmp.Or(s.BookingLead, DefaultBookingLead)
	name := func(id string) string {
		if s.Names != nil {
			if n := s.Names(id); n != "" {
				return n
			}
		}
		return id
	}
	var out cards
	var next time.Time
	if c, start, end, ok := newSinceCard(slides, recs, nh, now, loc, cmp.Or(s.NewSinceFor, DefaultNewSinceFor)); ok {
		out.front = append(out.front, cardSlide(c, start, end))
		next = end
	}
	dayStart, tomorrow := dayOf(now, loc)
	// Today's calls, and those since a booking's window may have opened.
	since := dayStart
	if t := now.Add(-lead - proto.MaxBookingLength); t.Before(since) {
		since = t
	}
	acts, err := s.Store.ActivitiesSince(since, callTypes...)
	if err != nil {
		log.Warn("read today's calls", "err", err)
	}
	bookings, err := s.Store.Bookings()
	if err != nil {
		log.Warn("read bookings", "err", err)
	}
	c, start, end, bnext, ok := bookingCard(bookings, acts, now, loc, lead, name)
	if ok {
		out.front = append(out.front, cardSlide(c, start, end))
	}
	next = earliest(next, bnext)
	if c, ok := callsCard(acts, dayStart, loc, name); ok {
		out.back = append(out.back, cardSlide(c, dayStart, tomorrow))
		next = earliest(next, tomorrow)
	}
	return out, next
}

// noteEnded logs an item_expired event for each item that left the
// carousel because its display window ended (item_removed when its sender
// deleted it).
func (s *Scheduler) noteEnded(before []slideKey, now []Slide, recs []store.Record, at time.Time, log *slog.Logger) {
	for _, k := range before {
		if strings.HasPrefix(k.id, CardPrefix) {
			continue // the device's own card, not a sender's item
		}
		if slices.ContainsFunc(now, func(sl Slide) bool { return sl.ID == k.id }) {
			continue
		}
		typ := "item_expired"
		i := slices.IndexFunc(recs, func(r store.Record) bool { return r.Item.ID == k.id })
		switch {
		case i < 0:
			typ = "item_removed" // deleted by its sender
		case at.Before(recs[i].Item.End):
			continue // not ended: moved its start, say
		}
		if err := s.Store.LogActivity(store.Activity{Time: at, Type: typ, Item: k.id, ItemKind: k.kind, ItemText: store.CutText(k.text)}); err != nil {
			log.Warn("activity", "err", err)
		}
	}
}

// slidesAt returns the slides of the live records whose window holds now,
// newest start first, ties by id.
func (s *Scheduler) slidesAt(recs []store.Record, now time.Time) []Slide {
	slides := []Slide{}
	for _, r := range recs {
		it := r.Item
		if now.Before(it.Start) || !now.Before(it.End) {
			continue
		}
		sl := Slide{
			ID: it.ID, Rev: it.Rev, Photo: it.Kind == proto.KindPhoto,
			Text: it.Text, From: it.From, Sent: it.Created, Start: it.Start, End: it.End,
		}
		if sl.Sent.IsZero() {
			sl.Sent = it.Start
		}
		if sl.Photo {
			if sl.Image = s.Store.BlobPath(r.Screen); sl.Image == "" {
				continue // cannot happen for a ready photo; never show a blank
			}
		}
		slides = append(slides, sl)
	}
	slices.SortFunc(slides, func(a, b Slide) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return slides
}

// nextBoundary is the earliest Start or End after now of any live record,
// or an End+keep (when it may be expired), or the zero time.
func nextBoundary(recs []store.Record, now time.Time, keep time.Duration) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, r := range recs {
		consider(r.Item.Start)
		if !r.Item.End.IsZero() {
			consider(r.Item.End)
			consider(r.Item.End.Add(keep))
		}
	}
	return next
}
