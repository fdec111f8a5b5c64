package sysbus

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"

	"github.com/godbus/dbus/v5"
)

// WifiSetup saves a Wi-Fi network for the device to join, as the
// provisioning bundle gives it.
type WifiSetup interface {
	// AddWifi saves the network ssid with the WPA passphrase psk (empty
	// for an open network). It fails with ErrNoNetworkManager when there
	// is nothing to save it with.
	AddWifi(ctx context.Context, ssid, psk string) error
}

var (
	_ WifiSetup = (*Bus)(nil)
	_ WifiSetup = Unknown{}
)

// AddWifi reports that there is no NetworkManager to save the network with.
func (Unknown) AddWifi(context.Context, string, string) error {
	return fmt.Errorf("add Wi-Fi: no system bus: %w", ErrNoNetworkManager)
}

// NetworkManager's settings service, the parts AddWifi uses:
//
//	/org/freedesktop/NetworkManager/Settings, org.freedesktop.NetworkManager.Settings:
//	  ListConnections() -> ao; AddConnection(a{sa{sv}}) -> o
//	each connection, org.freedesktop.NetworkManager.Settings.Connection:
//	  GetSettings() -> a{sa{sv}} (without secrets); Update(a{sa{sv}})
//
// AddConnection saves the profile (a keyfile) and NetworkManager activates
// it by itself, as it does every autoconnect profile in range.
const (
	nmSettingsPath  = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings")
	nmSettingsIface = nmName + ".Settings"
	nmConnIface     = nmName + ".Settings.Connection"
	nmWifiType      = "802-11-wireless"
	nmWifiSecurity  = "802-11-wireless-security"
)

// AddWifi saves a Wi-Fi connection profile in NetworkManager: WPA-PSK with
// psk, or open when psk is empty; addresses by DHCP and IPv6
// autoconfiguration; connect automatically. It is idempotent: a profile
// for the same SSID (or named after it) is updated in place, keeping its
// name and UUID, rather than added a second time, so applying a bundle
// again, or a new passphrase, leaves one profile.
//
// It is the one call of this package that changes the system. It fails
// with ErrInvalidWifi before asking anything, and with ErrNoNetworkManager
// when NetworkManager is not on the bus or does not answer within
// CallTimeout (or ctx); never by panicking or waiting longer.
func (b *Bus) AddWifi(ctx context.Context, ssid, psk string) error {
	if err := checkWifi(ssid, psk); err != nil {
		return err
	}
	return addWifi(ctx, b.conn, ssid, psk)
}

// addWifi is AddWifi on conn, for checked settings.
func addWifi(ctx context.Context, conn *dbus.Conn, ssid, psk string) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	var paths []dbus.ObjectPath
	err := conn.Object(nmName, nmSettingsPath).
		CallWithContext(ctx, nmSettingsIface+".ListConnections", 0).Store(&paths)
	if err != nil {
		return nmError(ctx, "add Wi-Fi: list connections", err)
	}
	for _, p := range paths {
		var cur map[string]map[string]dbus.Variant
		obj := conn.Object(nmName, p)
		if err := obj.CallWithContext(ctx, nmConnIface+".GetSettings", 0).Store(&cur); err != nil {
			if gone(ctx, err) {
				return nmError(ctx, "add Wi-Fi: read connection "+string(p), err)
			}
			continue // removed meanwhile, or not ours to read
		}
		if !sameWifi(cur, ssid) {
			continue
		}
		id, _ := cur["connection"]["id"].Value().(string)
		uuid, _ := cur["connection"]["uuid"].Value().(string)
		if id == "" {
			id = ssid
		}
		if uuid == "" {
			uuid = newUUID()
		}
		if err := obj.CallWithContext(ctx, nmConnIface+".Update", 0, wifiSettings(id, uuid, ssid, psk)).Err; err != nil {
			return nmError(ctx, fmt.Sprintf("add Wi-Fi %q: update connection %s", ssid, p), err)
		}
		return nil
	}
	var added dbus.ObjectPath
	err = conn.Object(nmName, nmSettingsPath).
		CallWithContext(ctx, nmSettingsIface+".AddConnection", 0, wifiSettings(ssid, newUUID(), ssid, psk)).Store(&added)
	if err != nil {
		return nmError(ctx, fmt.Sprintf("add Wi-Fi %q", ssid), err)
	}
	return nil
}

