package sysbus

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// Reboot asks systemd-logind to restart the machine
// (org.freedesktop.login1.Manager.Reboot, not interactive). The service
// user needs polkit's org.freedesktop.login1.reboot permission (the image's
// rule grants it to the hearth user).
func (b *Bus) Reboot(ctx context.Context) error { return reboot(ctx, b.conn) }

func reboot(ctx context.Context, conn *dbus.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	obj := conn.Object("org.freedesktop.login1", "/org/freedesktop/login1")
	if err := obj.CallWithContext(ctx, "org.freedesktop.login1.Manager.Reboot", 0, false).Err; err != nil {
		return fmt.Errorf("reboot through logind: %w", err)
	}
	return nil
}
