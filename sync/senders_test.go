package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// setClock is the device's clock in these tests: Now is what the test
// says; timers are real (the link's waits are for the network).
type setClock struct {
	mu  gosync.Mutex
	now time.Time
}

func (c *setClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *setClock) NewTimer(d time.Duration) clock.Timer { return clock.Real().NewTimer(d) }

// t1 is the device's time in these tests.
var t1 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func seedKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

// The organisation and the people on the device's allowlist.
var (
	orgKey      = seedKey(1)
	annaKey     = seedKey(2) // family: send
	evaKey      = seedKey(3) // a carer: send, forced
	bossKey     = seedKey(4) // the organisation's admin
	carlKey     = seedKey(5) // may call, not send
	strangerKey = seedKey(6)
)

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func testAllowlist(serial uint64) []byte {
	a := proto.Allowlist{V: 1, Org: "north-care", Serial: serial, Issued: t1, Callers: []proto.AllowedCaller{
		{ID: "anna", Name: "Anna", Key: pubOf(annaKey), Mode: []proto.CallMode{proto.ModeSignalled, proto.RightSend}},
		{ID: "nurse-eva", Name: "Nurse Eva", Key: pubOf(evaKey), Mode: []proto.CallMode{proto.ModeForced, proto.RightSend}},
		{ID: "boss", Name: "North Care office", Key: pubOf(bossKey), Mode: []proto.CallMode{proto.RightAdmin}},
		{ID: "carl", Name: "Carl", Key: pubOf(carlKey), Mode: []proto.CallMode{proto.ModeSignalled}},
	}}
	a.Sig = ed25519.Sign(orgKey, a.SigningBytes())
	b, _ := json.Marshal(a)
	return b
}

// callSink is the call side as the link feeds it: the allowlist goes to
// the Checker, call messages are kept.
type callSink struct {
	auth *callauth.Checker
	mu   gosync.Mutex
	in   []proto.CallIn
}

func (s *callSink) Deliver(m proto.CallIn) {
	s.mu.Lock()
	s.in = append(s.in, m)
	s.mu.Unlock()
}

func (s *callSink) SetAllowlist(a proto.Allowlist) error { return s.auth.SetAllowlist(a) }

// signedRig is a device whose link checks signed items against the
// allowlist its organisation published (retained, serial 5).
type signedRig struct {
	*rig
	clk  *setClock
	auth *callauth.Checker
	// settle is the link's QueueSettle (zero: a nanosecond, so every
	// older list counts as live).
	settle time.Duration
}

func newSignedRig(t *testing.T, require bool) *signedRig {
	t.Helper()
	b := mqtttest.Start(t)
	r := &signedRig{rig: newStoppedRig(t, b), clk: &setClock{now: t1}}
	var err error
	if r.auth, err = callauth.New(pubOf(orgKey), r.clk); err != nil {
		t.Fatal(err)
	}
	r.publish(proto.AllowlistTopic(dev), testAllowlist(5), true)
	r.startSigned(require)
	return r
}

func (r *signedRig) startSigned(require bool) {
	r.run(Options{Broker: r.broker.URL(), DeviceID: dev, Store: r.store, KeepAlive: 2 * time.Second, Clock: r.clk,
		InventoryDelay: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Calls: &callSink{auth: r.auth}, Senders: r.auth, RequireSignedItems: require, QueueSettle: max(r.settle, time.Nanosecond)})
}

// signedItem is a message (or, with deleted, a tombstone) from sender,
// signed with key.
func signedItem(id string, rev uint64, sender string, key ed25519.PrivateKey, text string, change func(*proto.Item)) proto.Item {
	it := proto.Item{V: 1, ID: id, Device: dev, Rev: rev, Kind: proto.KindMessage, From: "Nurse Eva (North Care)",
		Text: text, Start: t1.Add(-time.Hour), End: t1.Add(24 * time.Hour), Created: t1.Add(-time.Hour), Sender: sender}
	if change != nil {
		change(&it)
	}
	if it.Deleted {
		it.Kind, it.From, it.Text, it.Start, it.End, it.Created = "", "", "", time.Time{}, time.Time{}, time.Time{}
	}
	it.Sig = ed25519.Sign(key, it.SigningBytes())
	return it
}

func encodeItem(it proto.Item) []byte {
	b, _ := json.Marshal(it)
	return b
}

