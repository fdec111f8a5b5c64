package sysbustest

import (
	"fmt"
	"maps"
	"regexp"

	"github.com/godbus/dbus/v5"
)

// NetworkManager's settings service, as the stand-in offers it:
//
//	/org/freedesktop/NetworkManager/Settings, org.freedesktop.NetworkManager.Settings:
//	  ListConnections() -> ao; AddConnection(a{sa{sv}}) -> o
//	/org/freedesktop/NetworkManager/Settings/N, org.freedesktop.NetworkManager.Settings.Connection:
//	  GetSettings() -> a{sa{sv}} (secrets left out, as NetworkManager does);
//	  Update(a{sa{sv}}); Delete()
//
// It checks what NetworkManager would refuse (a profile without id, type or
// UUID, a UUID twice, a Wi-Fi profile without an SSID, a WPA passphrase of
// the wrong length) and otherwise only records the profiles in memory.
const (
	nmSettingsPath  = nmPath + "/Settings"
	nmSettingsIface = nm + ".Settings"
	nmConnIface     = nm + ".Settings.Connection"
	// Error names of NetworkManager's NM_SETTINGS_ERROR domain.
	errInvalidConnection = nmSettingsIface + ".InvalidConnection"
	errUUIDExists        = nmSettingsIface + ".UuidExists"
	errInvalidArguments  = nmSettingsIface + ".InvalidArguments"
)

// Settings is a connection profile: setting name -> property -> value.
type Settings = map[string]map[string]dbus.Variant

// SavedConnection is a profile the stand-in holds.
type SavedConnection struct {
	Path dbus.ObjectPath
	// Settings are as last added or updated, secrets included.
	Settings Settings
	// Updates counts the Update calls that replaced them.
	Updates int
}

type savedConn struct {
	path     dbus.ObjectPath
	settings Settings
	updates  int
	deleted  bool
}

// Connections returns copies of the saved profiles, oldest first.
func (m *NetworkManager) Connections() []SavedConnection {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []SavedConnection
	for _, c := range m.saved {
		if !c.deleted {
			out = append(out, SavedConnection{Path: c.path, Settings: copySettings(c.settings, true), Updates: c.updates})
		}
	}
	return out
}

// SaveConnection adds a profile as if someone had made it before (an
// installer with nmcli, an image's keyfile). Values are made into variants.
func (m *NetworkManager) SaveConnection(settings map[string]map[string]any) dbus.ObjectPath {
	m.t.Helper()
	s := Settings{}
	for name, props := range settings {
		s[name] = map[string]dbus.Variant{}
		for k, v := range props {
			s[name][k] = dbus.MakeVariant(v)
		}
	}
	p, derr := m.add(s)
	if derr != nil {
		m.t.Fatalf("SaveConnection: %v", derr)
	}
	return p
}

func (m *NetworkManager) exportSettings() {
	m.t.Helper()
	if err := m.conn.Export(nmSettings{m}, nmSettingsPath, nmSettingsIface); err != nil {
		m.t.Fatalf("export %s: %v", nmSettingsPath, err)
	}
}

// nmSettings is the exported Settings object.
type nmSettings struct{ m *NetworkManager }

func (s nmSettings) ListConnections() ([]dbus.ObjectPath, *dbus.Error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	out := []dbus.ObjectPath{}
	for _, c := range s.m.saved {
		if !c.deleted {
			out = append(out, c.path)
		}
	}
	return out, nil
}

func (s nmSettings) AddConnection(settings Settings) (dbus.ObjectPath, *dbus.Error) {
	return s.m.add(settings)
}

