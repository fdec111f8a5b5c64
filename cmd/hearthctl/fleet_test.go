package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

func ptr[T any](v T) *T { return &v }

func TestMergeFleetLateLost(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	hb := proto.Heartbeat{V: 1, Device: "d", Session: 4, Time: t0.Add(-10 * time.Second), IntervalS: 60, TimeSynced: ptr(true)}
	for _, tc := range []struct {
		name        string
		lostSession uint64
		wantState   string
		wantSession uint64
		wantLate    uint64
	}{
		{"lost from an older session is late", 3, "ready", 4, 3},
		{"lost from a newer session stands", 5, "lost", 5, 0},
		{"lost from the heartbeat's session stands", 4, "lost", 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newFleetStatus()
			st.States["d"] = proto.State{V: 1, Device: "d", State: proto.LifeLost, Session: tc.lostSession, Time: t0.Add(-time.Hour)}
			st.Heartbeats["d"] = hb
			rows := mergeFleet(st, t0, staleRule{Intervals: 2})
			if len(rows) != 1 {
				t.Fatalf("mergeFleet = %d rows, want 1", len(rows))
			}
			r := rows[0]
			if r.State != tc.wantState || r.Session != tc.wantSession || r.LateLost != tc.wantLate {
				t.Errorf("mergeFleet = state %s session %d late %d, want %s %d %d", r.State, r.Session, r.LateLost,
					tc.wantState, tc.wantSession, tc.wantLate)
			}
		})
	}
}