func (r *signedRig) send(it proto.Item) {
	r.t.Helper()
	r.publish(proto.ContentTopic(dev, it.ID), encodeItem(it), true)
}

// activities reads the device's activity log back from the broker.
func (r *signedRig) activities() []proto.Activity {
	r.t.Helper()
	var out []proto.Activity
	for _, p := range r.retained(proto.Root+"/"+dev+"/activity/+", 200*time.Millisecond) {
		var a proto.Activity
		if err := json.Unmarshal(p, &a); err != nil {
			r.t.Fatal(err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b proto.Activity) int { return int(a.Seq) - int(b.Seq) })
	return out
}

// refusedReport waits until both the inventory and the activity log
// report item id refused with reason, and returns the activity event.
func (r *signedRig) refusedReport(id, reason string) proto.Activity {
	r.t.Helper()
	return r.refusedReportOf(id, reason, func(proto.Activity) bool { return true })
}

// refusedReportOf is refusedReport for the event that also passes match.
func (r *signedRig) refusedReportOf(id, reason string, match func(proto.Activity) bool) proto.Activity {
	r.t.Helper()
	waitFor(r.t, 10*time.Second, "the refusal of "+id+" in the inventory", func() bool {
		inv, _ := r.inventory()
		return slices.ContainsFunc(inv.Refused, func(f proto.Refusal) bool { return f.ID == id && f.Reason == reason })
	})
	var ev proto.Activity
	waitFor(r.t, 10*time.Second, "input_refused of "+id+" upward", func() bool {
		i := slices.IndexFunc(r.activities(), func(a proto.Activity) bool {
			return a.Type == "input_refused" && a.Item == id && a.Reason == reason && match(a)
		})
		if i >= 0 {
			ev = r.activities()[i]
		}
		return i >= 0
	})
	return ev
}

func (r *signedRig) held(id string) (proto.InventoryItem, bool) {
	r.t.Helper()
	// The inventory is always retained once the link is up; a read that
	// missed it (a loaded machine, past the short wait) says nothing of id.
	var inv proto.Inventory
	waitFor(r.t, 10*time.Second, "the device's inventory", func() bool {
		var ok bool
		inv, ok = r.inventory()
		return ok
	})
	i := slices.IndexFunc(inv.Items, func(it proto.InventoryItem) bool { return it.ID == id })
	if i < 0 {
		return proto.InventoryItem{}, false
	}
	return inv.Items[i], true
}

// Signed items from people on the allowlist are taken and show the
// allowlist's name; forged, unlisted, tampered, replayed, expired and
// others' items are refused and reported (the inventory's refused, an
// input_refused event with the item's kind and text), and what the
// device holds stays as it was.
func TestSignedItems(t *testing.T) {
	r := newSignedRig(t, false)

	good := signedItem("m-anna", 1, "anna", annaKey, "Ella rode her bike today", nil)
	r.send(good)
	evas := signedItem("m-eva", 1, "nurse-eva", evaKey, "Medicine at 14:00", nil)
	r.send(evas)
	waitFor(t, 10*time.Second, "both signed items", func() bool { return r.live()["m-anna"] == 1 && r.live()["m-eva"] == 1 })
	waitFor(t, 10*time.Second, "both in the inventory", func() bool {
		_, a := r.held("m-anna")
		_, e := r.held("m-eva")
		return a && e
	})
	if got, _ := r.held("m-anna"); got.From != "Anna" || got.Sender != "anna" {
		t.Errorf("inventory m-anna from %q sender %q, want the allowlist's name \"Anna\", sender anna", got.From, got.Sender)
	}
	if rec, _, _ := r.store.Get("m-anna"); rec.Item.From != "Anna" {
		t.Errorf("stored from = %q, want \"Anna\" (not the %q it carried)", rec.Item.From, good.From)
	}

	tampered := good
	tampered.Rev, tampered.Text = 2, "Send money to this account"
	anotherDevice := signedItem("m-anna-2", 1, "anna", annaKey, "for dad", func(it *proto.Item) { it.Device = "dad-hall" })
	anotherDevice.Device = dev
	anotherID := signedItem("m-anna-3", 1, "anna", annaKey, "copied", nil)
	anotherID.ID = "m-copy"
	wrongOwner := signedItem("m-anna", 4, "nurse-eva", evaKey, "Eva's text over Anna's", nil)
	unsignedOver := msgItem("m-anna", 5, "an unsigned revision of a signed item")
	for _, tc := range []struct {
		name, reason string
		it           proto.Item
	}{
		{"forged", "bad signature", signedItem("m-forged", 1, "anna", strangerKey, "I am Anna", nil)},
		{"unlisted", "unknown sender", signedItem("m-stranger", 1, "mallory", strangerKey, "hello", nil)},
		{"tampered", "bad signature", tampered},
		{"replayed for another device", "bad signature", anotherDevice},
		{"replayed under another id", "bad signature", anotherID},
		{"may call but not send", "not allowed to send", signedItem("m-carl", 1, "carl", carlKey, "hi", nil)},
		{"another's item", "item belongs to anna", wrongOwner},
		{"unsigned over a signed item", "item belongs to anna", unsignedOver},
		{"expired", "expired", signedItem("m-old", 1, "anna", annaKey, "last week", func(it *proto.Item) {
			it.Start, it.End = t1.Add(-7*24*time.Hour), t1
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.t = t
			r.send(tc.it)
			ev := r.refusedReportOf(tc.it.ID, tc.reason, func(a proto.Activity) bool { return a.ItemText == tc.it.Text })
			if ev.ItemKind != proto.KindMessage || ev.ItemText != tc.it.Text {
				t.Errorf("input_refused item_kind %q item_text %q, want message %q", ev.ItemKind, ev.ItemText, tc.it.Text)
			}
			if got, ok := r.held("m-anna"); !ok || got.Rev != 1 || got.Text != good.Text || got.From != "Anna" {
				t.Errorf("m-anna after the refusal = %+v, want rev 1 as Anna sent it", got)
			}
		})
	}
	r.t = t
	for _, id := range []string{"m-forged", "m-stranger", "m-copy", "m-carl", "m-old", "m-anna-2"} {
		if _, ok := r.held(id); ok {
			t.Errorf("refused %s is held", id)
		}
	}

	// Anna's next revision replaces hers; her old one, replayed, is
	// refused as stale.
	r.send(signedItem("m-anna", 6, "anna", annaKey, "Ella rode her bike again", nil))
	waitFor(t, 10*time.Second, "m-anna rev 6", func() bool { return r.live()["m-anna"] == 6 })
	r.publish(proto.ContentTopic(dev, "m-anna"), encodeItem(good), false)
	r.refusedReport("m-anna", "stale revision 1 (holding 6)")

	// The admin removes Eva's item; Anna may not.
	r.send(signedItem("m-eva", 2, "anna", annaKey, "", func(it *proto.Item) { it.Deleted = true }))
	r.refusedReport("m-eva", "item belongs to nurse-eva")
	r.send(signedItem("m-eva", 3, "boss", bossKey, "", func(it *proto.Item) { it.Deleted = true }))
	waitFor(t, 10*time.Second, "m-eva removed by the admin", func() bool {
		got, ok := r.held("m-eva")
		return ok && got.State == proto.StateDeleted
	})
	if got, _ := r.held("m-eva"); got.Kind != "" || !got.Start.IsZero() || !got.End.IsZero() {
		t.Errorf("tombstone in the inventory = %+v, want no kind, start or end", got)
	}

	// Unsigned items are still taken while signing is not required, with
	// the name they carry.
	r.publish(proto.ContentTopic(dev, "m-unsigned"), encodeItem(msgItem("m-unsigned", 1, "from the old tool")), true)
	waitFor(t, 10*time.Second, "the unsigned item", func() bool {
		_, ok := r.held("m-unsigned")
		return ok
	})
	if got, _ := r.held("m-unsigned"); got.From != "Peter" || got.Sender != "" {
		t.Errorf("unsigned item from %q sender %q, want Peter and no sender", got.From, got.Sender)
	}

	// The expired item comes again (the retained copy after every new
	// subscription): reported once.
	r.publish(proto.ContentTopic(dev, "m-old"), encodeItem(signedItem("m-old", 1, "anna", annaKey, "last week", func(it *proto.Item) {
		it.Start, it.End = t1.Add(-7*24*time.Hour), t1
	})), true)
	r.send(signedItem("m-marker", 1, "anna", annaKey, "marker", nil))
	waitFor(t, 10*time.Second, "the marker", func() bool { return r.live()["m-marker"] == 1 })
	n := 0
	for _, a := range r.activities() {
		if a.Type == "input_refused" && a.Item == "m-old" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("expired m-old reported %d times after a reconnect, want 1", n)
	}
}

func msgItem(id string, rev uint64, text string) proto.Item {
	return proto.Item{V: 1, ID: id, Device: dev, Rev: rev, Kind: proto.KindMessage, From: "Peter",
		Text: text, Start: t1.Add(-time.Minute), End: t1.Add(time.Hour), Created: t1.Add(-time.Minute)}
}

// With require_signed_items, unsigned items are refused and reported,
// and an item stored before the setting stays.
func TestUnsignedRefusedWhenRequired(t *testing.T) {
	r := newSignedRig(t, false)
	r.send(msgItem("m-before", 1, "sent before signing was required"))
	waitFor(t, 10*time.Second, "the unsigned item", func() bool { return r.live()["m-before"] == 1 })
	r.stop()
	r.startSigned(true)

	r.send(msgItem("m-after", 1, "unsigned, after"))
	ev := r.refusedReport("m-after", "unsigned item: this screen takes only signed items")
	if ev.ItemText != "unsigned, after" || ev.ItemKind != proto.KindMessage {
		t.Errorf("input_refused = %+v, want the item's kind and text", ev)
	}
	r.send(signedItem("m-signed", 1, "anna", annaKey, "signed", nil))
	waitFor(t, 10*time.Second, "the signed item", func() bool { return r.live()["m-signed"] == 1 })
	if r.live()["m-before"] != 1 {
		t.Error("the unsigned item stored before signing was required is gone")
	}
}

// Signed items that reach a device before any allowlist wait for one (up
// to 3 s after the connection came up), so none is refused as "no
// allowlist" when the list comes a moment later.
func TestSignedItemsWaitForTheAllowlist(t *testing.T) {
	b := mqtttest.Start(t)
	r := &signedRig{rig: newStoppedRig(t, b), clk: &setClock{now: t1}}
	var err error
	if r.auth, err = callauth.New(pubOf(orgKey), r.clk); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"m-1", "m-2", "m-3"} {
		r.send(signedItem(id, uint64(i+1), "anna", annaKey, "retained "+id, nil))
	}
	r.startSigned(true) // items arrive, the list does not exist yet
	r.publish(proto.AllowlistTopic(dev), testAllowlist(5), true)
	waitFor(t, 10*time.Second, "the retained signed items", func() bool {
		l := r.live()
		return l["m-1"] == 1 && l["m-2"] == 2 && l["m-3"] == 3
	})
	if inv, _ := r.inventory(); len(inv.Refused) != 0 {
		t.Errorf("refused = %+v, want none", inv.Refused)
	}
}

// An allowlist older than the held one is reported once per serial; the
// retained list again (the same serial) is not.
func TestOlderAllowlistReported(t *testing.T) {
	r := newSignedRig(t, false)
	waitFor(t, 10*time.Second, "the allowlist", func() bool { return r.auth.Serial() == 5 })
	r.publish(proto.AllowlistTopic(dev), testAllowlist(1), false)
	r.publish(proto.AllowlistTopic(dev), testAllowlist(1), false)
	r.publish(proto.AllowlistTopic(dev), testAllowlist(5), true)
	r.refusedReport("", "allowlist serial 1 is older than the one held (5)")
	r.send(msgItem("m-marker", 1, "marker"))
	waitFor(t, 10*time.Second, "the marker", func() bool { return r.live()["m-marker"] == 1 })
	n := 0
	for _, a := range r.activities() {
		if a.Type == "input_refused" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d input_refused events, want 1 (serial 1 once, serial 5 silent)", n)
	}
	if r.auth.Serial() != 5 {
		t.Errorf("serial = %d, want 5 kept", r.auth.Serial())
	}
}

// Allowlists published while the device was away wait in its session's
// queue; one older than the list it then holds is history, not reported
// (make demo's restarts reported every list it had missed).
func TestQueuedOlderAllowlistNotReported(t *testing.T) {
	r := newSignedRig(t, false)
	waitFor(t, 10*time.Second, "the allowlist", func() bool { return r.auth.Serial() == 5 })
	r.cancel()
	<-r.done
	// Queued in this order: 7 (retained, the broker keeps it), then 6.
	r.publish(proto.AllowlistTopic(dev), testAllowlist(7), true)
	r.publish(proto.AllowlistTopic(dev), testAllowlist(6), false)
	r.settle = time.Minute
	r.startSigned(false)
	waitFor(t, 10*time.Second, "list 7", func() bool { return r.auth.Serial() == 7 })
	r.send(msgItem("m-marker", 1, "marker"))
	waitFor(t, 10*time.Second, "the marker", func() bool { return r.live()["m-marker"] == 1 })
	// List 6 was queued before the marker: it has been judged by now,
	// and a report of it would reach the broker within this watch.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, a := range r.activities() {
			if a.Type == "input_refused" {
				t.Fatalf("reported %q; a list from the session's queue is not news", a.Reason)
			}
		}
	}
}

