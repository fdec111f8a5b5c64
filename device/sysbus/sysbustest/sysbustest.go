// Package sysbustest runs a private D-Bus "system" bus for tests, with
// stand-ins for the services hearthd uses: systemd-timedated and
// NetworkManager. The stand-ins hold properties, and NetworkManager's
// settings service keeps the connection profiles it is given in memory
// (settings.go); nothing a test does can change the machine's clock, time
// zone or network (FIELD-NOTES: never talk to the real timedated or
// NetworkManager from a test).
//
// A test of a separate process (hearthd end to end) passes Bus.Env() in the
// child's environment; the child's sysbus.Connect("") then finds this bus.
package sysbustest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Bus is a running private dbus-daemon.
type Bus struct {
	// Address is the bus's D-Bus address ("unix:path=...").
	Address string
	// Dir holds the bus's config, socket and log.
	Dir string
	t   testing.TB
	bin string
	cmd *exec.Cmd
}

// Start runs a dbus-daemon with a system-bus-like config for the life of
// the test. It skips the test when dbus-daemon is not installed, unless
// HEARTH_REQUIRE_DBUS is set (then it fails).
func Start(t testing.TB) *Bus {
	t.Helper()
	b := New(t)
	b.Start()
	return b
}

// New is a bus whose Address is fixed but whose dbus-daemon is not running
// yet (Start runs it): a device that boots before its bus. It skips the
// test as Start does.
func New(t testing.TB) *Bus {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv("HEARTH_REQUIRE_DBUS") != "" {
			t.Fatalf("dbus-daemon not found (%v); install Debian's dbus (.ci/deps.sh base)", err)
		}
		t.Skipf("dbus-daemon not found (%v): skipping the D-Bus tests (set HEARTH_REQUIRE_DBUS=1 to fail instead)", err)
	}
	// Not t.TempDir: a unix socket path must stay under 108 bytes, and
	// test names make those paths long.
	dir, err := os.MkdirTemp("", "hearth-dbus-")
	if err != nil {
		t.Fatalf("bus dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	b := &Bus{Dir: dir, t: t, bin: bin, Address: "unix:path=" + filepath.Join(dir, "system_bus_socket")}
	t.Cleanup(b.Stop)
	return b
}

// config is a "system" bus that lets every local user own any name and
// send anything: the stand-ins need to own the well-known names that the
// real system bus reserves for root.
const config = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`

// Start runs the dbus-daemon at Address (again, after Stop). Stand-ins
// from before a Stop are gone with their connections: make them again.
func (b *Bus) Start() {
	t := b.t
	t.Helper()
	if b.cmd != nil {
		t.Fatal("sysbustest: Start of a running bus")
	}
	sock := filepath.Join(b.Dir, "system_bus_socket")
	_ = os.Remove(sock)
	conf := filepath.Join(b.Dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, config, sock), 0o600); err != nil {
		t.Fatalf("write bus config: %v", err)
	}
	logf, err := os.OpenFile(filepath.Join(b.Dir, "bus.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("bus log: %v", err)
	}
	defer logf.Close()
	cmd := exec.Command(b.bin, "--config-file="+conf, "--nofork", "--nopidfile", "--nosyslog", "--print-address")
	// Its own process group, killed with its parent: an orphaned daemon
	// must not hold go test's output open (FIELD-NOTES, Mosquitto).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("dbus-daemon stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	b.cmd = cmd
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatalf("dbus-daemon printed no address: %s", b.Log())
		}
		// The printed address carries a guid; clients need only the path.
		if got, _, _ := strings.Cut(a, ",guid="); got != b.Address {
			t.Fatalf("dbus-daemon listens on %s, want %s", got, b.Address)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("dbus-daemon did not start within 10 s: %s", b.Log())
	}
}

// Stop stops the dbus-daemon, as systemd does when it restarts dbus: every
// connection to it closes. Start runs it again at the same address.
func (b *Bus) Stop() {
	if b.cmd == nil {
		return
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	b.cmd = nil
}

// Restart is Stop, then Start.
func (b *Bus) Restart() {
	b.t.Helper()
	b.Stop()
	b.Start()
}

// Env is the environment entry that points a child process's system bus
// here.
func (b *Bus) Env() string { return "DBUS_SYSTEM_BUS_ADDRESS=" + b.Address }

// Log returns dbus-daemon's output, for failure messages.
func (b *Bus) Log() string {
	data, _ := os.ReadFile(filepath.Join(b.Dir, "bus.log"))
	return string(data)
}

// Conn opens a connection to the bus, closed when the test ends.
func (b *Bus) Conn(opts ...dbus.ConnOption) *dbus.Conn {
	b.t.Helper()
	conn, err := dbus.Connect(b.Address, opts...)
	if err != nil {
		b.t.Fatalf("connect to test bus: %v", err)
	}
	b.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// own takes a well-known name on conn, after its objects are exported so
// that no client sees the name without them.
func (b *Bus) own(conn *dbus.Conn, name string) {
	b.t.Helper()
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		b.t.Fatalf("own %s: reply %v, %v", name, reply, err)
	}
}

// Unresponsive owns name on the bus and never answers a call to it: the
// service that hangs.
func (b *Bus) Unresponsive(name string) {
	b.t.Helper()
	release := make(chan struct{})
	conn := b.Conn(dbus.WithHandler(stuck(release)))
	b.t.Cleanup(func() { close(release) }) // runs before the conn's Close
	b.own(conn, name)
}

// stuck is a dbus.Handler that holds every incoming call until released.
type stuck chan struct{}

func (s stuck) LookupObject(dbus.ObjectPath) (dbus.ServerObject, bool) {
	<-s
	return nil, false
}

// TimeDated is a stand-in for systemd-timedated: org.freedesktop.timedate1
// with the properties NTPSynchronized, NTP and Timezone, and no methods.
type TimeDated struct {
	conn  *dbus.Conn
	props *prop.Properties
}

const timedate1 = "org.freedesktop.timedate1"

// TimeDated exports a timedated stand-in reporting synced.
func (b *Bus) TimeDated(synced bool) *TimeDated {
	b.t.Helper()
	conn := b.Conn()
	props, err := prop.Export(conn, "/org/freedesktop/timedate1", prop.Map{timedate1: {
		"NTPSynchronized": {Value: synced, Emit: prop.EmitTrue},
		"NTP":             {Value: true, Emit: prop.EmitTrue},
		"Timezone":        {Value: "Europe/London", Emit: prop.EmitTrue},
	}})
	if err != nil {
		b.t.Fatalf("export timedated: %v", err)
	}
	b.own(conn, timedate1)
	return &TimeDated{conn: conn, props: props}
}

// SetSynced changes NTPSynchronized.
func (d *TimeDated) SetSynced(synced bool) { d.props.SetMust(timedate1, "NTPSynchronized", synced) }

// Close takes the service off the bus, as if timedated exited.
func (d *TimeDated) Close() { _ = d.conn.Close() }

// Link is one network connection as the NetworkManager stand-in reports it.
type Link struct {
	Interface string
	// Type is "wifi" or "ethernet".
	Type string
	// SSID and Strength (0-100) are for "wifi".
	SSID     string
	Strength uint8
	// IP is the IPv4 address, "" for none.
	IP string
}

// Wifi is a Wi-Fi connection on wlan0.
func Wifi(ssid string, strength uint8, ip string) *Link {
	return &Link{Interface: "wlan0", Type: "wifi", SSID: ssid, Strength: strength, IP: ip}
}

// Ethernet is a wired connection on eth0.
func Ethernet(ip string) *Link { return &Link{Interface: "eth0", Type: "ethernet", IP: ip} }

// NM_STATE_* values that the stand-in sets by itself.
const (
	nmStateDisconnected    = 20
	nmStateConnectedGlobal = 70
)

// NetworkManager is a stand-in for NetworkManager: the manager object with
// State and PrimaryConnection, and for the primary connection an active
// connection, a device (with an access point for Wi-Fi) and an IPv4
// configuration, each with the properties NetworkManager's D-Bus API gives
// them; and the settings service with its saved connection profiles
// (settings.go), which only records what it is given.
type NetworkManager struct {
	t     testing.TB
	conn  *dbus.Conn
	root  *prop.Properties
	mu    sync.Mutex
	gen   int
	paths []dbus.ObjectPath
	// saved are the connection profiles of the settings service.
	saved []*savedConn
}

const (
	nm     = "org.freedesktop.NetworkManager"
	nmPath = dbus.ObjectPath("/org/freedesktop/NetworkManager")
)

// NetworkManager exports a NetworkManager stand-in whose primary connection
// is primary (nil: none, disconnected).
func (b *Bus) NetworkManager(primary *Link) *NetworkManager {
	b.t.Helper()
	m := &NetworkManager{t: b.t, conn: b.Conn()}
	root, err := prop.Export(m.conn, nmPath, prop.Map{nm: {
		"State":             {Value: uint32(nmStateDisconnected), Emit: prop.EmitTrue},
		"PrimaryConnection": {Value: dbus.ObjectPath("/"), Emit: prop.EmitTrue},
		"ActiveConnections": {Value: []dbus.ObjectPath{}, Emit: prop.EmitTrue},
		"Version":           {Value: "1.42.4", Emit: prop.EmitConst},
	}})
	if err != nil {
		b.t.Fatalf("export NetworkManager: %v", err)
	}
	m.root = root
	m.SetPrimary(primary)
	m.exportSettings()
	b.own(m.conn, nm)
	return m
}

// SetPrimary replaces the primary connection (nil: none) and sets State to
// connected (70) or disconnected (20). Objects get new paths, as
// NetworkManager's do when a connection comes up again.
func (m *NetworkManager) SetPrimary(l *Link) {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.paths
	m.paths = nil
	primary, state := dbus.ObjectPath("/"), uint32(nmStateDisconnected)
	active := []dbus.ObjectPath{}
	if l != nil {
		m.gen++
		primary, state = m.exportLink(l, m.gen), nmStateConnectedGlobal
		active = append(active, primary)
	}
	m.root.SetMust(nm, "PrimaryConnection", primary)
	m.root.SetMust(nm, "ActiveConnections", active)
	m.root.SetMust(nm, "State", state)
	for _, p := range old {
		_ = m.conn.Export(nil, p, "org.freedesktop.DBus.Properties")
	}
}

// SetState overrides NetworkManager's State (an NM_STATE_* value).
func (m *NetworkManager) SetState(state uint32) { m.root.SetMust(nm, "State", state) }

// Close takes the service off the bus, as if NetworkManager exited.
func (m *NetworkManager) Close() { _ = m.conn.Close() }

// exportLink exports the objects of one active connection and returns the
// active connection's path.
func (m *NetworkManager) exportLink(l *Link, gen int) dbus.ObjectPath {
	obj := func(kind string) dbus.ObjectPath {
		return dbus.ObjectPath(fmt.Sprintf("%s/%s/%d", nmPath, kind, gen))
	}
	ac, dev, ap, ip4 := obj("ActiveConnection"), obj("Devices"), obj("AccessPoint"), obj("IP4Config")
	ip4Path := dbus.ObjectPath("/")
	if l.IP != "" {
		ip4Path = ip4
		prefix := uint32(24)
		m.export(ip4, prop.Map{nm + ".IP4Config": {
			"AddressData": {Value: []map[string]dbus.Variant{{
				"address": dbus.MakeVariant(l.IP), "prefix": dbus.MakeVariant(prefix),
			}}},
			"Gateway": {Value: gateway(l.IP)},
		}})
	}
	connType, id, devType := "802-3-ethernet", "Wired connection 1", uint32(1)
	devProps := prop.Map{}
	if l.Type == "wifi" {
		connType, id, devType = "802-11-wireless", l.SSID, 2
		m.export(ap, prop.Map{nm + ".AccessPoint": {
			"Ssid":      {Value: []byte(l.SSID)},
			"Strength":  {Value: l.Strength, Emit: prop.EmitTrue},
			"Frequency": {Value: uint32(2437)},
		}})
		devProps[nm+".Device.Wireless"] = map[string]*prop.Prop{"ActiveAccessPoint": {Value: ap}}
	}
	devProps[nm+".Device"] = map[string]*prop.Prop{
		"Interface":  {Value: l.Interface},
		"DeviceType": {Value: devType},
		"State":      {Value: uint32(100)}, // NM_DEVICE_STATE_ACTIVATED
		"Ip4Config":  {Value: ip4Path},
	}
	m.export(dev, devProps)
	m.export(ac, prop.Map{nm + ".Connection.Active": {
		"Id":        {Value: id},
		"Type":      {Value: connType},
		"Devices":   {Value: []dbus.ObjectPath{dev}},
		"Ip4Config": {Value: ip4Path},
		"State":     {Value: uint32(2)}, // NM_ACTIVE_CONNECTION_STATE_ACTIVATED
		"Default":   {Value: true},
	}})
	return ac
}

func (m *NetworkManager) export(path dbus.ObjectPath, props prop.Map) {
	m.t.Helper()
	if _, err := prop.Export(m.conn, path, props); err != nil {
		m.t.Fatalf("export %s: %v", path, err)
	}
	m.paths = append(m.paths, path)
}

// gateway makes up a plausible router address in ip's /24.
func gateway(ip string) string {
	a := net.ParseIP(ip).To4()
	if a == nil {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.1", a[0], a[1], a[2])
}
