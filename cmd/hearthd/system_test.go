package main

import (
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/device/sysbus/sysbustest"
	"github.com/hearth-home/hearth/sync/proto"
)

// hearthd starts before the system bus, the bus comes up, then dbus-daemon
// restarts: the heartbeat goes from null to the services' values, and to
// the new values after the restart, and the log says once that the bus was
// missing, lost and back.
func TestHeartbeatAcrossSystemBusRestart(t *testing.T) {
	needBinaries(t)
	bus := sysbustest.New(t)
	b, _, args := headlessSetup(t)
	d := startDaemon(t, []string{bus.Env()}, append(args, "--heartbeat", "1s")...)
	d.waitLog("connected to broker", 10*time.Second)
	heartbeat := func() proto.Heartbeat {
		return retainedJSON[proto.Heartbeat](t, b.URL(), proto.HeartbeatTopic("mum-kitchen"))
	}
	if hb := heartbeat(); hb.TimeSynced != nil || hb.Network != nil {
		t.Fatalf("without a bus: time_synced %v network %+v, want null", hb.TimeSynced, hb.Network)
	}

	// Generous: the daemon waits out its backoff (at most MaxBackoff)
	// before it knocks again.
	within := 3*sysbus.MaxBackoff + 30*time.Second
	bus.Start()
	bus.TimeDated(true)
	bus.NetworkManager(sysbustest.Wifi("Kitchen", 62, "192.168.1.23"))
	waitFor(t, within, "the heartbeat through the bus that came up", func() bool {
		hb := heartbeat()
		return hb.TimeSynced != nil && *hb.TimeSynced && hb.Network != nil && hb.Network.SSID == "Kitchen"
	})

	bus.Restart()
	bus.TimeDated(false)
	bus.NetworkManager(sysbustest.Ethernet("10.0.0.7"))
	waitFor(t, within, "the heartbeat through the restarted bus", func() bool {
		hb := heartbeat()
		return hb.TimeSynced != nil && !*hb.TimeSynced && hb.Network != nil && hb.Network.IP == "10.0.0.7"
	})
	if !d.running() {
		t.Fatal("hearthd exited")
	}
	log := d.log.String()
	for _, tc := range []struct {
		line string
		want int
	}{{"no system bus", 1}, {"system bus lost", 1}, {"system bus back", 2}} {
		if got := strings.Count(log, tc.line); got != tc.want {
			t.Errorf("%q logged %d times, want %d", tc.line, got, tc.want)
		}
	}
	d.stop()
}