func TestMergeFleetOrderAndFields(t *testing.T) {
	now := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	st := newFleetStatus()
	state := func(id string, l proto.Lifecycle) {
		st.States[id] = proto.State{V: 1, Device: id, State: l, Session: 7, Time: now.Add(-time.Hour), Version: "1.0"}
	}
	beat := func(id string, age time.Duration, synced *bool) {
		st.Heartbeats[id] = proto.Heartbeat{V: 1, Device: id, Session: 7, Time: now.Add(-age), IntervalS: 60,
			TimeSynced: synced, Version: "1.1", Network: &proto.Net{SSID: "home", Interface: "wlan0", IP: "10.0.0.2"},
			Storage: proto.Usage{Free: 5 << 30}, OnScreen: "p-1", Camera: true, Microphone: true}
	}
	state("a-ready", proto.LifeReady)
	beat("a-ready", 10*time.Second, ptr(true))
	state("b-ready", proto.LifeReady)
	beat("b-ready", 30*time.Second, nil) // unknown sync is not a problem
	state("c-stale", proto.LifeReady)
	beat("c-stale", 121*time.Second, ptr(true))
	state("d-lost", proto.LifeLost)
	state("e-alert", proto.LifeAlert)
	beat("e-alert", time.Second, ptr(true))
	state("f-unsynced", proto.LifeReady)
	beat("f-unsynced", time.Second, ptr(false))
	state("g-off", proto.LifeDisconnected)
	beat("g-off", time.Hour, ptr(true))
	state("h-nobeat", proto.LifeReady) // stale: no heartbeat at all
	st.Avail["a-ready"] = proto.Availability{V: 1, Device: "a-ready", State: "in_call", Camera: true}
	st.Avail["i-availonly"] = proto.Availability{V: 1, Device: "i-availonly", State: "available"}

	rows := mergeFleet(st, now, staleRule{Intervals: 2})
	var got []string
	for _, r := range rows {
		got = append(got, r.DeviceID)
	}
	want := "d-lost e-alert c-stale h-nobeat i-availonly f-unsynced g-off a-ready b-ready"
	if strings.Join(got, " ") != want {
		t.Errorf("order = %s, want %s", strings.Join(got, " "), want)
	}
	byID := map[string]fleetRow{}
	for _, r := range rows {
		byID[r.DeviceID] = r
	}
	a := byID["a-ready"]
	if a.Stale || a.HeartbeatAgeS == nil || *a.HeartbeatAgeS != 10 || a.Availability != "in_call" ||
		a.Version != "1.1" || a.Network == nil || a.Network.SSID != "home" || a.StorageFree == nil ||
		*a.StorageFree != 5<<30 || a.Camera == nil || !*a.Camera || a.Microphone == nil || *a.Microphone {
		t.Errorf("a-ready = %+v", a)
	}
	if h := byID["h-nobeat"]; !h.Stale || h.HeartbeatAgeS != nil || h.TimeSynced != nil {
		t.Errorf("h-nobeat = stale %v age %v synced %v, want stale with nulls", h.Stale, h.HeartbeatAgeS, h.TimeSynced)
	}
	if c := byID["c-stale"]; !c.Stale {
		t.Errorf("c-stale: 121 s after a 60 s heartbeat is not stale")
	}
	// An absolute rule replaces the intervals.
	if rows := mergeFleet(st, now, staleRule{After: 10 * time.Minute}); rows[0].DeviceID != "d-lost" || rows[1].DeviceID != "e-alert" || rows[2].DeviceID != "h-nobeat" {
		t.Errorf("with --stale-after 10m the first rows are %s %s %s", rows[0].DeviceID, rows[1].DeviceID, rows[2].DeviceID)
	}

	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"device_id"`, `"state"`, `"availability"`, `"session"`, `"heartbeat_age_s":null`, `"stale"`, `"version"`, `"time_synced":null`} {
		if !bytes.Contains(b, []byte(name)) {
			t.Errorf("JSON lacks %s: %s", name, b)
		}
	}
}

func TestParseStaleAfter(t *testing.T) {
	for in, want := range map[string]staleRule{"2": {Intervals: 2}, "3.5": {Intervals: 3.5}, "5m": {After: 5 * time.Minute}} {
		if got, err := parseStaleAfter(in); err != nil || got != want {
			t.Errorf("parseStaleAfter(%q) = %+v, %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "x", "-5m", "Inf"} {
		if _, err := parseStaleAfter(in); err == nil {
			t.Errorf("parseStaleAfter(%q) = nil error, want one", in)
		}
	}
}

func TestFleetCollectorIngest(t *testing.T) {
	c := newFleetCollector()
	st, _ := json.Marshal(proto.State{V: 1, Device: "d1", State: proto.LifeReady, Session: 2})
	c.ingest(proto.StateTopic("d1"), st)
	c.ingest(proto.StateTopic("d2"), st)               // another device's payload
	c.ingest(proto.HeartbeatTopic("d1"), []byte("{"))  // not JSON
	c.ingest("hearth/v1/dev/+/state", st)              // not a device topic
	c.ingest(proto.AvailabilityTopic("d3"), []byte{})  // cleared: not counted
	c.ingest(proto.HeartbeatTopic("d1"), []byte(`{}`)) // invalid
	c.ingest(proto.StateTopic("d1"), append(st, ' '))  // still fine
	rows, bad, changed := c.snapshot(time.Now(), staleRule{Intervals: 2})
	if len(rows) != 1 || rows[0].DeviceID != "d1" || bad != 4 || !changed {
		t.Errorf("snapshot = %d rows, %d bad, changed %v; want d1 alone, 4 bad, changed", len(rows), bad, changed)
	}
	c.ingest(proto.StateTopic("d1"), nil)
	if rows, _, _ := c.snapshot(time.Now(), staleRule{}); len(rows) != 0 {
		t.Errorf("after clearing, %d rows remain", len(rows))
	}
}

// FuzzFleetIngest feeds any payload on any of the three topics: the
// collector must never panic, make at most the one device's row (none when
// an empty payload cleared its state), and print every row it makes.
func FuzzFleetIngest(f *testing.F) {
	st, _ := json.Marshal(proto.State{V: 1, Device: "d1", State: proto.LifeLost, Session: 2})
	hb, _ := json.Marshal(proto.Heartbeat{V: 1, Device: "d1", Session: 3, IntervalS: 60})
	av, _ := json.Marshal(proto.Availability{V: 1, Device: "d1", State: "available"})
	f.Add(uint8(0), st)
	f.Add(uint8(1), hb)
	f.Add(uint8(2), av)
	f.Add(uint8(1), []byte(`{"v":1,"device":"d1","session":1,"seq":1,"time":"2026-01-01T00:00:00Z","interval_s":1,"time_synced":null}`))
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		c := newFleetCollector()
		c.ingest(proto.StateTopic("d1"), st)
		topic := []string{proto.StateTopic("d1"), proto.HeartbeatTopic("d1"), proto.AvailabilityTopic("d1")}[int(kind)%3]
		c.ingest(topic, payload)
		rows, _, _ := c.snapshot(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), staleRule{Intervals: 2})
		if len(rows) > 1 {
			t.Fatalf("%d rows, want at most 1", len(rows))
		}
		var e env
		e.loc = time.UTC
		if err := e.fleetTable(&bytes.Buffer{}, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(rows); err != nil {
			t.Fatal(err)
		}
	})
}

// fleetJSON runs `hearthctl fleet --json` in-process with the real clock.
func fleetJSON(t *testing.T, broker string) []fleetRow {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, []string{"--broker", broker, "fleet", "--json", "--quiet", "200ms"}, &out, &errb); err != nil {
		t.Fatalf("fleet --json: %v\n%s", err, errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("fleet --json wrote to stderr: %s", errb.String())
	}
	var rows []fleetRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("fleet --json printed %q: %v", out.String(), err)
	}
	return rows
}

// waitFleet polls fleet --json until ok holds for its rows.
func waitFleet(t *testing.T, broker, what string, ok func([]fleetRow) bool) []fleetRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows := fleetJSON(t, broker)
		if ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last listing: %+v", what, rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func countState(rows []fleetRow, state string) int {
	n := 0
	for _, r := range rows {
		if r.State == state {
			n++
		}
	}
	return n
}

func TestFleetWithSimulatedDevices(t *testing.T) {
	b := mqtttest.Start(t)
	const n = 50
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simDone := make(chan error, 1)
	go func() {
		simDone <- hsync.Simulate(ctx, hsync.SimOptions{Broker: b.URL(), Prefix: "sim", N: n, Heartbeat: 5 * time.Second, Ramp: 20})
	}()

	rows := waitFleet(t, b.URL(), "50 ready devices", func(rows []fleetRow) bool {
		return len(rows) == n && countState(rows, "ready") == n
	})
	for i, r := range rows {
		if want := fmt.Sprintf("sim-%05d", i+1); r.DeviceID != want {
			t.Errorf("row %d = %s, want %s (ready devices by id)", i, r.DeviceID, want)
		}
		if r.Session == 0 || r.Stale || r.HeartbeatAgeS == nil || r.TimeSynced == nil || !*r.TimeSynced ||
			r.Availability != "available" || r.Network == nil || r.Version == "" {
			t.Errorf("%s = %+v, want a session, a fresh heartbeat and its fields", r.DeviceID, r)
		}
	}

	// A Will from an older session, delivered late, does not make the
	// device lost; one from its own session does.
	conn, err := hsync.Dial(ctx, b.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	victim := rows[2]
	lost := func(dev string, session uint64) {
		p, _ := json.Marshal(proto.State{V: 1, Device: dev, State: proto.LifeLost, Session: session, Time: time.Now().UTC()})
		if err := conn.Publish(ctx, proto.StateTopic(dev), p, true); err != nil {
			t.Fatal(err)
		}
	}
	lost(victim.DeviceID, victim.Session-1)
	lost(rows[3].DeviceID, rows[3].Session)
	rows = waitFleet(t, b.URL(), "the Will of the current session", func(rows []fleetRow) bool {
		return countState(rows, "lost") == 1
	})
	if rows[0].DeviceID != "sim-00004" {
		t.Errorf("first row = %s, want the lost sim-00004 first", rows[0].DeviceID)
	}
	for _, r := range rows {
		if r.DeviceID == victim.DeviceID && (r.State != "ready" || r.LateLost != victim.Session-1) {
			t.Errorf("%s after a late lost from session %d = %s (late %d), want ready", r.DeviceID, victim.Session-1, r.State, r.LateLost)
		}
	}

	// Undecodable payloads are counted on stderr, not listed.
	if err := conn.Publish(ctx, proto.HeartbeatTopic("junk"), []byte("not json"), true); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"--broker", b.URL(), "fleet", "--quiet", "200ms"}, &out, &errb); err != nil {
		t.Fatalf("fleet: %v", err)
	}
	if !strings.Contains(errb.String(), "1 undecodable") || !strings.HasPrefix(out.String(), "50 devices: 1 lost") ||
		!strings.Contains(out.String(), "sim-00050") {
		t.Errorf("fleet table:\n%s\nstderr: %s", out.String(), errb.String())
	}
	_ = conn.Publish(ctx, proto.HeartbeatTopic("junk"), nil, true)

	cancel()
	select {
	case err := <-simDone:
		if err != nil {
			t.Fatalf("Simulate = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Simulate did not return after cancel")
	}
	rows = waitFleet(t, b.URL(), "all disconnected", func(rows []fleetRow) bool {
		return len(rows) == n && countState(rows, "disconnected") == n
	})
	_ = rows
}

func TestFleetWatchJSON(t *testing.T) {
	b := mqtttest.Start(t)
	ctx, conn, hangUp := dialTest(t, b.URL(), 20*time.Second)
	defer hangUp()
	pub := func(dev string, l proto.Lifecycle) {
		p, _ := json.Marshal(proto.State{V: 1, Device: dev, State: l, Session: 1})
		if err := conn.Publish(ctx, proto.StateTopic(dev), p, true); err != nil {
			t.Fatal(err)
		}
	}
	pub("w1", proto.LifeReady)
	pr, pw := newLinePipe()
	done := make(chan error, 1)
	wctx, wcancel := context.WithCancel(ctx)
	go func() {
		done <- run(wctx, []string{"--broker", b.URL(), "fleet", "--watch", "--json", "--quiet", "100ms", "--every", "100ms"}, pw, &bytes.Buffer{})
	}()
	first := <-pr
	pub("w2", proto.LifeLost)
	second := <-pr
	wcancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("fleet --watch: %v", err)
	}
	var r1, r2 []fleetRow
	if json.Unmarshal([]byte(first), &r1) != nil || json.Unmarshal([]byte(second), &r2) != nil {
		t.Fatalf("lines %q %q are not JSON arrays", first, second)
	}
	if len(r1) != 1 || len(r2) != 2 || r2[0].DeviceID != "w2" || r2[0].State != "lost" {
		t.Errorf("watch lines = %+v then %+v, want w1, then w2 lost first", r1, r2)
	}
}

// linePipe is a writer that hands each complete line to a channel.
type linePipe struct {
	buf []byte
	ch  chan string
}

func newLinePipe() (<-chan string, *linePipe) {
	p := &linePipe{ch: make(chan string, 100)}
	return p.ch, p
}

func (p *linePipe) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.ch <- string(p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}

// Do-not-disturb reads with its end in the fleet view; an end that passed
// is not shown.
func TestFleetShowsDND(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := newFleetStatus()
	for id, a := range map[string]proto.Availability{
		"a-dnd":    {State: "do_not_disturb", DNDUntil: now.Add(150 * time.Minute)},
		"b-call":   {State: "in_call", DNDUntil: now.Add(26 * time.Hour)},
		"c-over":   {State: "do_not_disturb", DNDUntil: now.Add(-time.Minute)},
		"d-plain":  {State: "available"},
		"e-beat":   {},
		"f-hbonly": {},
	} {
		a.V, a.Device, a.Time = 1, id, now
		if id != "f-hbonly" {
			st.Avail[id] = a
		}
		st.States[id] = proto.State{V: 1, Device: id, State: proto.LifeReady, Session: 1}
	}
	// The availability topic is newer than the heartbeat's copy.
	st.Heartbeats["e-beat"] = proto.Heartbeat{V: 1, Device: "e-beat", Session: 1, Time: now, DNDUntil: now.Add(time.Hour)}
	st.Heartbeats["f-hbonly"] = proto.Heartbeat{V: 1, Device: "f-hbonly", Session: 1, Time: now,
		Availability: "do_not_disturb", DNDUntil: now.Add(time.Hour)}
	e := &env{now: func() time.Time { return now }, loc: time.FixedZone("CET", 3600)}
	want := map[string]string{
		"a-dnd":    "do_not_disturb until 15:30",
		"b-call":   "in_call, dnd until 23 Nov 15:00",
		"c-over":   "do_not_disturb",
		"d-plain":  "available",
		"e-beat":   "-",
		"f-hbonly": "do_not_disturb until 14:00",
	}
	for _, r := range mergeFleet(st, now, staleRule{Intervals: 2}) {
		if got := e.fmtAvailability(r); got != want[r.DeviceID] {
			t.Errorf("%s: availability %q, want %q", r.DeviceID, got, want[r.DeviceID])
		}
	}
	var out bytes.Buffer
	if err := e.fleetTable(&out, mergeFleet(st, now, staleRule{Intervals: 2})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "do_not_disturb until 15:30") {
		t.Errorf("fleet table lacks do-not-disturb's end:\n%s", out.String())
	}
	b, _ := json.Marshal(mergeFleet(st, now, staleRule{Intervals: 2}))
	if !bytes.Contains(b, []byte(`"dnd_until":"2026-11-22T14:30:00Z"`)) {
		t.Errorf("fleet JSON lacks dnd_until: %s", b)
	}
}
