package sysbus_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/device/sysbus/sysbustest"
)

// hung is how long an answer may take before a test calls it hung: these
// tests check that deadlines end waits, not how fast anything is.
const hung = 10 * time.Second

func connect(t *testing.T, bus *sysbustest.Bus) *sysbus.Bus {
	t.Helper()
	b, err := sysbus.Connect(bus.Address)
	if err != nil {
		t.Fatalf("Connect(%s): %v", bus.Address, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestTimeSync(t *testing.T) {
	bus := sysbustest.Start(t)
	td := bus.TimeDated(true)
	ts := connect(t, bus).TimeSync()
	ctx := t.Context()
	if synced, known := ts.Synchronized(ctx); !synced || !known {
		t.Fatalf("Synchronized = %v, %v, want true, true", synced, known)
	}
	td.SetSynced(false)
	if synced, known := ts.Synchronized(ctx); synced || !known {
		t.Fatalf("Synchronized after SetSynced(false) = %v, %v, want false, true", synced, known)
	}
	td.Close()
	if synced, known := ts.Synchronized(ctx); synced || known {
		t.Fatalf("Synchronized after timedated left = %v, %v, want false, false", synced, known)
	}
}

func TestNetworkStatus(t *testing.T) {
	bus := sysbustest.Start(t)
	nm := bus.NetworkManager(nil)
	net := connect(t, bus).Network()
	for _, tc := range []struct {
		name string
		link *sysbustest.Link
		want sysbus.NetStatus
	}{
		{"wifi", sysbustest.Wifi("Kitchen", 62, "192.168.1.23"),
			sysbus.NetStatus{Interface: "wlan0", Type: "wifi", SSID: "Kitchen", Signal: 62, IP: "192.168.1.23", State: "connected"}},
		{"ethernet", sysbustest.Ethernet("10.0.0.7"),
			sysbus.NetStatus{Interface: "eth0", Type: "ethernet", Signal: -1, IP: "10.0.0.7", State: "connected"}},
		{"wifi without address", &sysbustest.Link{Interface: "wlan1", Type: "wifi", SSID: "Caf\xe9", Strength: 100},
			sysbus.NetStatus{Interface: "wlan1", Type: "wifi", SSID: "Caf\uFFFD", Signal: 100, State: "connected"}},
		{"none", nil, sysbus.NetStatus{Signal: -1, State: "disconnected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nm.SetPrimary(tc.link)
			got, known := net.Status(t.Context())
			if !known || got != tc.want {
				t.Errorf("Status = %+v, %v\nwant %+v, true", got, known, tc.want)
			}
		})
	}

	nm.SetPrimary(sysbustest.Ethernet("10.0.0.7"))
	nm.SetState(60)
	if got, known := net.Status(t.Context()); !known || got.State != "connected-site" || got.IP != "10.0.0.7" {
		t.Errorf("Status with State 60 = %+v, %v, want connected-site on 10.0.0.7", got, known)
	}
	nm.Close()
	got, known := net.Status(t.Context())
	if want := (sysbus.NetStatus{Signal: -1, State: "unknown"}); known || got != want {
		t.Errorf("Status after NetworkManager left = %+v, %v, want %+v, false", got, known, want)
	}
}

// A bus without the services answers at once: the bus itself says the
// names have no owner.
func TestNoServices(t *testing.T) {
	bus := sysbustest.Start(t)
	b := connect(t, bus)
	start := time.Now()
	if synced, known := b.TimeSync().Synchronized(t.Context()); synced || known {
		t.Errorf("Synchronized = %v, %v, want false, false", synced, known)
	}
	if st, known := b.Network().Status(t.Context()); known || st.Signal != -1 || st.State != "unknown" {
		t.Errorf("Status = %+v, %v, want unknown", st, known)
	}
	if d := time.Since(start); d > hung {
		t.Errorf("answering without services took %v: hung", d)
	}
}

// A service that owns its name but never answers costs at most the
// caller's deadline (or CallTimeout).
func TestServiceHangs(t *testing.T) {
	bus := sysbustest.Start(t)
	bus.Unresponsive("org.freedesktop.timedate1")
	bus.Unresponsive("org.freedesktop.NetworkManager")
	b := connect(t, bus)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if synced, known := b.TimeSync().Synchronized(ctx); synced || known {
		t.Errorf("Synchronized = %v, %v, want false, false", synced, known)
	}
	if d := time.Since(start); d >= sysbus.CallTimeout {
		t.Errorf("Synchronized of a hung service took %v: the caller's 200 ms deadline was not honoured (CallTimeout %v fired instead)", d, sysbus.CallTimeout)
	}
	start = time.Now()
	if _, known := b.Network().Status(t.Context()); known {
		t.Error("Status of a hung service is known")
	}
	if d := time.Since(start); d < sysbus.CallTimeout-100*time.Millisecond || d > sysbus.CallTimeout+hung {
		t.Errorf("Status of a hung service took %v, want CallTimeout (%v) to end it", d, sysbus.CallTimeout)
	}
}

func TestConnectWithoutBus(t *testing.T) {
	addr := "unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	start := time.Now()
	if b, err := sysbus.Connect(addr); err == nil {
		b.Close()
		t.Fatalf("Connect(%s) succeeded, want an error", addr)
	}
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	b, err := sysbus.Connect("")
	if err == nil {
		b.Close()
		t.Fatal(`Connect("") ignored DBUS_SYSTEM_BUS_ADDRESS`)
	}
	if !strings.Contains(err.Error(), "no-bus") {
		t.Errorf(`Connect("") = %v, want an error naming DBUS_SYSTEM_BUS_ADDRESS's socket`, err)
	}
	if d := time.Since(start); d > hung {
		t.Errorf("Connect without a bus took %v: hung", d)
	}
}

// A socket that accepts and never speaks D-Bus must not hang Connect.
func TestConnectSilentSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "silent")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	b, err := sysbus.ConnectContext(ctx, "unix:path="+sock)
	if err == nil {
		b.Close()
		t.Fatal("ConnectContext to a silent socket succeeded")
	}
	if d := time.Since(start); d > hung {
		t.Errorf("ConnectContext to a silent socket took %v (%v): its 300 ms deadline was not honoured", d, err)
	}
}

func TestClosedBusIsUnknown(t *testing.T) {
	bus := sysbustest.Start(t)
	bus.TimeDated(true)
	b, err := sysbus.Connect(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	ts := b.TimeSync()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, known := ts.Synchronized(t.Context()); known {
		t.Error("Synchronized on a closed bus is known")
	}
}

func TestUnknown(t *testing.T) {
	var ts sysbus.TimeSync = sysbus.Unknown{}
	var nw sysbus.Network = sysbus.Unknown{}
	if synced, known := ts.Synchronized(t.Context()); synced || known {
		t.Errorf("Unknown.Synchronized = %v, %v, want false, false", synced, known)
	}
	if st, known := nw.Status(t.Context()); known || st.Signal != -1 || st.State != "unknown" {
		t.Errorf("Unknown.Status = %+v, %v, want unknown", st, known)
	}
}

func TestNMStateString(t *testing.T) {
	for _, tc := range []struct {
		s    sysbus.NMState
		want string
	}{
		{sysbus.NMStateUnknown, "unknown"},
		{sysbus.NMStateAsleep, "asleep"},
		{sysbus.NMStateDisconnected, "disconnected"},
		{sysbus.NMStateDisconnecting, "disconnecting"},
		{sysbus.NMStateConnecting, "connecting"},
		{sysbus.NMStateConnectedLocal, "connected-local"},
		{sysbus.NMStateConnectedSite, "connected-site"},
		{sysbus.NMStateConnectedGlobal, "connected"},
		{sysbus.NMState(45), "state-45"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("NMState(%d).String() = %q, want %q", uint32(tc.s), got, tc.want)
		}
	}
}
