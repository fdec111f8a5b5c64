package device

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// AvailabilityOf is the availability message for state s, as callers and
// the fleet read it (retained on proto.AvailabilityTopic).
func AvailabilityOf(s State, device, name string, now time.Time) proto.Availability {
	st, answer := s.Availability()
	a := proto.Availability{V: proto.Version, Device: device, Name: name, Time: now.UTC(), State: st, Answer: answer,
		Camera: s.Devices.Camera, Microphone: s.Devices.Microphone}
	if s.DND() {
		a.DNDUntil = s.DNDUntil.UTC()
	}
	return a
}

// PublishAvailability sends the device's availability to publish at once
// and again whenever it changes (not for every change of the live state:
// a new slide on screen says nothing to callers), until ctx ends.
// Cancellation is not an error.
func PublishAvailability(ctx context.Context, live *Live, clk clock.Clock, device, name string, publish func(proto.Availability)) error {
	if clk == nil {
		clk = clock.Real()
	}
	var last proto.Availability
	first := true
	zone := ZoneName(live.Location())
	for {
		s, changed := live.Watch()
		now := clk.Now()
		a := AvailabilityOf(s, device, name, now)
		a.Zone = zone
		_, a.UTCOffsetS = now.In(live.Location()).Zone()
		if s.Night != ModeDay {
			a.NightUntil = s.NightHours.NextEdge(now, live.Location()).UTC()
		}
		if first || !sameAvailability(a, last) {
			publish(a)
			last, first = a, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// sameAvailability compares all but the time.
func sameAvailability(a, b proto.Availability) bool {
	return a.State == b.State && maps.Equal(a.Answer, b.Answer) && a.Camera == b.Camera &&
		a.Microphone == b.Microphone && a.DNDUntil.Equal(b.DNDUntil) && a.Device == b.Device && a.Name == b.Name &&
		a.Zone == b.Zone && a.UTCOffsetS == b.UTCOffsetS && a.NightUntil.Equal(b.NightUntil)
}

// ZoneName is the IANA name of loc ("Europe/Stockholm"), or "" when it is
// not known. The process's local zone is named by $TZ (without its
// leading ":") or else by the target of /etc/localtime, a link into the
// zoneinfo tree on Debian and Buildroot.
func ZoneName(loc *time.Location) string {
	if loc == nil {
		return ""
	}
	if loc != time.Local {
		return validZone(loc.String())
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		// TZ="" is UTC; a path or POSIX rule ("CET-1CEST") is no IANA name.
		if tz == "" {
			return "UTC"
		}
		return validZone(strings.TrimPrefix(tz, ":"))
	}
	target, err := os.Readlink("/etc/localtime")
	if err != nil {
		return ""
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join("/etc", target)
	}
	_, name, ok := strings.Cut(filepath.Clean(target), "/zoneinfo/")
	if !ok {
		return ""
	}
	return validZone(name)
}

// validZone is name when Go can load it as an IANA zone, else "".
func validZone(name string) string {
	if name == "" || name == "Local" || strings.HasPrefix(name, "/") {
		return ""
	}
	if _, err := time.LoadLocation(name); err != nil {
		return ""
	}
	return name
}
