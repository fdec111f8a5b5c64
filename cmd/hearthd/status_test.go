package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/sysbus/sysbustest"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// stateNow reads the retained lifecycle state.
func stateNow(t *testing.T, broker, device string) (proto.State, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hsync.Dial(ctx, broker, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs, err := c.Retained(ctx, proto.StateTopic(device), 150*time.Millisecond)
	if err != nil || msgs[proto.StateTopic(device)] == nil {
		return proto.State{}, false
	}
	s, err := proto.DecodeState(msgs[proto.StateTopic(device)])
	return s, err == nil
}

func waitState(t *testing.T, broker, device string, within time.Duration, ok func(proto.State) bool) proto.State {
	t.Helper()
	var s proto.State
	waitFor(t, within, "state", func() bool {
		var got bool
		s, got = stateNow(t, broker, device)
		return got && ok(s)
	})
	return s
}

func TestLifecycle(t *testing.T) {
	b, _, args := headlessSetup(t)
	args = append(args, "--keepalive", "2s", "--heartbeat", "2s")
	d := startConnected(t, args)
	s1 := waitState(t, b.URL(), "mum-kitchen", 10*time.Second, func(s proto.State) bool { return s.State == proto.LifeReady })
	if s1.Session == 0 || s1.Version == "" {
		t.Fatalf("ready without session or version: %+v", s1)
	}
	d.stop()
	waitState(t, b.URL(), "mum-kitchen", 5*time.Second, func(s proto.State) bool {
		return s.State == proto.LifeDisconnected && s.Session == s1.Session
	})

	d = startConnected(t, args)
	s2 := waitState(t, b.URL(), "mum-kitchen", 10*time.Second, func(s proto.State) bool { return s.State == proto.LifeReady })
	if s2.Session <= s1.Session {
		t.Fatalf("session %d after %d", s2.Session, s1.Session)
	}
	killed := time.Now()
	d.kill()
	// The Will: within 1.5 x keepalive + 1 s (the kernel closes the socket,
	// so it is usually at once).
	waitState(t, b.URL(), "mum-kitchen", 4*time.Second, func(s proto.State) bool {
		return s.State == proto.LifeLost && s.Session == s2.Session
	})
	t.Logf("lost %s after SIGKILL", time.Since(killed).Round(time.Millisecond))
	if r := fleet(t, b.URL(), "mum-kitchen"); r.State != "lost" || r.Session != s2.Session {
		t.Fatalf("fleet after SIGKILL: %+v", r)
	}

	d = startConnected(t, args)
	s3 := waitState(t, b.URL(), "mum-kitchen", 10*time.Second, func(s proto.State) bool { return s.State == proto.LifeReady })
	if s3.Session <= s2.Session {
		t.Fatalf("session %d after %d", s3.Session, s2.Session)
	}
	// A late Will from the killed session lands on the retained state: the
	// live device puts its own state back.
	late, _ := json.Marshal(proto.State{V: 1, Device: "mum-kitchen", State: proto.LifeLost, Session: s2.Session})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := hsync.Dial(ctx, b.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, proto.StateTopic("mum-kitchen"), late, true); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitState(t, b.URL(), "mum-kitchen", 5*time.Second, func(s proto.State) bool {
		return s.State == proto.LifeReady && s.Session == s3.Session
	})
	d.waitLog("state topic overwritten", time.Second)
	waitFor(t, 10*time.Second, "the fleet view to show the live device", func() bool {
		r := fleet(t, b.URL(), "mum-kitchen")
		return r.State == "ready" && r.Session == s3.Session && !r.Stale && r.Version != ""
	})
	d.stop()
}

// activities reads the device's activity log with hearthctl activity.
func activities(t *testing.T, broker, device string) []proto.Activity {
	t.Helper()
	var out []proto.Activity
	if err := json.Unmarshal([]byte(ctl(t, broker, "activity", device, "--json")), &out); err != nil {
		t.Fatalf("hearthctl activity --json: %v", err)
	}
	return out
}

// waitActivity waits for an activity of type typ whose reason contains
// reason, as hearthctl activity reads it, and returns it.
func waitActivity(t *testing.T, broker, device, typ, reason string, within time.Duration) proto.Activity {
	t.Helper()
	var found proto.Activity
	waitFor(t, within, fmt.Sprintf("a %s activity about %q", typ, reason), func() bool {
		for _, a := range activities(t, broker, device) {
			if a.Type == typ && strings.Contains(a.Reason, reason) {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

// fleetRow is the part of hearthctl fleet --json the tests read.
type fleetRow struct {
	DeviceID string   `json:"device_id"`
	State    string   `json:"state"`
	Session  uint64   `json:"session"`
	Age      *float64 `json:"heartbeat_age_s"`
	Stale    bool     `json:"stale"`
	Version  string   `json:"version"`
}

func fleet(t *testing.T, broker, device string) fleetRow {
	t.Helper()
	var rows []fleetRow
	if err := json.Unmarshal([]byte(ctl(t, broker, "fleet", "--json")), &rows); err != nil {
		t.Fatalf("hearthctl fleet --json: %v", err)
	}
	for _, r := range rows {
		if r.DeviceID == device {
			return r
		}
	}
	t.Fatalf("%s not in the fleet: %+v", device, rows)
	return fleetRow{}
}

func TestActivityAcrossABrokerRestart(t *testing.T) {
	b, _, args := headlessSetup(t)
	args = append(args, "--keepalive", "2s")
	d := startConnected(t, args)
	// m-brief's window must outlast two hearthctl runs and its showing,
	// and end while the broker is away.
	until := time.Now().Add(12 * time.Second).Format(time.RFC3339)
	ctl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--until", until, "--id", "m-brief", "Back in a minute")
	ctl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--days", "1", "--id", "m-long", "Coffee on Tuesday")
	// A headless device sends no item_shown (nobody saw anything): its
	// log says when both are in the carousel.
	waitFor(t, 10*time.Second, "both in the carousel", func() bool {
		return strings.Contains(d.log.String(), "slides=2")
	})
	b.Stop()
	mark := len(d.log.String())
	d.waitLog("broker link down", 10*time.Second)
	// The carousel drops m-brief when its window ends, with the broker
	// still away (it is started again only after).
	waitFor(t, 30*time.Second, "m-brief's window to end offline", func() bool {
		return strings.Contains(d.log.String()[mark:], "slides=1 ids=[m-long]")
	})
	b.Restart()
	waitState(t, b.URL(), "mum-kitchen", 40*time.Second, func(s proto.State) bool { return s.State == proto.LifeReady })
	var acts []proto.Activity
	waitFor(t, 10*time.Second, "the expiry logged offline", func() bool {
		acts = activities(t, b.URL(), "mum-kitchen")
		return slices.ContainsFunc(acts, func(a proto.Activity) bool { return a.Type == "item_expired" && a.Item == "m-brief" })
	})
	// hearthctl drops copies of one event (by id); the device must not
	// have logged one thing twice under two ids either.
	count := map[string]int{}
	var kinds []string
	for _, a := range acts {
		count[a.Type+":"+a.Item]++
		kinds = append(kinds, a.Type+":"+a.Item)
	}
	for kind, n := range count {
		if n != 1 && strings.HasPrefix(kind, "item_") {
			t.Fatalf("%s logged %d times: %v", kind, n, kinds)
		}
	}
	for _, want := range []string{"item_expired:m-brief"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("activity lacks %s: %v", want, kinds)
		}
	}
	if slices.ContainsFunc(kinds, func(k string) bool { return strings.HasPrefix(k, "item_shown:") }) {
		t.Errorf("a headless device sent item_shown: %v", kinds)
	}
	d.stop()
}

func TestHeartbeatWithAndWithoutSystemServices(t *testing.T) {
	needBinaries(t)
	bus := sysbustest.Start(t)
	bus.TimeDated(true)
	bus.NetworkManager(sysbustest.Wifi("Kitchen", 62, "192.168.1.23"))
	b, data, args := headlessSetup(t)
	_ = data
	d := startDaemon(t, []string{bus.Env()}, append(args, "--heartbeat", "1s")...)
	d.waitLog("connected to broker", 10*time.Second)
	hb := retainedJSON[proto.Heartbeat](t, b.URL(), proto.HeartbeatTopic("mum-kitchen"))
	if hb.TimeSynced == nil || !*hb.TimeSynced {
		t.Errorf("time_synced = %v, want true", hb.TimeSynced)
	}
	if n := hb.Network; n == nil || n.SSID != "Kitchen" || n.Signal == nil || *n.Signal != 62 || n.IP != "192.168.1.23" || n.Interface == "" {
		t.Errorf("network = %+v", hb.Network)
	}
	if hb.Session == 0 || hb.IntervalS != 1 || hb.Version == "" || hb.Storage.Free == 0 || hb.MemoryRSS == 0 || hb.Restarts == 0 || hb.Boots == 0 {
		t.Errorf("heartbeat %+v", hb)
	}
	if hb.Availability != "not_provisioned" {
		t.Errorf("availability %q, want not_provisioned (no organisation key)", hb.Availability)
	}
	// What the binary was built from: the toolchain and platform at least.
	if !strings.HasPrefix(hb.Build, "go1.") || !strings.Contains(hb.Build, runtime.GOOS+"/"+runtime.GOARCH) {
		t.Errorf("build %q, want the Go version and the platform", hb.Build)
	}
	if hb.Display != "none" {
		t.Errorf("display %q for a headless device, want none", hb.Display)
	}
	d.stop()

	// No system bus at all: unknown, and the daemon runs on.
	d = startDaemon(t, []string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bus"}, append(args, "--heartbeat", "1s")...)
	d.waitLog("connected to broker", 10*time.Second)
	waitFor(t, 10*time.Second, "a heartbeat of the new session", func() bool {
		h := retainedJSON[proto.Heartbeat](t, b.URL(), proto.HeartbeatTopic("mum-kitchen"))
		if h.Session <= hb.Session {
			return false
		}
		if h.TimeSynced != nil || h.Network != nil {
			t.Fatalf("without D-Bus: time_synced %v network %+v, want null", h.TimeSynced, h.Network)
		}
		if !strings.Contains(h.LastExit, "stopped") {
			t.Fatalf("last exit %q, want stopped", h.LastExit)
		}
		return true
	})
	if !d.running() {
		t.Fatal("hearthd exited without D-Bus")
	}
	d.stop()
}