// checkWifi rejects what NetworkManager would: an SSID is 1 to 32 bytes; a
// WPA passphrase 8 to 63 printable ASCII characters, or 64 hex digits (the
// key itself).
func checkWifi(ssid, psk string) error {
	if n := len(ssid); n < 1 || n > 32 {
		return fmt.Errorf("add Wi-Fi: SSID of %d bytes, want 1 to 32: %w", n, ErrInvalidWifi)
	}
	if psk == "" {
		return nil
	}
	if len(psk) == 64 {
		for _, c := range []byte(psk) {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return fmt.Errorf("add Wi-Fi %q: a 64-character passphrase must be hex digits: %w", ssid, ErrInvalidWifi)
			}
		}
		return nil
	}
	if n := len(psk); n < 8 || n > 63 {
		return fmt.Errorf("add Wi-Fi %q: passphrase of %d characters, want 8 to 63: %w", ssid, n, ErrInvalidWifi)
	}
	for _, c := range []byte(psk) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("add Wi-Fi %q: passphrase must be printable ASCII: %w", ssid, ErrInvalidWifi)
		}
	}
	return nil
}

// sameWifi reports whether a saved profile is the Wi-Fi network ssid: by
// its SSID, or by its name (NetworkManager names Wi-Fi profiles after the
// SSID).
func sameWifi(s map[string]map[string]dbus.Variant, ssid string) bool {
	if t, _ := s["connection"]["type"].Value().(string); t != nmWifiType {
		return false
	}
	if got, ok := s[nmWifiType]["ssid"].Value().([]byte); ok && bytes.Equal(got, []byte(ssid)) {
		return true
	}
	id, _ := s["connection"]["id"].Value().(string)
	return id == ssid
}

// wifiSettings is a whole Wi-Fi profile, as AddConnection and Update take it.
func wifiSettings(id, uuid, ssid, psk string) map[string]map[string]dbus.Variant {
	s := map[string]map[string]dbus.Variant{
		"connection": {
			"id":          dbus.MakeVariant(id),
			"uuid":        dbus.MakeVariant(uuid),
			"type":        dbus.MakeVariant(nmWifiType),
			"autoconnect": dbus.MakeVariant(true),
		},
		nmWifiType: {
			"ssid": dbus.MakeVariant([]byte(ssid)),
			"mode": dbus.MakeVariant("infrastructure"),
		},
		"ipv4": {"method": dbus.MakeVariant("auto")},
		"ipv6": {"method": dbus.MakeVariant("auto")},
	}
	if psk != "" {
		s[nmWifiSecurity] = map[string]dbus.Variant{
			"key-mgmt": dbus.MakeVariant("wpa-psk"),
			"psk":      dbus.MakeVariant(psk),
		}
	}
	return s
}

// newUUID is a random (version 4) UUID for a new profile.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (crypto/rand.Read)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// gone reports whether err means that NetworkManager itself is not there
// or not answering (rather than that one call failed).
func gone(ctx context.Context, err error) bool {
	// Our deadline (CallTimeout or the caller's) passed: not answering. A
	// cancelled ctx is the caller stopping, not NetworkManager missing.
	// A connection closed under a call fails with godbus's ErrClosed, or,
	// when the close wins the race with the reply, with the socket's own
	// net.ErrClosed ("use of closed network connection").
	if errors.Is(err, dbus.ErrClosed) || errors.Is(err, net.ErrClosed) || (ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded)) {
		return true
	}
	var e dbus.Error
	var pe *dbus.Error
	var name string
	switch {
	case errors.As(err, &e):
		name = e.Name
	case errors.As(err, &pe) && pe != nil:
		name = pe.Name
	}
	switch name {
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
		"org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Disconnected":
		return true
	}
	return false
}

// nmError wraps err from a call for op; when NetworkManager is not there or
// not answering it is ErrNoNetworkManager too.
func nmError(ctx context.Context, op string, err error) error {
	if gone(ctx, err) {
		return fmt.Errorf("%s: %w: %w", op, ErrNoNetworkManager, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
