package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/media/photo"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// The family's path: hearthctl sends a photo and a message through the
// broker; the device stores them and reports them ready; SIGTERM stops it
// cleanly and bbolt holds both.
func TestSendPhotoAndMessage(t *testing.T) {
	b, data, args := headlessSetup(t)
	d := startConnected(t, args)

	pic := writePhoto(t, "ella.jpg", photo.GenerateTestJPEG(1600, 1200, 85))
	out := ctl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--days", "3", "--caption", "Ella's first bike", pic)
	if !strings.Contains(out, "sent photo") {
		t.Errorf("send photo printed %q, want it to say what was sent", out)
	}
	until := time.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")
	ctl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--until", until, "I'm coming on Tuesday at two. /Peter")

	waitReady(t, b.URL(), "mum-kitchen", 2, 15*time.Second)
	d.waitLog("screen: carousel", 5*time.Second)

	var rows []listed
	if err := json.Unmarshal([]byte(ctl(t, b.URL(), "content", "ls", "--device", "mum-kitchen", "--json")), &rows); err != nil {
		t.Fatalf("content ls --json: %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("content ls = %d rows, want 2: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.State != proto.StateReady || r.Source != "device" || r.From != "Anna" {
			t.Errorf("content ls row %+v: want ready, reported by the device, from Anna", r)
		}
		if r.Kind == proto.KindMessage && r.End.Format("2006-01-02T15:04") != until {
			t.Errorf("message ends %v, want %s", r.End, until)
		}
	}
	// --at after the message ends shows only the photo.
	later := time.Now().Add(60 * time.Hour).Format(time.RFC3339)
	if err := json.Unmarshal([]byte(ctl(t, b.URL(), "content", "ls", "--device", "mum-kitchen", "--at", later, "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Kind != proto.KindPhoto {
		t.Errorf("content ls --at %s = %+v, want the photo only", later, rows)
	}

	// Remove the message; the device drops it.
	var msgID string
	if err := json.Unmarshal([]byte(ctl(t, b.URL(), "content", "ls", "--device", "mum-kitchen", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Kind == proto.KindMessage {
			msgID = r.ID
		}
	}
	ctl(t, b.URL(), "content", "rm", "--device", "mum-kitchen", msgID)
	waitReady(t, b.URL(), "mum-kitchen", 1, 10*time.Second)

	d.stop()
	if ids := liveIDs(t, data); len(ids) != 1 || ids[0] == msgID {
		t.Errorf("store after stop holds %v, want only the photo", ids)
	}
}

// Crash safety: SIGKILL in the middle of a stream of items; after a restart
// every item is there exactly once and the database opens.
func TestCrashDuringStream(t *testing.T) {
	b, data, args := headlessSetup(t)
	d := startConnected(t, args)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := hsync.Dial(ctx, b.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 400
	now := time.Now()
	var want []string
	for i := range n {
		it := proto.Item{V: 1, ID: fmt.Sprintf("m-%04d", i), Device: "mum-kitchen", Rev: 1, Kind: proto.KindMessage,
			From: "Peter", Text: fmt.Sprintf("message %d", i), Start: now, End: now.Add(time.Hour), Created: now}
		payload, _ := json.Marshal(it)
		if err := conn.Publish(ctx, proto.ContentTopic("mum-kitchen", it.ID), payload, true); err != nil {
			t.Fatal(err)
		}
		want = append(want, it.ID)
		if i == n/2 {
			d.kill() // SIGKILL, mid-stream
		}
	}
	d = startDaemon(t, nil, args...)
	waitReady(t, b.URL(), "mum-kitchen", n, 60*time.Second)
	d.stop()
	got := liveIDs(t, data)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after the crash the store holds %d items, want %d (each once)", len(got), len(want))
	}
}

// Offline: the broker is gone and the daemon restarts: the same items show
// from the cache.
func TestOfflineRestartShowsCache(t *testing.T) {
	b, _, args := headlessSetup(t)
	d := startConnected(t, args)
	ctl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--days", "2", "Coffee on Sunday?")
	pic := writePhoto(t, "p.jpg", photo.GenerateTestJPEG(800, 600, 80))
	ctl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--days", "2", pic)
	waitReady(t, b.URL(), "mum-kitchen", 2, 15*time.Second)
	d.stop()
	b.Stop()

	d = startDaemon(t, nil, args...)
	d.waitLog(`msg="screen: carousel" slides=2`, 10*time.Second)
	if !d.running() {
		t.Fatal("hearthd exited without a broker")
	}
	d.stop()
}

// Bad input of every kind is refused with a clear reason; the daemon keeps
// running and what it held stays.
func TestBadInputRefused(t *testing.T) {
	b, data, args := headlessSetup(t)
	d := startConnected(t, args)
	ctl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--days", "2", "--id", "m-good", "This one is fine.")
	waitReady(t, b.URL(), "mum-kitchen", 1, 10*time.Second)

	// A photo server for the by-reference case.
	good := photo.GenerateTestJPEG(640, 480, 80)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(good) }))
	defer srv.Close()

	now := time.Now()
	item := func(id string, p *proto.Photo) proto.Item {
		return proto.Item{V: 1, ID: id, Device: "mum-kitchen", Rev: 1, Kind: proto.KindPhoto, From: "Eve",
			Start: now, End: now.Add(time.Hour), Created: now, Photo: p}
	}
	inline := func(id string, data []byte) []byte {
		b, _ := json.Marshal(item(id, &proto.Photo{Data: data, SHA256: sha(data), Size: int64(len(data))}))
		return b
	}
	var bomb bytes.Buffer
	_ = png.Encode(&bomb, image.NewGray(image.Rect(0, 0, 1, 1)))
	bombPNG := setPNGSize(bomb.Bytes(), 100000, 100000)
	truncated := good[:len(good)/2]
	wrongSHA, _ := json.Marshal(item("p-sha", &proto.Photo{URL: srv.URL + "/x.jpg", SHA256: strings.Repeat("ab", 32), Size: int64(len(good))}))
	msg := func(f func(*proto.Item)) []byte {
		it := proto.Item{V: 1, ID: "m-bad", Device: "mum-kitchen", Rev: 1, Kind: proto.KindMessage, Text: "x",
			Start: now, End: now.Add(time.Hour)}
		f(&it)
		b, _ := json.Marshal(it)
		return b
	}
	cases := []struct {
		id, reason string
		payload    []byte
	}{
		{"m-json", "malformed", []byte(`{"v":1,"id":`)},
		{"m-bad", "unsupported schema version", msg(func(it *proto.Item) { it.V = 7 })},
		{"m-bad", "wrong device", msg(func(it *proto.Item) { it.Device = "dad-hall" })},
		{"m-big", "too large", bytes.Repeat([]byte("x"), proto.MaxPayload+10)},
		{"m-utf8", "not UTF-8", []byte("{\"v\":1,\"text\":\"\xff\xfe\"}")},
		{"p-bomb", "dimensions", inline("p-bomb", bombPNG)},
		{"p-trunc", "", inline("p-trunc", truncated)},
		{"p-sha", "sha256", wrongSHA},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := hsync.Dial(ctx, b.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, c := range cases {
		if err := conn.Publish(ctx, proto.ContentTopic("mum-kitchen", c.id), c.payload, false); err != nil {
			t.Fatalf("publish %s: %v", c.id, err)
		}
	}
	// The good photo on the same server after the bad ones: the queue moves on.
	goodURL, _ := json.Marshal(item("p-url", &proto.Photo{URL: srv.URL + "/good.jpg", SHA256: sha(good), Size: int64(len(good))}))
	if err := conn.Publish(ctx, proto.ContentTopic("mum-kitchen", "p-url"), goodURL, true); err != nil {
		t.Fatal(err)
	}
	inv := waitReady(t, b.URL(), "mum-kitchen", 2, 20*time.Second)
	waitFor(t, 10*time.Second, "all refusals reported", func() bool {
		inv, _ = inventory(t, b.URL(), "mum-kitchen")
		return len(refusalReasons(inv)) >= len(cases)
	})
	reasons := strings.Join(refusalReasons(inv), "\n")
	for _, c := range cases {
		if !strings.Contains(reasons, c.id) || !strings.Contains(reasons, c.reason) {
			t.Errorf("no refusal for %s mentioning %q in:\n%s", c.id, c.reason, reasons)
		}
	}
	// The photos refused after they were stored (their bytes) are
	// reported upward as any refused payload is, with what they were.
	waitFor(t, 10*time.Second, "the photos' input_refused events", func() bool {
		got := map[string]bool{}
		for _, a := range activities(t, b.URL(), "mum-kitchen") {
			if a.Type == "input_refused" && a.ItemKind == proto.KindPhoto {
				got[a.Item] = true
			}
		}
		return got["p-bomb"] && got["p-trunc"] && got["p-sha"]
	})
	if !d.running() {
		t.Fatal("hearthd died on bad input")
	}
	logText := d.log.String()
	for _, want := range []string{"content refused", "photo refused"} {
		if !strings.Contains(logText, want) {
			t.Errorf("hearthd log lacks %q", want)
		}
	}
	d.stop()
	ids := liveIDs(t, data)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"m-good", "p-url"}) {
		t.Errorf("store holds %v after bad input, want [m-good p-url]", ids)
	}
}

// headlessSetup starts a broker and names a data dir and the arguments of
// a headless hearthd for device mum-kitchen.
func headlessSetup(t *testing.T) (b *mqtttest.Broker, data string, args []string) {
	t.Helper()
	needBinaries(t)
	b = mqtttest.Start(t)
	data = t.TempDir()
	return b, data, []string{"--device-id", "mum-kitchen", "--broker", b.URL(), "--data", data, "--headless"}
}

// startConnected starts hearthd and waits until it reached the broker.
func startConnected(t *testing.T, args []string) *daemon {
	t.Helper()
	d := startDaemon(t, nil, args...)
	d.waitLog("connected to broker", 10*time.Second)
	return d
}

// refusalReasons lists "id: reason" for payload refusals and refused items.
func refusalReasons(inv proto.Inventory) []string {
	var out []string
	for _, r := range inv.Refused {
		out = append(out, r.ID+": "+r.Reason)
	}
	for _, it := range inv.Items {
		if it.State == proto.StateRefused {
			out = append(out, it.ID+": "+it.Reason)
		}
	}
	return out
}

// setPNGSize rewrites a PNG's IHDR to claim another size (a decompression
// bomb's header) and fixes the chunk's CRC.
func setPNGSize(p []byte, w, h uint32) []byte {
	p = append([]byte(nil), p...)
	put := func(off int, v uint32) {
		p[off], p[off+1], p[off+2], p[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(16, w)
	put(20, h)
	put(29, crc32IEEE(p[12:29]))
	return p
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// listed is a row of hearthctl content ls --json.
type listed struct {
	ID     string          `json:"id"`
	Rev    uint64          `json:"rev"`
	Kind   proto.Kind      `json:"kind"`
	From   string          `json:"from"`
	Text   string          `json:"text"`
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
	State  proto.ItemState `json:"state"`
	Source string          `json:"source"`
}