// An invite that does not decode, but names its caller and call, gets a
// refused reply with the reason: its caller does not wait for nothing.
func TestUndecodedInviteAnswered(t *testing.T) {
	r := newSignedRig(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, r.broker.URL(), "anna")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	replies := make(chan proto.Reply, 4)
	if err := c.Subscribe(ctx, proto.CallOutTopic(dev, "anna"), func(_ string, p []byte) {
		var rep proto.Reply
		if json.Unmarshal(p, &rep) == nil {
			replies <- rep
		}
	}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		payload, reason string
	}{
		"wrong device":  {`{"v":1,"type":"invite","call":"c-1","device":"dad-hall","caller":"anna","mode":"signalled","created":"2026-12-07T10:00:00Z","expires":"2026-12-07T10:02:00Z","offer":"v=0","sig":"AAAA"}`, "wrong device"},
		"unknown field": {`{"v":1,"type":"invite","call":"c-2","device":"mum-kitchen","caller":"anna","colour":"red"}`, "unknown field"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := c.Publish(ctx, proto.CallInTopic(dev), []byte(tc.payload), false); err != nil {
				t.Fatal(err)
			}
			select {
			case rep := <-replies:
				if rep.Type != proto.SignalRefused || !strings.Contains(rep.Reason, tc.reason) || rep.Device != dev {
					t.Errorf("reply = %+v, want refused with %q", rep, tc.reason)
				}
			case <-ctx.Done():
				t.Fatal("no reply to an invite refused while decoding")
			}
		})
	}
	// Not a readable caller: nothing to answer, but it is still listed.
	if err := c.Publish(ctx, proto.CallInTopic(dev), []byte(`{"v":1,"type":"invite","call":"c-3","caller":"a/b"}`), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "three call/in refusals listed", func() bool {
		inv, _ := r.inventory()
		return len(inv.Refused) == 3
	})
	select {
	case rep := <-replies:
		t.Errorf("reply %+v to an invite whose caller cannot be read", rep)
	case <-time.After(300 * time.Millisecond):
	}
}

