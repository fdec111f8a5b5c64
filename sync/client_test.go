package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

const dev = "mum-kitchen"

type rig struct {
	t      *testing.T
	broker *mqtttest.Broker
	store  *store.Store
	cancel context.CancelFunc
	done   chan error
	client *Client
}

func newRig(t *testing.T, b *mqtttest.Broker) *rig {
	t.Helper()
	r := newStoppedRig(t, b)
	r.start()
	return r
}

// newStoppedRig is newRig without starting the device's link.
func newStoppedRig(t *testing.T, b *mqtttest.Broker) *rig {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{t: t, broker: b, store: st}
	t.Cleanup(r.stop)
	return r
}

func (r *rig) start() { r.startWith(r.broker.URL()) }

// startWith runs the device's link to broker, then fallbacks, and waits
// until it reports on r.broker.
func (r *rig) startWith(broker string, fallbacks ...string) {
	r.run(Options{Broker: broker, Fallbacks: fallbacks, DeviceID: dev, Store: r.store, KeepAlive: 2 * time.Second,
		InventoryDelay: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// run runs the device's link with o until the test ends (or stop), and
// waits until it reports on r.broker.
func (r *rig) run(o Options) {
	c, err := New(o)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.client, r.cancel, r.done = c, cancel, make(chan error, 1)
	go func() { r.done <- c.Run(ctx) }()
	r.waitConnected()
}

func (r *rig) waitConnected() {
	r.t.Helper()
	// The device's first inventory says it is connected.
	waitFor(r.t, 10*time.Second, "the device's inventory", func() bool {
		_, ok := r.inventory()
		return ok
	})
}

func (r *rig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Errorf("Run = %v, want nil after cancel", err)
	}
	r.cancel = nil
}

func (r *rig) publish(topic string, payload []byte, retain bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, r.broker.URL(), "test")
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Publish(ctx, topic, payload, retain); err != nil {
		r.t.Fatal(err)
	}
}

// retained is what the broker holds retained under filter, read for
// wait.
func (r *rig) retained(filter string, wait time.Duration) map[string][]byte {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, r.broker.URL(), "test")
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	msgs, err := c.Retained(ctx, filter, wait)
	if err != nil {
		r.t.Fatal(err)
	}
	return msgs
}

func (r *rig) inventory() (proto.Inventory, bool) {
	p, ok := r.retained(proto.InventoryTopic(dev), 100*time.Millisecond)[proto.InventoryTopic(dev)]
	if !ok {
		return proto.Inventory{}, false
	}
	inv, err := proto.DecodeInventory(p)
	if err != nil {
		r.t.Fatal(err)
	}
	return inv, true
}

