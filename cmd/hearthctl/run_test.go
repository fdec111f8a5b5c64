package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/media/photo"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

var now = time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)

func runCtl(t *testing.T, broker string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runEnv(ctx, append([]string{"--broker", broker}, args...), &out, &errb, func(e *env) {
		e.now = func() time.Time { return now }
		e.loc = time.UTC
	})
	return out.String() + errb.String(), err
}

// dialTest connects to broker as a test client, under a context that ends
// after within; done closes both.
func dialTest(t *testing.T, broker string, within time.Duration) (context.Context, *hsync.Conn, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	c, err := hsync.Dial(ctx, broker, "test")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return ctx, c, func() {
		c.Close()
		cancel()
	}
}

func retained(t *testing.T, broker, device string) map[string]proto.Item {
	t.Helper()
	ctx, c, hangUp := dialTest(t, broker, 10*time.Second)
	defer hangUp()
	msgs, err := c.Retained(ctx, proto.ContentFilter(device), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]proto.Item{}
	for topic, p := range msgs {
		it, err := proto.DecodeItem(device, topic, p)
		if err != nil {
			t.Fatalf("hearthctl published a payload the device refuses: %v", err)
		}
		out[it.ID] = it
	}
	return out
}

// retainedWith is retained once every id is among the items: a large
// photo may come well after the quiet time that ends one read, on a busy
// machine.
func retainedWith(t *testing.T, broker, device string, ids ...string) map[string]proto.Item {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		items := retained(t, broker, device)
		missing := ""
		for _, id := range ids {
			if _, ok := items[id]; !ok {
				missing = id
			}
		}
		if missing == "" {
			return items
		}
		if time.Now().After(deadline) {
			t.Fatalf("item %s is not retained on the broker", missing)
		}
	}
}

func TestSendMessageToTwoDevices(t *testing.T) {
	b := mqtttest.Start(t)
	out, err := runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchen,dad-hall", "--until", "2026-11-24T14:00",
		"--from", "Peter", "--id", "visit", "I'm coming on Tuesday at two.")
	if err != nil {
		t.Fatalf("send message: %v\n%s", err, out)
	}
	for _, d := range []string{"mum-kitchen", "dad-hall"} {
		it, ok := retained(t, b.URL(), d)["visit"]
		if !ok {
			t.Fatalf("%s got no item", d)
		}
		if it.From != "Peter" || it.Text != "I'm coming on Tuesday at two." || !it.End.Equal(time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)) || !it.Start.Equal(now) {
			t.Errorf("%s item = %+v", d, it)
		}
	}
	// Editing the same id raises the revision.
	if out, err := runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--days", "1", "--id", "visit", "Tuesday at three instead."); err != nil {
		t.Fatalf("edit: %v\n%s", err, out)
	}
	if it := retained(t, b.URL(), "mum-kitchen")["visit"]; it.Rev != 2 || it.Text != "Tuesday at three instead." {
		t.Errorf("after edit = rev %d %q, want rev 2 with the new text", it.Rev, it.Text)
	}
	// Removing publishes a tombstone above it.
	if out, err := runCtl(t, b.URL(), "content", "rm", "--device", "mum-kitchen", "visit"); err != nil {
		t.Fatalf("rm: %v\n%s", err, out)
	}
	if it := retained(t, b.URL(), "mum-kitchen")["visit"]; !it.Deleted || it.Rev != 3 {
		t.Errorf("after rm = %+v, want a tombstone at rev 3", it)
	}
}

func TestSendPhotoInlineAndScaled(t *testing.T) {
	b := mqtttest.Start(t)
	dir := t.TempDir()
	small := filepath.Join(dir, "small.jpg")
	_ = os.WriteFile(small, photo.GenerateTestJPEG(800, 600, 85), 0o644)
	big := filepath.Join(dir, "big.jpg")
	bigData := photo.GenerateTestJPEG(4000, 3000, 97)
	if len(bigData) <= proto.MaxInlinePhoto {
		t.Fatalf("test photo is only %d bytes; want more than the inline limit", len(bigData))
	}
	_ = os.WriteFile(big, bigData, 0o644)
	for _, f := range []string{small, big} {
		if out, err := runCtl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--id", filepath.Base(f[:len(f)-4]), "--caption", "x", f); err != nil {
			t.Fatalf("send photo %s: %v\n%s", f, err, out)
		}
	}
	items := retainedWith(t, b.URL(), "mum-kitchen", "small", "big")
	if it := items["small"]; it.Photo == nil || len(it.Photo.Data) == 0 || !it.End.Equal(now.AddDate(0, 0, defaultPhotoDays)) {
		t.Errorf("small photo item = %+v, want inline data and the default %d days", it, defaultPhotoDays)
	}
	if it := items["big"]; it.Photo == nil || len(it.Photo.Data) == 0 || len(it.Photo.Data) > proto.MaxInlinePhoto {
		n := 0
		if it.Photo != nil {
			n = len(it.Photo.Data)
		}
		t.Errorf("big photo travels with %d bytes inline, want a scaled copy within %d", n, proto.MaxInlinePhoto)
	}
}

func TestSendPhotoByUpload(t *testing.T) {
	b := mqtttest.Start(t)
	blobs := t.TempDir()
	srv := httptest.NewServer(blobStore{dir: blobs, max: proto.MaxURLPhoto})
	defer srv.Close()
	pic := filepath.Join(t.TempDir(), "p.jpg")
	data := photo.GenerateTestJPEG(640, 480, 85)
	_ = os.WriteFile(pic, data, 0o644)
	if out, err := runCtl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--id", "up", "--upload", srv.URL, pic); err != nil {
		t.Fatalf("send photo --upload: %v\n%s", err, out)
	}
	it := retained(t, b.URL(), "mum-kitchen")["up"]
	if it.Photo == nil || it.Photo.URL == "" || it.Photo.Size != int64(len(data)) {
		t.Fatalf("item = %+v, want a reference to the uploaded photo", it)
	}
	got, err := os.ReadFile(filepath.Join(blobs, it.Photo.SHA256))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("blob store holds %d bytes (%v), want the photo", len(got), err)
	}
}

