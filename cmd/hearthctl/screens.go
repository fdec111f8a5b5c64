package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// seenQuiet is how long hearthctl waits, after subscribing, for the
// retained status of the screens it names: the broker sends retained
// messages right after the subscription, so this is a short wait.
const seenQuiet = 300 * time.Millisecond

// screen is what the broker retains about one device: whether it has ever
// reported (a state, heartbeat or availability), and its availability,
// whose zone is the screen's clock.
type screen struct {
	ID       string
	Reported bool
	Avail    *proto.Availability
}

// Loc is the screen's time zone: the IANA zone its availability names,
// else its offset from UTC, else fallback (the user's own zone).
func (s screen) Loc(fallback *time.Location) *time.Location {
	if s.Avail == nil {
		return fallback
	}
	return availLoc(*s.Avail, fallback)
}

// availLoc is the time zone an availability names (see screen.Loc).
func availLoc(a proto.Availability, fallback *time.Location) *time.Location {
	if a.Zone != "" {
		if l, err := time.LoadLocation(a.Zone); err == nil {
			return l
		}
	}
	if a.UTCOffsetS == 0 {
		// A device from before zones were reported leaves both out; one
		// on UTC without a zone name reads the same as the user's clock.
		return fallback
	}
	return time.FixedZone(offsetName(a.UTCOffsetS), a.UTCOffsetS)
}

// offsetName names a UTC offset in seconds: "UTC+2", "UTC-3:30",
// "UTC+5:45" (India, Newfoundland and Nepal are not whole hours).
func offsetName(s int) string {
	sign := "+"
	if s < 0 {
		sign, s = "-", -s
	}
	h, m := s/3600, s%3600/60
	if m == 0 {
		return fmt.Sprintf("UTC%s%d", sign, h)
	}
	return fmt.Sprintf("UTC%s%d:%02d", sign, h, m)
}

// zoneNote says "(the screen's time, Europe/Stockholm)" when the screen's
// clock differs from the user's at t, and nothing when they agree.
func zoneNote(screenLoc, mine *time.Location, t time.Time) string {
	_, a := t.In(screenLoc).Zone()
	_, b := t.In(mine).Zone()
	if a == b {
		return ""
	}
	name := screenLoc.String()
	if name == "" || name == "Local" {
		name, _ = t.In(screenLoc).Zone()
	}
	return " (the screen's time, " + name + ")"
}

// strictFlag adds --strict to a command that names devices.
func strictFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("strict", false, "refuse (exit 1) when a named device has never reported to the broker (a typo?)")
}

// lookScreens reads what the broker retains about devices (state,
// heartbeat, availability) on conn. A device that never reported is
// probably a typo: lookScreens says so on stderr, and with strict it
// returns an error before anything is sent.
func (e *env) lookScreens(ctx context.Context, conn *hsync.Conn, cmd string, devices []string, strict bool) (map[string]screen, error) {
	var mu gosync.Mutex
	got := map[string]screen{}
	for _, d := range devices {
		got[d] = screen{ID: d}
	}
	bump := make(chan struct{}, 1)
	ingest := func(topic string, payload []byte) {
		if len(payload) == 0 {
			return
		}
		d := proto.DeviceOf(topic)
		mu.Lock()
		s, ok := got[d]
		if ok {
			s.Reported = true
			if strings.HasSuffix(topic, "/availability") {
				if a, err := proto.DecodeAvailability(payload); err == nil && a.Device == d {
					s.Avail = &a
				}
			}
			got[d] = s
		}
		mu.Unlock()
		select {
		case bump <- struct{}{}:
		default:
		}
	}
	for _, d := range devices {
		for _, topic := range []string{proto.StateTopic(d), proto.HeartbeatTopic(d), proto.AvailabilityTopic(d)} {
			if err := conn.SubscribeSnapshot(ctx, topic, ingest); err != nil {
				return nil, fmt.Errorf("%s: %w", cmd, err)
			}
		}
	}
	if err := waitQuiet(ctx, bump, seenQuiet); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	var unknown []string
	for _, d := range devices {
		if !got[d].Reported {
			unknown = append(unknown, d)
		}
	}
	if len(unknown) == 0 {
		return got, nil
	}
	what := fmt.Sprintf("no device %q has ever reported to %s (no state, heartbeat or availability): is the id right?", unknown[0], e.broker)
	if len(unknown) > 1 {
		what = fmt.Sprintf("no devices %s have ever reported to %s (no state, heartbeat or availability): are the ids right?",
			quoteList(unknown), e.broker)
	}
	if strict {
		return nil, fmt.Errorf("%s: %s (--strict: nothing sent)", cmd, what)
	}
	fmt.Fprintf(e.stderr, "warning: %s\n", what)
	return got, nil
}

// dialScreen connects to the broker for a command on one device and looks
// at what the broker retains about it (lookScreens). prefix names the
// connection's client id.
func (e *env) dialScreen(ctx context.Context, cmd, prefix, device string, strict bool) (*hsync.Conn, screen, error) {
	conn, err := hsync.DialTLS(ctx, e.broker, prefix, e.tls)
	if err != nil {
		return nil, screen{}, err
	}
	screens, err := e.lookScreens(ctx, conn, cmd, []string{device}, strict)
	if err != nil {
		conn.Close()
		return nil, screen{}, err
	}
	return conn, screens[device], nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
