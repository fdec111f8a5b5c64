package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// Generous: a broker restart and the watcher's backoff take a few
// seconds; nothing here fails because a machine is slow.
const redialWithin = 60 * time.Second

// waitLine reads lines until one satisfies ok.
func waitLine(t *testing.T, lines <-chan string, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(redialWithin)
	for {
		select {
		case l := <-lines:
			if ok(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("no line with %s within %v", what, redialWithin)
		}
	}
}

func hasText(s string) func(string) bool {
	return func(l string) bool { return strings.Contains(l, s) }
}

// retain publishes v, retained, on a connection of its own (the broker
// may have restarted since the last).
func retain(t *testing.T, b *mqtttest.Broker, topic string, v any) {
	t.Helper()
	ctx, conn, hangUp := dialTest(t, b.URL(), 10*time.Second)
	defer hangUp()
	p, _ := json.Marshal(v)
	if err := conn.Publish(ctx, topic, p, true); err != nil {
		t.Fatal(err)
	}
}

func retainState(t *testing.T, b *mqtttest.Broker, dev string, l proto.Lifecycle) {
	t.Helper()
	retain(t, b, proto.StateTopic(dev), proto.State{V: 1, Device: dev, State: l, Session: 1})
}

// runWatch runs hearthctl with args until the test ends; it returns its
// stdout and stderr, line by line.
func runWatch(t *testing.T, b *mqtttest.Broker, args ...string) (stdout, stderr <-chan string) {
	t.Helper()
	stdout, wout := newLinePipe()
	stderr, werr := newLinePipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--broker", b.URL()}, args...), wout, werr) }()
	t.Cleanup(func() {
		cancel()
		// Keep the pipes drained until run returns.
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("hearthctl %v: %v", args, err)
				}
				return
			case <-stdout:
			case <-stderr:
			}
		}
	})
	return stdout, stderr
}

// fleetHas reports whether a fleet --json line shows dev in state.
func fleetHas(dev, state string) func(string) bool {
	return func(l string) bool {
		var rows []fleetRow
		if json.Unmarshal([]byte(l), &rows) != nil {
			return false
		}
		for _, r := range rows {
			if r.DeviceID == dev && r.State == state {
				return true
			}
		}
		return false
	}
}

// The broker stops while fleet --watch runs: it says so, reconnects when
// the broker is back, and a change made after the restart shows.
func TestFleetWatchAcrossBrokerRestart(t *testing.T) {
	b := mqtttest.Start(t)
	retainState(t, b, "w1", proto.LifeReady)
	out, errs := runWatch(t, b, "fleet", "--watch", "--json", "--quiet", "100ms", "--every", "100ms")
	waitLine(t, out, "w1 ready", fleetHas("w1", "ready"))

	b.Stop()
	waitLine(t, errs, "the broker unreachable", hasText("fleet: broker unreachable since"))
	b.Restart()
	retainState(t, b, "w1", proto.LifeLost)
	waitLine(t, out, "w1 lost, after the restart", fleetHas("w1", "lost"))
	waitLine(t, errs, "the broker back", hasText("fleet: broker back at"))
}

// The table says while the broker is away, and is built again from what
// the broker retains once it is back.
func TestFleetWatchTableWhileBrokerAway(t *testing.T) {
	b := mqtttest.Start(t)
	retainState(t, b, "w1", proto.LifeReady)
	out, _ := runWatch(t, b, "fleet", "--watch", "--quiet", "100ms", "--every", "100ms")
	waitLine(t, out, "w1 in the table", hasText("w1 "))

	b.Stop()
	waitLine(t, out, "the broker unreachable, in the table", hasText("broker unreachable since"))
	b.Restart()
	retainState(t, b, "w2", proto.LifeReady)
	waitLine(t, out, "w2 in the table", hasText("w2 "))
}

// activity --follow reconnects too, and prints only events it has not
// printed: the retained ones come again on the new subscription.
func TestActivityFollowAcrossBrokerRestart(t *testing.T) {
	b := mqtttest.Start(t)
	event := func(id string, seq uint64) {
		retain(t, b, proto.ActivityTopic("mum-kitchen", id), proto.Activity{V: 1, Device: "mum-kitchen", ID: id, Seq: seq,
			Time: time.Now().UTC(), Type: "item_shown", Item: "p-" + id})
	}
	event("e1", 1)
	out, errs := runWatch(t, b, "activity", "mum-kitchen", "--follow", "--json", "--quiet", "100ms")
	waitLine(t, out, "e1", hasText(`"e1"`))

	b.Stop()
	waitLine(t, errs, "the broker unreachable", hasText("activity: broker unreachable since"))
	b.Restart()
	event("e2", 2)
	if l := waitLine(t, out, "an event", hasText(`"id"`)); !strings.Contains(l, `"e2"`) {
		t.Errorf("first event after the restart = %s, want e2 (e1 was printed)", l)
	}
	waitLine(t, errs, "the broker back", hasText("activity: broker back at"))
}