func (m *NetworkManager) add(settings Settings) (dbus.ObjectPath, *dbus.Error) {
	if derr := checkSettings(settings); derr != nil {
		return "", derr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	uuid := settings["connection"]["uuid"].Value().(string)
	for _, c := range m.saved {
		if !c.deleted && c.settings["connection"]["uuid"].Value() == uuid {
			return "", dbus.NewError(errUUIDExists, []any{"a connection with UUID " + uuid + " already exists"})
		}
	}
	c := &savedConn{path: dbus.ObjectPath(fmt.Sprintf("%s/%d", nmSettingsPath, len(m.saved)+1)), settings: copySettings(settings, true)}
	if err := m.conn.Export(nmConn{m, c}, c.path, nmConnIface); err != nil {
		return "", dbus.MakeFailedError(err)
	}
	m.saved = append(m.saved, c)
	return c.path, nil
}

// nmConn is one exported Settings.Connection object.
type nmConn struct {
	m *NetworkManager
	c *savedConn
}

func (o nmConn) GetSettings() (Settings, *dbus.Error) {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	if o.c.deleted {
		return nil, dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{"no such connection"})
	}
	return copySettings(o.c.settings, false), nil
}

func (o nmConn) Update(settings Settings) *dbus.Error {
	if derr := checkSettings(settings); derr != nil {
		return derr
	}
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	if o.c.deleted {
		return dbus.NewError("org.freedesktop.DBus.Error.UnknownObject", []any{"no such connection"})
	}
	if settings["connection"]["uuid"].Value() != o.c.settings["connection"]["uuid"].Value() {
		return dbus.NewError(errInvalidConnection, []any{"connection.uuid: cannot be changed"})
	}
	o.c.settings = copySettings(settings, true)
	o.c.updates++
	return nil
}

func (o nmConn) Delete() *dbus.Error {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	o.c.deleted = true
	_ = o.m.conn.Export(nil, o.c.path, nmConnIface)
	return nil
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkSettings refuses what NetworkManager would refuse of a profile.
func checkSettings(s Settings) *dbus.Error {
	invalid := func(format string, a ...any) *dbus.Error {
		return dbus.NewError(errInvalidConnection, []any{fmt.Sprintf(format, a...)})
	}
	str := func(setting, name string) (string, bool) {
		v, ok := s[setting][name].Value().(string)
		return v, ok
	}
	if id, ok := str("connection", "id"); !ok || id == "" {
		return invalid("connection.id: property is missing")
	}
	if u, ok := str("connection", "uuid"); !ok || !uuidRE.MatchString(u) {
		return invalid("connection.uuid: property is missing or not a UUID")
	}
	typ, ok := str("connection", "type")
	if !ok || typ == "" {
		return invalid("connection.type: property is missing")
	}
	if _, ok := s["connection"]["autoconnect"]; ok {
		if _, ok := s["connection"]["autoconnect"].Value().(bool); !ok {
			return dbus.NewError(errInvalidArguments, []any{"connection.autoconnect: not a boolean"})
		}
	}
	if typ != "802-11-wireless" {
		return nil
	}
	ssid, ok := s["802-11-wireless"]["ssid"].Value().([]byte)
	if !ok || len(ssid) < 1 || len(ssid) > 32 {
		return invalid("802-11-wireless.ssid: property is missing or not 1 to 32 bytes")
	}
	if mode, ok := str("802-11-wireless", "mode"); ok && mode != "infrastructure" && mode != "adhoc" && mode != "ap" && mode != "mesh" {
		return invalid("802-11-wireless.mode: %q is not a mode", mode)
	}
	sec, ok := s["802-11-wireless-security"]
	if !ok {
		return nil
	}
	km, _ := sec["key-mgmt"].Value().(string)
	if km == "" {
		return invalid("802-11-wireless-security.key-mgmt: property is missing")
	}
	if km == "wpa-psk" {
		if psk, ok := sec["psk"].Value().(string); ok && !(len(psk) >= 8 && len(psk) <= 63 || len(psk) == 64) {
			return invalid("802-11-wireless-security.psk: property is invalid")
		}
	}
	return nil
}

// copySettings copies a profile; without secrets it leaves out the
// passphrases, as GetSettings does.
func copySettings(s Settings, secrets bool) Settings {
	out := Settings{}
	for name, props := range s {
		p := maps.Clone(props)
		if !secrets {
			delete(p, "psk")
			delete(p, "wep-key0")
			delete(p, "password")
		}
		out[name] = p
	}
	return out
}
