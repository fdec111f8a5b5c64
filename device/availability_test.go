package device

import (
	"context"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/proto"
)

// A caller shows the device's times in the device's zone: the
// availability names it and gives its offset now.
func TestAvailabilityZone(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, tc := range []struct {
		at     time.Time
		offset int
	}{
		{time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), 3600},
		{time.Date(2026, 7, 7, 10, 0, 0, 0, time.UTC), 7200},
	} {
		clk := clock.NewFake(tc.at)
		l := NewLive(State{Calls: CallsOn, Devices: Devices{Camera: true, Microphone: true}}, clk, stockholm)
		a := firstAvailability(l, clk)
		if a.Zone != "Europe/Stockholm" || a.UTCOffsetS != tc.offset {
			t.Errorf("at %v: zone %q offset %d, want Europe/Stockholm %d", tc.at, a.Zone, a.UTCOffsetS, tc.offset)
		}
	}
}

func TestZoneName(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	if got := ZoneName(stockholm); got != "Europe/Stockholm" {
		t.Errorf("ZoneName(Stockholm) = %q", got)
	}
	if got := ZoneName(time.UTC); got != "UTC" {
		t.Errorf("ZoneName(UTC) = %q", got)
	}
	for tz, want := range map[string]string{":Europe/Helsinki": "Europe/Helsinki", "Europe/Berlin": "Europe/Berlin",
		"": "UTC", "CET-1CEST": "", "/usr/share/zoneinfo/Europe/Oslo": ""} {
		t.Setenv("TZ", tz)
		if got := ZoneName(time.Local); got != want {
			t.Errorf("TZ=%q: ZoneName(Local) = %q, want %q", tz, got, want)
		}
	}
}

// During night hours a caller reads when they end ("asleep until 07:00"),
// in UTC; by day the field is absent.
func TestAvailabilityNightUntil(t *testing.T) {
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	night := NightHours{From: 22 * time.Hour, To: 7 * time.Hour, Mode: ModeNightDim}
	for _, tc := range []struct {
		at   time.Time
		want time.Time
	}{
		{time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC), time.Date(2026, 12, 8, 6, 0, 0, 0, time.UTC)}, // 00:30 in Stockholm
		{time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 6, 0, 0, 0, time.UTC)},  // 22:00 sharp
		{time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), time.Time{}},                                   // day
	} {
		clk := clock.NewFake(tc.at)
		l := NewLive(State{Calls: CallsOn, NightHours: night, Devices: Devices{Camera: true, Microphone: true}}, clk, stockholm)
		a := firstAvailability(l, clk)
		if !a.NightUntil.Equal(tc.want) {
			t.Errorf("at %v (state %s): night_until %v, want %v", tc.at, a.State, a.NightUntil, tc.want)
		}
	}
}

// firstAvailability is what PublishAvailability sends first for l.
func firstAvailability(l *Live, clk clock.Clock) proto.Availability {
	got := make(chan proto.Availability, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- PublishAvailability(ctx, l, clk, "mum", "Mum's kitchen", func(a proto.Availability) {
			select {
			case got <- a:
			default:
			}
		})
	}()
	a := <-got
	cancel()
	<-done
	return a
}
