package device

import (
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
}

// slideKey identifies what a slide shows.
type slideKey struct {
	id  string
	rev uint64
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
		first   = true
		expire  = true
		errWait = time.Second
	)
	alarm := clock.Alarm{Clock: clk}
	defer alarm.Stop()
	for {
		if expire {
			// Expiry only needs to happen now and then; boundaries are a
			// natural rhythm. Its own change notice wakes us once more.
			if _, err := s.Store.Expire(clk.Now().Add(-keep)); err != nil {
				log.Warn("expire old items", "err", err)
			}
			expire = false
		}
		changed := s.Store.Changed()
		live, liveChanged := s.Live.Watch()
		now := clk.Now()
		recs, err := s.Store.Live()
		var next time.Time
		if err != nil {
			// Keep what is on screen; try again soon.
			log.Error("read live items", "err", err, "retry_in", errWait)
			next = now.Add(errWait)
			errWait = min(errWait*2, time.Minute)
		} else {
			errWait = time.Second
			// The mode first: after a power cut at night, no bright flash.
			if m := live.ScreenMode(); first || m != mode {
				log.Info("screen mode", "mode", m, "at", now)
				s.Display.SetMode(m)
				mode = m
			}
			slides := s.slidesAt(recs, now)
			keys := make([]slideKey, len(slides))
			for i, sl := range slides {
				keys[i] = slideKey{sl.ID, sl.Rev}
			}
			if first || !slices.Equal(keys, shown) {
				log.Info("carousel", "slides", len(slides), "at", now)
				s.Display.SetSlides(slides)
				s.noteEnded(shown, slides, recs, now, log)
				shown = keys
			}
			first = false
			next = nextBoundary(recs, now, keep)
		}
		if maxWait > 0 && (next.IsZero() || next.Sub(now) > maxWait) {
			next = now.Add(maxWait)
		}
		fire := alarm.At(now, next)
		for woke := false; !woke; {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				woke = true
			case <-liveChanged:
				// Only the screen mode matters here, not every change of
				// the live state (a new slide on screen is one).
				var live State
				live, liveChanged = s.Live.Watch()
				woke = live.ScreenMode() != mode
			case <-fire:
				expire, woke = true, true
			}
		}
	}
}

// noteEnded logs an item_expired event for each item that left the
// carousel because its display window ended (item_removed when its sender
// deleted it).
func (s *Scheduler) noteEnded(before []slideKey, now []Slide, recs []store.Record, at time.Time, log *slog.Logger) {
	for _, k := range before {
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
		if err := s.Store.LogActivity(store.Activity{Time: at, Type: typ, Item: k.id}); err != nil {
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
