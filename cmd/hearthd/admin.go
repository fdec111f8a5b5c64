package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/admin"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/config"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/provisioning"
)

// errFactoryReset ends the process after a factory reset, non-zero, so
// systemd starts it again: unprovisioned, with an empty data folder.
var errFactoryReset = errors.New("factory reset done; starting again unprovisioned")

// adminSide obeys the organisation's signed admin commands. The link hands
// payloads over; one goroutine checks and carries them out in order. What
// they change lives in the store (so it outlives a restart) and in the
// live state (so every component follows at once).
type adminSide struct {
	h     *admin.Handler
	log   *slog.Logger
	in    chan []byte
	reset atomic.Bool

	st   *store.Store
	live *device.Live
	// nightMode is how the configuration darkens the screen at night; an
	// admin's set_night changes the hours only.
	nightMode device.Mode
	// bus is the system-bus link (logind), for reboots.
	bus *sysbus.Link
}

// newAdmin returns nil when the device has no organisation key: then it
// obeys no admin command (and says so).
func newAdmin(cfg config.Config, st *store.Store, live *device.Live, bus *sysbus.Link, clk clock.Clock,
	note func(store.Activity), log *slog.Logger) *adminSide {
	if cfg.OrgKey == "" {
		log.Warn("admin commands are off: no organisation key")
		return nil
	}
	org, err := provisioning.ReadPublic(cfg.OrgKey)
	if err != nil {
		log.Error("admin commands are off", "err", err)
		return nil
	}
	a := &adminSide{log: log.With("component", "admin"), in: make(chan []byte, 16), st: st, live: live,
		nightMode: nightMode(cfg), bus: bus}
	a.h = &admin.Handler{
		Device: cfg.DeviceID, Log: a.log, Actions: a,
		Checker: &admin.Checker{OrgKey: org, Clock: clk,
			Spent: func(id string, until, now time.Time) (bool, error) { return st.SpendCallID("admin:"+id, until, now) }},
		Activity: func(typ, reason string) { note(store.Activity{Type: typ, Reason: reason}) },
	}
	return a
}

// deliver is the link's Admin hook: it never blocks for long.
func (a *adminSide) deliver(p []byte) {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case a.in <- append([]byte(nil), p...):
	case <-t.C:
		a.log.Warn("admin command dropped: queue full")
	}
}

// run carries out commands until ctx ends, or a factory reset ends the
// daemon (errFactoryReset: the composition root wipes the data once the
// store is closed).
func (a *adminSide) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-a.in:
			_ = a.h.Handle(ctx, p) // logged and reported by Handle
			if a.reset.Load() {
				return errFactoryReset
			}
		}
	}
}

// Reboot asks logind first; an unprivileged service may not, so next it
// leaves a request for hearthd-reboot.path (root) in its runtime folder;
// last, systemctl.
func (a *adminSide) Reboot(ctx context.Context) error {
	if a.bus != nil {
		err := a.bus.Reboot(ctx)
		if err == nil {
			return nil
		}
		a.log.Info("reboot through logind failed or not allowed; asking hearthd-reboot.path", "err", err)
	}
	if dir := os.Getenv("RUNTIME_DIRECTORY"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "reboot"), []byte("admin command\n"), 0o600); err == nil {
			return nil
		}
	}
	if out, err := exec.CommandContext(ctx, "systemctl", "reboot").CombinedOutput(); err != nil {
		return fmt.Errorf("systemctl reboot: %w: %s", err, out)
	}
	return nil
}

// FactoryReset stops the daemon; the data folder is wiped once the store
// is closed, and hearthd exits so that systemd starts it again.
func (a *adminSide) FactoryReset(context.Context) error {
	a.reset.Store(true)
	return nil
}

// SetNight keeps the admin's night hours and applies them at once.
func (a *adminSide) SetNight(hours string) error {
	n, err := device.ParseNightHours(hours)
	if err != nil {
		return err
	}
	n.Mode = a.nightMode
	if err := a.st.SetSetting(store.SettingNight, hours); err != nil {
		return err
	}
	a.live.SetNightHours(n)
	return nil
}

// SetVolume keeps the speaker's level and applies it.
func (a *adminSide) SetVolume(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("volume %d: want 0 to 100", percent)
	}
	if err := a.st.SetSetting(store.SettingVolume, strconv.Itoa(percent)); err != nil {
		return err
	}
	a.live.SetVolume(percent)
	return nil
}

// SetDND keeps do-not-disturb's end (zero: off) and applies it; it
// outlives a restart until it ends.
func (a *adminSide) SetDND(until time.Time) error {
	v := "off"
	if !until.IsZero() {
		v = until.UTC().Format(time.RFC3339)
	}
	if err := a.st.SetSetting(store.SettingDND, v); err != nil {
		return err
	}
	a.live.SetDND(until)
	return nil
}

// wipe empties the data folder after a factory reset (the store is closed).
func wipe(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("factory reset: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("factory reset: %w", err)
		}
	}
	return nil
}