func TestClearErrors(t *testing.T) {
	notPhoto := filepath.Join(t.TempDir(), "notes.txt")
	_ = os.WriteFile(notPhoto, []byte("hello"), 0o644)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no command":       {nil, "no command"},
		"unknown":          {[]string{"fly"}, "unknown command"},
		"no device":        {[]string{"send", "message", "hi"}, "--to"},
		"bad device":       {[]string{"send", "message", "--to", "a/b", "hi"}, "not valid"},
		"no text":          {[]string{"send", "message", "--to", "a"}, "no text"},
		"until and days":   {[]string{"send", "message", "--to", "a", "--days", "1", "--until", "2026-12-01", "hi"}, "not both"},
		"bad until":        {[]string{"send", "message", "--to", "a", "--until", "Tuesday", "hi"}, "--until"},
		"ends before":      {[]string{"send", "message", "--to", "a", "--until", "2026-11-01", "hi"}, "not after start"},
		"ended":            {[]string{"send", "message", "--to", "a", "--start", "2026-11-01", "--until", "2026-11-02", "hi"}, "before now"},
		"not a photo":      {[]string{"send", "photo", "--to", "a", notPhoto}, "not a JPEG, PNG or WebP"},
		"missing photo":    {[]string{"send", "photo", "--to", "a", "/nonexistent.jpg"}, "no such file"},
		"ls without dev":   {[]string{"content", "ls"}, "--device"},
		"rm without items": {[]string{"content", "rm", "--device", "a"}, "name the item"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := runCtl(t, "mqtt://127.0.0.1:1", tc.args...)
			if err == nil || !strings.Contains(err.Error()+out, tc.want) {
				t.Fatalf("hearthctl %v = %v, want an error about %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestContentListJSON(t *testing.T) {
	b := mqtttest.Start(t)
	reportAs(t, b.URL(), "mum-kitchen", nil)
	if out, err := runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--days", "2", "--id", "m1", "hello"); err != nil {
		t.Fatal(err, out)
	}
	out, err := runCtl(t, b.URL(), "content", "ls", "--device", "mum-kitchen", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []listed
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("content ls --json printed %q: %v", out, err)
	}
	if len(rows) != 1 || rows[0].ID != "m1" || rows[0].State != proto.StatePending || rows[0].Source != "sent" {
		t.Errorf("rows = %+v, want m1 pending (sent, no device report yet)", rows)
	}
}

func TestParseTime(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Stockholm")
	for in, want := range map[string]time.Time{
		"2026-11-24T14:00":          time.Date(2026, 11, 24, 14, 0, 0, 0, loc),
		"2026-11-24":                time.Date(2026, 11, 24, 0, 0, 0, 0, loc),
		"2026-11-24T14:00:00Z":      time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC),
		"2026-11-24T14:00:00+01:00": time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC),
	} {
		got, err := parseTime(in, loc)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// usageCommands reads the command names off the usage text's command
// lines: the lower-case words before the first flag or argument.
func usageCommands(text string) []string {
	var names []string
	_, list, _ := strings.Cut(text, "Commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	for _, line := range strings.Split(list, "\n") {
		rest, ok := strings.CutPrefix(line, "  ")
		if !ok || strings.HasPrefix(rest, " ") {
			continue // a continuation line
		}
		var words []string
		for _, w := range strings.Fields(rest) {
			if strings.IndexFunc(w, func(r rune) bool { return (r < 'a' || r > 'z') && r != '-' }) >= 0 || strings.HasPrefix(w, "-") {
				break
			}
			words = append(words, w)
		}
		names = append(names, strings.Join(words, " "))
	}
	return names
}

func TestUsageListsEveryCommand(t *testing.T) {
	inUsage := map[string]bool{}
	for _, n := range usageCommands(usage) {
		if inUsage[n] {
			t.Errorf("usage lists %q twice", n)
		}
		inUsage[n] = true
	}
	for _, c := range commands {
		if c.hidden != !inUsage[c.name] {
			t.Errorf("command %q: hidden %v, in the usage text %v; want it listed unless hidden", c.name, c.hidden, inUsage[c.name])
		}
		delete(inUsage, c.name)
	}
	for n := range inUsage {
		t.Errorf("usage lists %q, which is no command", n)
	}
	if len(commands) < 20 {
		t.Errorf("found %d commands, want every one (is the table cut short?)", len(commands))
	}
}

func TestUnknownCommand(t *testing.T) {
	for args, want := range map[string]string{
		"fly":            `unknown command "fly"`,
		"provision fly":  `unknown command "provision fly" (provision: ca init, new, inspect, batch, broker-cert, client-cert, revoke, crl, person, broker-files)`,
		"provision":      `unknown command "provision" (provision: ca init`,
		"send postcard":  `unknown command "send postcard" (send: photo, message)`,
		"demo-photos-x":  `unknown command "demo-photos-x"`,
		"provision ca x": `unknown command "provision ca" (provision: ca init`,
	} {
		_, err := runCtl(t, "mqtt://127.0.0.1:1", strings.Fields(args)...)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("hearthctl %s = %v, want %s", args, err, want)
		}
	}
}
