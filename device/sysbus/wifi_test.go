package sysbus_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/device/sysbus/sysbustest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// plain turns a profile's variants into Go values for comparing.
func plain(s sysbustest.Settings) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, props := range s {
		out[name] = map[string]any{}
		for k, v := range props {
			out[name][k] = v.Value()
		}
	}
	return out
}

// wantProfile is the profile AddWifi should save, less the UUID.
func wantProfile(id, ssid, psk string) map[string]map[string]any {
	p := map[string]map[string]any{
		"connection":      {"id": id, "type": "802-11-wireless", "autoconnect": true},
		"802-11-wireless": {"ssid": []byte(ssid), "mode": "infrastructure"},
		"ipv4":            {"method": "auto"},
		"ipv6":            {"method": "auto"},
	}
	if psk != "" {
		p["802-11-wireless-security"] = map[string]any{"key-mgmt": "wpa-psk", "psk": psk}
	}
	return p
}

// checkProfile compares a saved profile with want and returns its UUID.
func checkProfile(t *testing.T, c sysbustest.SavedConnection, want map[string]map[string]any) string {
	t.Helper()
	got := plain(c.Settings)
	uuid, _ := got["connection"]["uuid"].(string)
	if !uuidRE.MatchString(uuid) {
		t.Errorf("connection.uuid = %q, want a random UUID", uuid)
	}
	delete(got["connection"], "uuid")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("saved profile %s =\n%v\nwant\n%v", c.Path, got, want)
	}
	return uuid
}

// TestAddWifi: the bundle's network is saved as one autoconnecting WPA-PSK
// profile; applying it again, or with a new passphrase, updates that
// profile instead of adding a second.
func TestAddWifi(t *testing.T) {
	bus := sysbustest.Start(t)
	nm := bus.NetworkManager(nil)
	b := connect(t, bus)
	ctx := t.Context()

	if err := b.AddWifi(ctx, "Kitchen", "correct horse battery"); err != nil {
		t.Fatalf("AddWifi: %v", err)
	}
	saved := nm.Connections()
	if len(saved) != 1 {
		t.Fatalf("after AddWifi: %d profiles, want 1", len(saved))
	}
	uuid := checkProfile(t, saved[0], wantProfile("Kitchen", "Kitchen", "correct horse battery"))

	// The same again, then a new passphrase: still one profile, same UUID.
	for i, psk := range []string{"correct horse battery", "new passphrase 2027"} {
		if err := b.AddWifi(ctx, "Kitchen", psk); err != nil {
			t.Fatalf("AddWifi again (%d): %v", i, err)
		}
		saved = nm.Connections()
		if len(saved) != 1 {
			t.Fatalf("after AddWifi again (%d): %d profiles, want 1 (updated)", i, len(saved))
		}
		if got := checkProfile(t, saved[0], wantProfile("Kitchen", "Kitchen", psk)); got != uuid {
			t.Errorf("UUID after update = %s, want %s kept", got, uuid)
		}
		if saved[0].Updates != i+1 {
			t.Errorf("Updates = %d, want %d", saved[0].Updates, i+1)
		}
	}

	// Another network is a second profile; an open one has no security.
	if err := b.AddWifi(ctx, "Café guest", ""); err != nil {
		t.Fatalf("AddWifi open: %v", err)
	}
	saved = nm.Connections()
	if len(saved) != 2 {
		t.Fatalf("after a second network: %d profiles, want 2", len(saved))
	}
	checkProfile(t, saved[1], wantProfile("Café guest", "Café guest", ""))
	if saved[0].Updates != 2 {
		t.Errorf("the first profile was touched: Updates = %d", saved[0].Updates)
	}
}

// TestAddWifiUpdatesExisting: a profile someone made before for the same
// SSID (under another name, with a static address, other profiles beside
// it) is updated, keeping its name and UUID; WPA to open drops the
// security setting.
func TestAddWifiUpdatesExisting(t *testing.T) {
	bus := sysbustest.Start(t)
	nm := bus.NetworkManager(sysbustest.Ethernet("10.0.0.7"))
	wired := nm.SaveConnection(map[string]map[string]any{
		"connection": {"id": "Wired connection 1", "uuid": "0b4c2a41-9f0c-4b57-8e3e-1d1f0f3a9c11", "type": "802-3-ethernet"},
	})
	const uuid = "6f1c7a2e-3b4d-4c5e-8f60-718293a4b5c6"
	mine := nm.SaveConnection(map[string]map[string]any{
		"connection":               {"id": "Home network", "uuid": uuid, "type": "802-11-wireless", "autoconnect": false},
		"802-11-wireless":          {"ssid": []byte("Kitchen"), "mode": "infrastructure"},
		"802-11-wireless-security": {"key-mgmt": "wpa-psk", "psk": "old passphrase"},
		"ipv4":                     {"method": "manual"},
	})
	b := connect(t, bus)
	if err := b.AddWifi(t.Context(), "Kitchen", ""); err != nil {
		t.Fatalf("AddWifi: %v", err)
	}
	saved := nm.Connections()
	if len(saved) != 2 || saved[0].Path != wired || saved[1].Path != mine {
		t.Fatalf("profiles %v, want the two made before", saved)
	}
	if got := checkProfile(t, saved[1], wantProfile("Home network", "Kitchen", "")); got != uuid {
		t.Errorf("UUID = %s, want %s kept", got, uuid)
	}
	if saved[0].Updates != 0 {
		t.Error("the wired profile was updated")
	}
}

