package sysbus

import (
	"context"

	"github.com/godbus/dbus/v5"
)

// systemd-timedated (org.freedesktop.timedate1(5)). It is started on demand
// by the bus, so the first question after boot may take a moment.
const (
	timedateName = "org.freedesktop.timedate1"
	timedatePath = dbus.ObjectPath("/org/freedesktop/timedate1")
)

// timedate reads the one property the heartbeat needs, NTPSynchronized
// (b). timedated derives it from the kernel's adjtimex() state, so it is
// true whichever daemon (timesyncd, chrony, ntpd) disciplines the clock.
type timedate struct{ conn *dbus.Conn }

func (t timedate) Synchronized(ctx context.Context) (synced, known bool) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	v, err := property[bool](ctx, t.conn, timedateName, timedatePath, timedateName, "NTPSynchronized")
	if err != nil {
		return false, false
	}
	return v, true
}
