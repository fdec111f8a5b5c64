package device

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NightHours is when the screen dims or blanks: every day from From until
// To, as read on the wall clock of the device's time zone (22h means
// 22:00, also on the days that daylight saving time makes 23 or 25 hours
// long). The hours may wrap midnight (From 22h, To 7h). From == To, or Mode
// ModeDay, means no night hours.
//
// Each edge happens once a day, at the first instant the clock reads its
// time: an edge inside the hour that is skipped in spring happens when the
// clock jumps; an edge inside the hour that repeats in autumn happens the
// first time round.
type NightHours struct {
	From, To time.Duration // offsets from local midnight, on the wall clock
	Mode     Mode          // ModeNightDim or ModeNightOff
}

// ParseNightHours reads "22:00-07:00" (24-hour clock; "24:00" as an end
// means midnight). "off" and "" mean no night hours. The result dims
// (ModeNightDim); set Mode to blank instead.
func ParseNightHours(s string) (NightHours, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "off") {
		return NightHours{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return NightHours{}, fmt.Errorf("night hours %q: want HH:MM-HH:MM or off", s)
	}
	from, err := parseClock(a, false)
	if err != nil {
		return NightHours{}, fmt.Errorf("night hours %q: %w", s, err)
	}
	to, err := parseClock(b, true)
	if err != nil {
		return NightHours{}, fmt.Errorf("night hours %q: %w", s, err)
	}
	if from == to {
		return NightHours{}, fmt.Errorf("night hours %q: start and end are the same (use off for none)", s)
	}
	return NightHours{From: from, To: to, Mode: ModeNightDim}, nil
}

func parseClock(s string, end bool) (time.Duration, error) {
	s = strings.TrimSpace(s)
	hs, ms, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	switch {
	case !ok || err1 != nil || err2 != nil || len(ms) != 2 || len(hs) < 1 || len(hs) > 2:
		return 0, fmt.Errorf("%q is not HH:MM", s)
	case end && h == 24 && m == 0:
		return 0, nil
	case h < 0 || h > 23 || m < 0 || m > 59:
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Enabled reports whether there are night hours at all.
func (n NightHours) Enabled() bool {
	return n.Mode != ModeDay && dayOffset(n.From) != dayOffset(n.To)
}

func (n NightHours) String() string {
	if !n.Enabled() {
		return "off"
	}
	return fmt.Sprintf("%s-%s %s", clockString(n.From), clockString(n.To), n.Mode)
}

func clockString(d time.Duration) string {
	d = dayOffset(d)
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d/time.Minute%60))
}

// ModeAt returns the screen mode at t: n.Mode inside the night hours,
// else ModeDay. A nil loc means time.Local.
func (n NightHours) ModeAt(t time.Time, loc *time.Location) Mode {
	if !n.Enabled() {
		return ModeDay
	}
	if n.nightAt(t, n.edges(t, loc)) {
		return n.Mode
	}
	return ModeDay
}

// NextEdge returns the first instant after t at which ModeAt changes, or
// the zero time if there are no night hours.
func (n NightHours) NextEdge(t time.Time, loc *time.Location) time.Time {
	if !n.Enabled() {
		return time.Time{}
	}
	edges := n.edges(t, loc)
	night := n.nightAt(t, edges)
	for i, e := range edges {
		if !e.at.After(t) {
			continue
		}
		// Edges at one instant (both inside one skipped hour): the last wins.
		if i+1 < len(edges) && edges[i+1].at.Equal(e.at) {
			continue
		}
		if e.night != night {
			return e.at
		}
	}
	return time.Time{} // not reached: every day has both edges
}

type nightEdge struct {
	at    time.Time
	tod   time.Duration
	night bool // night starts here
}

// edges lists the From and To edges from the day before t's local date to
// two days after, in order.
func (n NightHours) edges(t time.Time, loc *time.Location) []nightEdge {
	if loc == nil {
		loc = time.Local
	}
	y, m, d := t.In(loc).Date()
	var out []nightEdge
	for k := -1; k <= 2; k++ {
		for _, e := range []struct {
			tod   time.Duration
			night bool
		}{{dayOffset(n.From), true}, {dayOffset(n.To), false}} {
			out = append(out, nightEdge{at: firstAt(y, m, d+k, e.tod, loc), tod: e.tod, night: e.night})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].tod < out[j].tod
	})
	return out
}

// nightAt reports whether the last edge at or before t started the night.
func (n NightHours) nightAt(t time.Time, edges []nightEdge) bool {
	night := false
	for _, e := range edges {
		if e.at.After(t) {
			break
		}
		night = e.night
	}
	return night
}

func dayOffset(d time.Duration) time.Duration {
	d %= 24 * time.Hour
	if d < 0 {
		d += 24 * time.Hour
	}
	return d
}

// firstAt returns the first instant at which the wall clock in loc reads
// tod on the given date (which may be out of range, as in time.Date), or,
// if the clock skips that reading, the instant it jumps over it.
func firstAt(y int, m time.Month, d int, tod time.Duration, loc *time.Location) time.Time {
	h, mi, s, ns := int(tod/time.Hour), int(tod/time.Minute%60), int(tod/time.Second%60), int(tod%time.Second)
	want := time.Date(y, m, d, h, mi, s, ns, time.UTC) // the reading, as if in UTC
	guess := time.Date(y, m, d, h, mi, s, ns, loc)     // Go picks one zone near a transition
	start, end := guess.ZoneBounds()
	// An instant reading want has one of the offsets in force around guess.
	near := []time.Time{guess}
	if !start.IsZero() {
		near = append(near, start.Add(-time.Nanosecond))
	}
	if !end.IsZero() {
		near = append(near, end)
	}
	var best time.Time
	for _, c := range near {
		_, off := c.Zone()
		x := want.Add(-time.Duration(off) * time.Second).In(loc)
		if wallOf(x).Equal(want) && (best.IsZero() || x.Before(best)) {
			best = x
		}
	}
	if !best.IsZero() {
		return best
	}
	// Skipped: the clock jumps over want at a bound of guess's zone.
	if wallOf(guess).After(want) {
		return start
	}
	return end
}

// wallOf is t's wall-clock reading, as if in UTC.
func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
