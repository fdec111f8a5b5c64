// Package sysbus reads what the heartbeat reports about the device's system
// from the D-Bus system bus: whether the clock is synchronized (systemd's
// timedated) and how the device is on the network (NetworkManager).
//
// Each question is a small interface (TimeSync, Network) so the heartbeat
// can be tested with fakes and so a device without a bus, or without one of
// the services, runs with Unknown. A missing or silent service degrades to
// "unknown": no call returns an error to the caller, panics, or waits for
// longer than CallTimeout.
//
// A Bus is one connection and dies with the dbus-daemon it talks to; a Link
// (link.go) is what a long-running daemon holds: it connects again, with a
// backoff, when the bus restarts or comes up only after the daemon.
//
// The package reads properties through org.freedesktop.DBus.Properties; the
// one call that changes the system is AddWifi (wifi.go), which saves the
// provisioning bundle's Wi-Fi network in NetworkManager and fails with
// ErrNoNetworkManager, not a panic or a hang, when there is none. Tests run
// against stand-in services on a private bus (package sysbustest).
package sysbus

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// CallTimeout bounds every exchange with the bus: connecting, and each
// TimeSync or Network question as a whole. A shorter deadline on the
// caller's context wins.
const CallTimeout = 2 * time.Second

// defaultSystemBus is the system bus socket when DBUS_SYSTEM_BUS_ADDRESS is
// unset, as the D-Bus specification defines it.
const defaultSystemBus = "unix:path=/var/run/dbus/system_bus_socket"

// TimeSync tells whether the system clock is synchronized to a time source.
type TimeSync interface {
	// Synchronized reports whether the clock is synchronized; known is
	// false when that cannot be found out (no bus, no timedated, timeout).
	Synchronized(ctx context.Context) (synced, known bool)
}

// Network tells how the device is connected.
type Network interface {
	// Status describes the primary connection; known is false when that
	// cannot be found out (no bus, no NetworkManager, timeout).
	Status(ctx context.Context) (NetStatus, bool)
}

// Unknown implements TimeSync and Network for a device without a system
// bus: every answer is "unknown".
type Unknown struct{}

// Synchronized reports that it does not know.
func (Unknown) Synchronized(context.Context) (synced, known bool) { return false, false }

// Status reports that it does not know.
func (Unknown) Status(context.Context) (NetStatus, bool) { return unknownStatus(), false }

// Bus is a private connection to a D-Bus bus.
type Bus struct {
	conn   *dbus.Conn
	cancel context.CancelFunc
}

// Connect connects to the bus at address, or to the system bus when address
// is empty (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket). It fails
// when there is no bus to talk to; the caller then uses Unknown.
func Connect(address string) (*Bus, error) {
	return ConnectContext(context.Background(), address)
}

// ConnectContext is Connect with the handshake bounded by ctx (and by
// CallTimeout). ctx does not bound the connection's life: Close does.
func ConnectContext(ctx context.Context, address string) (*Bus, error) {
	if address == "" {
		address = os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	}
	if address == "" {
		address = defaultSystemBus
	}
	ctx, cancelHandshake := context.WithTimeout(ctx, CallTimeout)
	defer cancelHandshake()
	// godbus's handshake (authentication, Hello) takes no context. The
	// connection's own context closes its socket when cancelled, which
	// unblocks a handshake with a bus that accepted but never answers.
	life, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	conn, err := dbus.Connect(address, dbus.WithContext(life))
	if !stop() {
		// ctx ended during the handshake, and cancel closed the socket.
		if conn != nil {
			_ = conn.Close()
		}
		return nil, fmt.Errorf("connect to D-Bus at %s: %w", address, ctx.Err())
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connect to D-Bus at %s: %w", address, err)
	}
	return &Bus{conn: conn, cancel: cancel}, nil
}

// Close closes the connection. Clients taken from b answer "unknown" from
// then on.
func (b *Bus) Close() error {
	b.cancel()
	return b.conn.Close()
}

// TimeSync returns the clock's synchronization as systemd-timedated sees it.
func (b *Bus) TimeSync() TimeSync { return timedate{b.conn} }

// Network returns the primary connection as NetworkManager sees it.
func (b *Bus) Network() Network { return networkManager{b.conn} }

// property reads one property with org.freedesktop.DBus.Properties.Get and
// checks its D-Bus type against T.
func property[T any](ctx context.Context, conn *dbus.Conn, dest string, path dbus.ObjectPath, iface, name string) (T, error) {
	var zero T
	if !usablePath(path) {
		return zero, fmt.Errorf("get %s.%s: no object (%q)", iface, name, path)
	}
	var v dbus.Variant
	err := conn.Object(dest, path).
		CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, iface, name).
		Store(&v)
	if err != nil {
		return zero, fmt.Errorf("get %s.%s of %s: %w", iface, name, path, err)
	}
	x, ok := v.Value().(T)
	if !ok {
		return zero, fmt.Errorf("get %s.%s of %s: type %s, want %T", iface, name, path, v.Signature(), zero)
	}
	return x, nil
}

// usablePath reports whether p names an object: NetworkManager says "none"
// with the path "/".
func usablePath(p dbus.ObjectPath) bool { return p.IsValid() && p != "/" }
