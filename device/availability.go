package device

import (
	"context"
	"maps"
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
	for {
		s, changed := live.Watch()
		a := AvailabilityOf(s, device, name, clk.Now())
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
		a.Microphone == b.Microphone && a.DNDUntil.Equal(b.DNDUntil) && a.Device == b.Device && a.Name == b.Name
}
