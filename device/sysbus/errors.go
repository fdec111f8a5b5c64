package sysbus

import "errors"

// ErrNoNetworkManager is returned by AddWifi when NetworkManager is not on
// the bus (not installed, not running, the bus closed) or did not answer in
// time. The device then keeps the network it has; the caller reports it.
var ErrNoNetworkManager = errors.New("NetworkManager is not available")

// ErrInvalidWifi is returned by AddWifi for an SSID or passphrase that no
// Wi-Fi network can have; nothing is sent to NetworkManager.
var ErrInvalidWifi = errors.New("invalid Wi-Fi settings")