func (r *rig) live() map[string]uint64 {
	r.t.Helper()
	recs, err := r.store.Live()
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, rec := range recs {
		out[rec.Item.ID] = rec.Item.Rev
	}
	return out
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msg(id string, rev uint64, text string) []byte {
	now := time.Now().Truncate(time.Second)
	b, _ := json.Marshal(proto.Item{V: 1, ID: id, Device: dev, Rev: rev, Kind: proto.KindMessage, From: "Peter",
		Text: text, Start: now.Add(-time.Minute), End: now.Add(time.Hour), Created: now})
	return b
}

// QoS 1 content sent while the device is away arrives when it is back: the
// session is persistent.
func TestOfflineDeliveryThroughSession(t *testing.T) {
	r := newRig(t, mqtttest.Start(t))
	r.stop()
	r.publish(proto.ContentTopic(dev, "m-1"), msg("m-1", 1, "sent while away"), false)
	r.start()
	waitFor(t, 10*time.Second, "m-1 in the store", func() bool { return r.live()["m-1"] == 1 })
}

// Duplicates and out-of-order revisions end with the highest revision.
func TestRevisionsIdempotent(t *testing.T) {
	r := newRig(t, mqtttest.Start(t))
	topic := proto.ContentTopic(dev, "m-1")
	r.publish(topic, msg("m-1", 3, "third"), false)
	r.publish(topic, msg("m-1", 1, "first"), false)
	r.publish(topic, msg("m-1", 3, "third again"), false)
	r.publish(topic, msg("m-1", 2, "second"), false)
	r.publish(proto.ContentTopic(dev, "m-2"), msg("m-2", 1, "marker"), false)
	waitFor(t, 10*time.Second, "m-2", func() bool { return r.live()["m-2"] == 1 })
	recs, _ := r.store.Live()
	for _, rec := range recs {
		if rec.Item.ID == "m-1" && (rec.Item.Rev != 3 || rec.Item.Text != "third") {
			t.Errorf("m-1 = rev %d %q, want rev 3 \"third\"", rec.Item.Rev, rec.Item.Text)
		}
	}
}

// A bad payload is refused, recorded and reported upward; the link goes on.
func TestRefusalReported(t *testing.T) {
	r := newRig(t, mqtttest.Start(t))
	r.publish(proto.ContentTopic(dev, "m-bad"), []byte(`{"v":1,"id":"m-bad"`), false)
	r.publish(proto.ContentTopic(dev, "m-ok"), msg("m-ok", 1, "fine"), false)
	waitFor(t, 10*time.Second, "m-ok", func() bool { return r.live()["m-ok"] == 1 })
	var inv proto.Inventory
	waitFor(t, 10*time.Second, "the refusal in the inventory", func() bool {
		inv, _ = r.inventory()
		return len(inv.Refused) == 1
	})
	if got := inv.Refused[0]; got.ID != "m-bad" || !strings.Contains(got.Reason, "malformed") {
		t.Errorf("refusal = %+v, want m-bad malformed", got)
	}
	if len(inv.Items) != 1 || inv.Items[0].State != proto.StateReady {
		t.Errorf("inventory items = %+v, want m-ok ready", inv.Items)
	}
}

// The broker restarts under a running device: it reconnects by itself and
// takes new content.
func TestBrokerRestart(t *testing.T) {
	b := mqtttest.Start(t)
	r := newRig(t, b)
	b.Restart()
	r.publish(proto.ContentTopic(dev, "m-after"), msg("m-after", 1, "after restart"), false)
	waitFor(t, 30*time.Second, "m-after", func() bool { return r.live()["m-after"] == 1 })
	// The handler counts the sync just after the store's commit.
	waitFor(t, 5*time.Second, "a last sync time", func() bool { return !r.client.Stats().LastSync.IsZero() })
	if s := r.client.Stats(); s.Reconnects < 1 {
		t.Errorf("stats = %+v, want a reconnect", s)
	}
}

func TestBrokerURL(t *testing.T) {
	for in, want := range map[string]string{
		"mqtt://h:1883": "tcp://h:1883", "mqtts://h:8883": "ssl://h:8883", "ws://h:9001/mqtt": "ws://h:9001/mqtt",
		"h:1883": "", "mqtt://h": "", "http://h:1": "",
	} {
		got, err := BrokerURL(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("BrokerURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, o := range map[string]Options{
		"device": {Broker: "mqtt://h:1", DeviceID: "a/b", Store: st},
		"store":  {Broker: "mqtt://h:1", DeviceID: "a"},
		"broker": {Broker: "nowhere", DeviceID: "a", Store: st},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New with bad %s = nil error", name)
		}
	}
}

// The first broker goes away: the device moves to the next in its list (a
// bundle's fallbacks), and content sent there arrives.
func TestFailoverToNextBroker(t *testing.T) {
	b1, b2 := mqtttest.Start(t), mqtttest.Start(t)
	r := newStoppedRig(t, b1)
	r.startWith(b1.URL(), b2.URL()) // on b1, the first in the list

	b1.Stop()
	r.broker = b2
	r.waitConnected()
	r.publish(proto.ContentTopic(dev, "m-2"), msg("m-2", 1, "through the fallback"), false)
	waitFor(t, 30*time.Second, "m-2 through the second broker", func() bool { return r.live()["m-2"] == 1 })
}

// A first broker that was never there: the device starts on the next.
func TestFallbackWhenFirstUnreachable(t *testing.T) {
	b := mqtttest.Start(t)
	dead := mqtttest.FreePorts(t, 1)[0]
	r := newStoppedRig(t, b)
	r.startWith(fmt.Sprintf("mqtt://127.0.0.1:%d", dead), b.URL())
}

// A fresh database under the broker's old session (a factory reset, a
// database set aside): the broker sent the retained items to the old one,
// so the device subscribes again and gets them all back.
func TestFreshStoreUnderOldSession(t *testing.T) {
	b := mqtttest.Start(t)
	r := newRig(t, b)
	r.publish(proto.ContentTopic(dev, "m-kept"), msg("m-kept", 1, "still here"), true)
	waitFor(t, 10*time.Second, "m-kept", func() bool { return r.live()["m-kept"] == 1 })
	r.stop()

	fresh := newStoppedRig(t, b) // a new database, the same client id
	fresh.start()
	waitFor(t, 15*time.Second, "m-kept in the fresh database", func() bool { return fresh.live()["m-kept"] == 1 })
}