func TestAddWifiInvalid(t *testing.T) {
	bus := sysbustest.Start(t)
	nm := bus.NetworkManager(nil)
	b := connect(t, bus)
	for _, tc := range []struct{ name, ssid, psk string }{
		{"no SSID", "", "passphrase"},
		{"SSID too long", strings.Repeat("x", 33), "passphrase"},
		{"passphrase too short", "Kitchen", "short"},
		{"passphrase too long", "Kitchen", strings.Repeat("p", 65)},
		{"64 characters not hex", "Kitchen", strings.Repeat("g", 64)},
		{"passphrase not ASCII", "Kitchen", "pässphrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := b.AddWifi(t.Context(), tc.ssid, tc.psk); !errors.Is(err, sysbus.ErrInvalidWifi) {
				t.Errorf("AddWifi(%q, %q) = %v, want ErrInvalidWifi", tc.ssid, tc.psk, err)
			}
		})
	}
	if err := b.AddWifi(t.Context(), "Kitchen", strings.Repeat("0123abcd", 8)); err != nil {
		t.Errorf("AddWifi with a 64-hex-digit key: %v", err)
	}
	if n := len(nm.Connections()); n != 1 {
		t.Errorf("%d profiles saved, want only the valid one", n)
	}
}

// TestAddWifiWithoutNetworkManager: no NetworkManager on the bus, one that
// left, one that hangs, a closed bus and no bus at all all give
// ErrNoNetworkManager, at once or within the deadline.
func TestAddWifiWithoutNetworkManager(t *testing.T) {
	bus := sysbustest.Start(t)
	b := connect(t, bus)
	start := time.Now()
	if err := b.AddWifi(t.Context(), "Kitchen", "correct horse battery"); !errors.Is(err, sysbus.ErrNoNetworkManager) {
		t.Errorf("AddWifi without NetworkManager = %v, want ErrNoNetworkManager", err)
	}
	if d := time.Since(start); d > hung {
		t.Errorf("AddWifi without NetworkManager took %v: hung", d)
	}

	nm := bus.NetworkManager(nil)
	nm.Close()
	if err := b.AddWifi(t.Context(), "Kitchen", "correct horse battery"); !errors.Is(err, sysbus.ErrNoNetworkManager) {
		t.Errorf("AddWifi after NetworkManager left = %v, want ErrNoNetworkManager", err)
	}

	var none sysbus.WifiSetup = sysbus.Unknown{}
	if err := none.AddWifi(t.Context(), "Kitchen", "correct horse battery"); !errors.Is(err, sysbus.ErrNoNetworkManager) {
		t.Errorf("Unknown.AddWifi = %v, want ErrNoNetworkManager", err)
	}

	closed, err := sysbus.Connect(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	_ = closed.Close()
	if err := closed.AddWifi(t.Context(), "Kitchen", "correct horse battery"); !errors.Is(err, sysbus.ErrNoNetworkManager) {
		t.Errorf("AddWifi on a closed bus = %v, want ErrNoNetworkManager", err)
	}
}

func TestAddWifiHangs(t *testing.T) {
	bus := sysbustest.Start(t)
	bus.Unresponsive("org.freedesktop.NetworkManager")
	b := connect(t, bus)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := b.AddWifi(ctx, "Kitchen", "correct horse battery")
	if !errors.Is(err, sysbus.ErrNoNetworkManager) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AddWifi to a hung NetworkManager = %v, want ErrNoNetworkManager and the deadline", err)
	}

	// Cancelled by the caller: that is not a missing NetworkManager.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if err := b.AddWifi(ctx, "Kitchen", "correct horse battery"); err == nil || errors.Is(err, sysbus.ErrNoNetworkManager) {
		t.Errorf("AddWifi with a cancelled context = %v, want context.Canceled alone", err)
	}
}

// TestSettingsStandIn: the stand-in refuses what NetworkManager refuses
// and hides secrets from GetSettings, so tests of AddWifi mean something.
func TestSettingsStandIn(t *testing.T) {
	bus := sysbustest.Start(t)
	nm := bus.NetworkManager(nil)
	conn := bus.Conn()
	settings := conn.Object("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager/Settings")
	good := sysbustest.Settings{
		"connection":               {"id": dbus.MakeVariant("K"), "uuid": dbus.MakeVariant("6f1c7a2e-3b4d-4c5e-8f60-718293a4b5c6"), "type": dbus.MakeVariant("802-11-wireless")},
		"802-11-wireless":          {"ssid": dbus.MakeVariant([]byte("K"))},
		"802-11-wireless-security": {"key-mgmt": dbus.MakeVariant("wpa-psk"), "psk": dbus.MakeVariant("12345678")},
	}
	var path dbus.ObjectPath
	if err := settings.Call("org.freedesktop.NetworkManager.Settings.AddConnection", 0, good).Store(&path); err != nil {
		t.Fatalf("AddConnection: %v", err)
	}
	if err := settings.Call("org.freedesktop.NetworkManager.Settings.AddConnection", 0, good).Err; err == nil {
		t.Error("AddConnection of the same UUID twice succeeded")
	}
	var got sysbustest.Settings
	if err := conn.Object("org.freedesktop.NetworkManager", path).Call("org.freedesktop.NetworkManager.Settings.Connection.GetSettings", 0).Store(&got); err != nil {
		t.Fatalf("GetSettings: %v", err)
	}
	if _, ok := got["802-11-wireless-security"]["psk"]; ok {
		t.Error("GetSettings returned the passphrase")
	}
	noSSID := sysbustest.Settings{"connection": good["connection"], "802-11-wireless": {}}
	if err := conn.Object("org.freedesktop.NetworkManager", path).Call("org.freedesktop.NetworkManager.Settings.Connection.Update", 0, noSSID).Err; err == nil {
		t.Error("Update without an SSID succeeded")
	}
	if n := len(nm.Connections()); n != 1 {
		t.Errorf("%d profiles, want 1", n)
	}
}
