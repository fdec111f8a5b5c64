package sysbus

import (
	"context"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/internal/backoff"
)

// Backoff between attempts to reach a missing bus, unless LinkOptions say
// otherwise: the first retry after a loss is at once (a restarted
// dbus-daemon is usually back), then up to MinBackoff, the ceiling doubling
// up to MaxBackoff, with full jitter (internal/backoff): never less than
// backoff.MinDelay, never more than the ceiling.
const (
	MinBackoff = time.Second
	MaxBackoff = 30 * time.Second
)

// LinkOptions configure a Link.
type LinkOptions struct {
	// Address is the bus's D-Bus address; empty is the system bus
	// (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket).
	Address string
	// Logger gets one line when the bus is lost or missing and one when it
	// is back. Nil discards them.
	Logger *slog.Logger
	// Clock times the backoff; nil is the real clock.
	Clock clock.Clock
	// MinBackoff (the first ceiling) and MaxBackoff (the cap) bound the
	// wait between attempts while there is no bus; zero takes the
	// package's defaults.
	MinBackoff, MaxBackoff time.Duration
}

// Link is a connection to the system bus that comes back by itself. A
// dbus-daemon that restarts closes every connection to it, and godbus
// does not reconnect; a device whose bus was not up yet when hearthd
// started has none at all. Link connects lazily: each question first makes
// sure there is a live connection, connecting again when the last one
// closed, with a backoff while the bus stays away, so a missing bus costs
// a failed connect per backoff step rather than per question. Meanwhile
// every answer is "unknown" (and AddWifi says ErrNoNetworkManager), as
// with Unknown.
//
// Link implements TimeSync, Network and WifiSetup, and reboots through
// logind. It is safe for concurrent use.
type Link struct {
	opt LinkOptions
	log *slog.Logger

	mu      gosync.Mutex
	bus     *Bus
	closed  bool
	down    bool      // logged as missing or lost, not yet as back
	fails   int       // failed attempts in a row
	nextTry time.Time // no attempt to connect before this
}

var (
	_ TimeSync  = (*Link)(nil)
	_ Network   = (*Link)(nil)
	_ WifiSetup = (*Link)(nil)
)

// NewLink returns a Link and tries once to connect, so that a device with
// a bus has its connection before the first question.
func NewLink(ctx context.Context, opt LinkOptions) *Link {
	if opt.Clock == nil {
		opt.Clock = clock.Real()
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = MinBackoff
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(MaxBackoff, opt.MinBackoff)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Link{opt: opt, log: log}
	l.mu.Lock()
	l.connectLocked(ctx)
	l.mu.Unlock()
	return l
}

// conn returns a live connection, connecting first when there is none and
// the backoff allows; nil when there is no bus now.
func (l *Link) conn(ctx context.Context) *dbus.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if l.bus != nil && !l.bus.conn.Connected() {
		// godbus closes a connection whose socket ended (the daemon
		// stopped or restarted); it never comes back by itself.
		_ = l.bus.Close()
		l.bus = nil
		l.down = true
		l.fails, l.nextTry = 0, time.Time{}
		l.log.Warn("system bus lost: clock sync and network reported as unknown until it is back")
	}
	if l.bus == nil {
		l.connectLocked(ctx)
	}
	if l.bus == nil {
		return nil
	}
	return l.bus.conn
}

// connectLocked tries to connect unless the backoff says wait.
func (l *Link) connectLocked(ctx context.Context) {
	now := l.opt.Clock.Now()
	if now.Before(l.nextTry) {
		return
	}
	bus, err := ConnectContext(ctx, l.opt.Address)
	if err != nil {
		if ctx.Err() != nil {
			return // the caller gave up; not a verdict on the bus
		}
		wait := backoff.Policy{Base: l.opt.MinBackoff, Cap: l.opt.MaxBackoff}.Delay(l.fails)
		l.fails++
		l.nextTry = now.Add(wait)
		if !l.down {
			l.down = true
			l.log.Info("no system bus: clock sync and network reported as unknown, retrying", "err", err)
		} else {
			l.log.Debug("system bus still missing", "err", err, "retry_in", wait)
		}
		return
	}
	l.bus, l.fails, l.nextTry = bus, 0, time.Time{}
	if l.down {
		l.down = false
		l.log.Info("system bus back")
	}
}

// Close closes the connection; from then on every answer is "unknown".
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.bus == nil {
		return nil
	}
	err := l.bus.Close()
	l.bus = nil
	return err
}

// Synchronized asks timedated, as Bus.TimeSync does.
func (l *Link) Synchronized(ctx context.Context) (synced, known bool) {
	c := l.conn(ctx)
	if c == nil {
		return false, false
	}
	return timedate{c}.Synchronized(ctx)
}

// Status asks NetworkManager, as Bus.Network does.
func (l *Link) Status(ctx context.Context) (NetStatus, bool) {
	c := l.conn(ctx)
	if c == nil {
		return unknownStatus(), false
	}
	return networkManager{c}.Status(ctx)
}

// AddWifi is Bus.AddWifi on the current connection.
func (l *Link) AddWifi(ctx context.Context, ssid, psk string) error {
	if err := checkWifi(ssid, psk); err != nil {
		return err
	}
	c := l.conn(ctx)
	if c == nil {
		return fmt.Errorf("add Wi-Fi: no system bus: %w", ErrNoNetworkManager)
	}
	return addWifi(ctx, c, ssid, psk)
}

// Reboot is Bus.Reboot on the current connection.
func (l *Link) Reboot(ctx context.Context) error {
	c := l.conn(ctx)
	if c == nil {
		return fmt.Errorf("reboot through logind: no system bus")
	}
	return reboot(ctx, c)
}