// A photo whose inline bytes do not match its sha256 is refused after
// decoding; it is reported like any refused payload.
func TestPhotoRefusalReported(t *testing.T) {
	r := newSignedRig(t, false)
	data := []byte("not the bytes the hash is of")
	sum := sha256.Sum256([]byte("other bytes"))
	it := proto.Item{V: 1, ID: "p-bad", Device: dev, Rev: 1, Kind: proto.KindPhoto, From: "Peter", Text: "Ella's bike",
		Start: t1.Add(-time.Minute), End: t1.Add(time.Hour),
		Photo: &proto.Photo{Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}}
	r.send(it)
	var ref proto.Refusal
	waitFor(t, 10*time.Second, "the photo's refusal in the inventory", func() bool {
		inv, _ := r.inventory()
		i := slices.IndexFunc(inv.Refused, func(f proto.Refusal) bool { return f.ID == "p-bad" })
		if i >= 0 {
			ref = inv.Refused[i]
		}
		return i >= 0
	})
	if ref.Topic != proto.ContentTopic(dev, "p-bad") || ref.Rev != 1 || !strings.Contains(ref.Reason, "sha256") {
		t.Errorf("refusal = %+v, want p-bad rev 1 on its content topic, sha256", ref)
	}
	ev := r.refusedReport("p-bad", ref.Reason)
	if ev.ItemKind != proto.KindPhoto || ev.ItemText != "Ella's bike" {
		t.Errorf("input_refused = %+v, want photo \"Ella's bike\"", ev)
	}
}
