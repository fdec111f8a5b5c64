package sysbus

import (
	"context"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// NetStatus is the device's primary network connection.
type NetStatus struct {
	// Interface is the kernel's name for the link ("wlan0", "eth0").
	Interface string
	// Type is "wifi", "ethernet", "bluetooth", "modem" or "other"; empty
	// when there is no connection.
	Type string
	// SSID is the Wi-Fi network's name (empty for other types).
	SSID string
	// Signal is the Wi-Fi signal strength in percent, -1 when unknown or
	// not Wi-Fi.
	Signal int
	// IP is the connection's first IPv4 address, without prefix.
	IP string
	// State is NetworkManager's overall state (see NMState.String).
	State string
}

func unknownStatus() NetStatus { return NetStatus{Signal: -1, State: NMStateUnknown.String()} }

// NMState is NetworkManager's overall state (NMState in NetworkManager's
// D-Bus API, the State property).
type NMState uint32

// The NM_STATE_* values.
const (
	NMStateUnknown         NMState = 0
	NMStateAsleep          NMState = 10
	NMStateDisconnected    NMState = 20
	NMStateDisconnecting   NMState = 30
	NMStateConnecting      NMState = 40
	NMStateConnectedLocal  NMState = 50 // a link, but no route out
	NMStateConnectedSite   NMState = 60 // a default route, but the internet did not answer
	NMStateConnectedGlobal NMState = 70 // the internet answered (or connectivity checks are off)
)

// String names the state: "connected" means global connectivity;
// "connected-site" and "connected-local" are the partial kinds.
func (s NMState) String() string {
	switch s {
	case NMStateUnknown:
		return "unknown"
	case NMStateAsleep:
		return "asleep"
	case NMStateDisconnected:
		return "disconnected"
	case NMStateDisconnecting:
		return "disconnecting"
	case NMStateConnecting:
		return "connecting"
	case NMStateConnectedLocal:
		return "connected-local"
	case NMStateConnectedSite:
		return "connected-site"
	case NMStateConnectedGlobal:
		return "connected"
	}
	return fmt.Sprintf("state-%d", uint32(s))
}

// NetworkManager's D-Bus API, only the parts Status reads:
//
//	/org/freedesktop/NetworkManager, org.freedesktop.NetworkManager:
//	  State (u), PrimaryConnection (o)
//	active connection, org.freedesktop.NetworkManager.Connection.Active:
//	  Devices (ao), Ip4Config (o), Type (s, only when the device has no known type)
//	device, org.freedesktop.NetworkManager.Device: Interface (s), DeviceType (u)
//	Wi-Fi device, org.freedesktop.NetworkManager.Device.Wireless: ActiveAccessPoint (o)
//	access point, org.freedesktop.NetworkManager.AccessPoint: Ssid (ay), Strength (y)
//	IPv4 configuration, org.freedesktop.NetworkManager.IP4Config: AddressData (aa{sv}), "address"
const (
	nmName        = "org.freedesktop.NetworkManager"
	nmPath        = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	nmActiveIface = nmName + ".Connection.Active"
	nmDevIface    = nmName + ".Device"
	nmWifiIface   = nmName + ".Device.Wireless"
	nmAPIface     = nmName + ".AccessPoint"
	nmIP4Iface    = nmName + ".IP4Config"
)

// NMDeviceType values (NetworkManager's NM_DEVICE_TYPE_*) that Status names.
const (
	nmDeviceEthernet  = 1
	nmDeviceWifi      = 2
	nmDeviceBluetooth = 5
	nmDeviceModem     = 8
)

func deviceType(t uint32) string {
	switch t {
	case nmDeviceEthernet:
		return "ethernet"
	case nmDeviceWifi:
		return "wifi"
	case nmDeviceBluetooth:
		return "bluetooth"
	case nmDeviceModem:
		return "modem"
	}
	return ""
}

// connectionType maps an active connection's Type (the connection
// profile's setting name) for a device whose DeviceType Status does not name.
func connectionType(t string) string {
	switch t {
	case "802-3-ethernet":
		return "ethernet"
	case "802-11-wireless":
		return "wifi"
	case "bluetooth":
		return "bluetooth"
	case "gsm", "cdma":
		return "modem"
	}
	return "other"
}

type networkManager struct{ conn *dbus.Conn }

// Status is known once NetworkManager answered State; a detail that it
// cannot read afterwards (an access point that just vanished) stays empty.
func (n networkManager) Status(ctx context.Context) (NetStatus, bool) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	state, err := property[uint32](ctx, n.conn, nmName, nmPath, nmName, "State")
	if err != nil {
		return unknownStatus(), false
	}
	st := NetStatus{Signal: -1, State: NMState(state).String()}
	ac, err := property[dbus.ObjectPath](ctx, n.conn, nmName, nmPath, nmName, "PrimaryConnection")
	if err != nil || !usablePath(ac) {
		return st, true
	}
	if ip4, err := property[dbus.ObjectPath](ctx, n.conn, nmName, ac, nmActiveIface, "Ip4Config"); err == nil {
		st.IP = n.firstIPv4(ctx, ip4)
	}
	if devs, err := property[[]dbus.ObjectPath](ctx, n.conn, nmName, ac, nmActiveIface, "Devices"); err == nil && len(devs) > 0 {
		n.device(ctx, devs[0], &st)
	}
	if st.Type == "" {
		if t, err := property[string](ctx, n.conn, nmName, ac, nmActiveIface, "Type"); err == nil {
			st.Type = connectionType(t)
		}
	}
	return st, true
}

// device fills in the interface, the type and, for Wi-Fi, the access point.
func (n networkManager) device(ctx context.Context, dev dbus.ObjectPath, st *NetStatus) {
	if name, err := property[string](ctx, n.conn, nmName, dev, nmDevIface, "Interface"); err == nil {
		st.Interface = name
	}
	dt, err := property[uint32](ctx, n.conn, nmName, dev, nmDevIface, "DeviceType")
	if err != nil {
		return
	}
	st.Type = deviceType(dt)
	if dt != nmDeviceWifi {
		return
	}
	ap, err := property[dbus.ObjectPath](ctx, n.conn, nmName, dev, nmWifiIface, "ActiveAccessPoint")
	if err != nil {
		return
	}
	if ssid, err := property[[]byte](ctx, n.conn, nmName, ap, nmAPIface, "Ssid"); err == nil {
		// An SSID is 0-32 arbitrary bytes, in practice UTF-8.
		st.SSID = strings.ToValidUTF8(string(ssid), "\uFFFD")
	}
	if s, err := property[byte](ctx, n.conn, nmName, ap, nmAPIface, "Strength"); err == nil {
		st.Signal = min(int(s), 100)
	}
}

func (n networkManager) firstIPv4(ctx context.Context, ip4 dbus.ObjectPath) string {
	addrs, err := property[[]map[string]dbus.Variant](ctx, n.conn, nmName, ip4, nmIP4Iface, "AddressData")
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if s, ok := a["address"].Value().(string); ok && s != "" {
			return s
		}
	}
	return ""
}
