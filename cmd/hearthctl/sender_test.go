package main

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/media/photo"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// reportAs publishes, retained, what a device that exists reports: its
// state and its availability (with av's zone fields, when given).
func reportAs(t *testing.T, broker, device string, av *proto.Availability) {
	t.Helper()
	ctx, c, hangUp := dialTest(t, broker, 10*time.Second)
	defer hangUp()
	st, _ := json.Marshal(proto.State{V: 1, Device: device, State: proto.LifeReady, Session: 1, Time: now})
	if err := c.Publish(ctx, proto.StateTopic(device), st, true); err != nil {
		t.Fatal(err)
	}
	if av != nil {
		av.V, av.Device, av.Time = 1, device, now
		b, _ := json.Marshal(av)
		if err := c.Publish(ctx, proto.AvailabilityTopic(device), b, true); err != nil {
			t.Fatal(err)
		}
	}
}

// newSender makes a sender's key folder, as hearthctl caller new does.
func newSender(t *testing.T, id, name string) (string, provisioning.Caller) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), id)
	c, err := provisioning.NewCaller(dir, id, name)
	if err != nil {
		t.Fatal(err)
	}
	return dir, c
}

// verifySigned checks it as a device does: a signed item whose signature
// over SigningBytes verifies with the sender's public key, and which the
// device's checker (callauth) takes from a sender the allowlist lets send.
func verifySigned(t *testing.T, it proto.Item, who provisioning.Caller) {
	t.Helper()
	org, err := provisioning.NewOrg(filepath.Join(t.TempDir(), "org"), "Org")
	if err != nil {
		t.Fatal(err)
	}
	chk, err := callauth.New(org.Public(), nil)
	if err != nil {
		t.Fatal(err)
	}
	list := org.Allow(proto.Allowlist{}, proto.AllowedCaller{ID: who.ID, Name: who.Name, Key: who.Public(),
		Mode: []proto.CallMode{proto.RightSend}}, now)
	if err := chk.SetAllowlist(list); err != nil {
		t.Fatal(err)
	}
	if _, err := chk.CheckItem(it); err != nil {
		t.Fatalf("the device's checker refuses item %s: %v", it.ID, err)
	}
	tampered := it
	tampered.Rev++
	if _, err := chk.CheckItem(tampered); err == nil {
		t.Fatalf("the checker takes item %s with its revision changed after signing", it.ID)
	}
	if it.Sender != who.ID || len(it.Sig) != ed25519.SignatureSize {
		t.Fatalf("item %s: sender %q, sig of %d bytes; want signed by %s", it.ID, it.Sender, len(it.Sig), who.ID)
	}
	if !ed25519.Verify(who.Public(), it.SigningBytes(), it.Sig) {
		t.Fatalf("item %s: the signature does not verify over SigningBytes:\n%s", it.ID, it.SigningBytes())
	}
	if it.Days != 0 || (it.End.IsZero() && !it.Deleted) {
		t.Errorf("item %s: days %d end %v; a signed item gives end, never days", it.ID, it.Days, it.End)
	}
}

func TestSignedSendEditRemove(t *testing.T) {
	b := mqtttest.Start(t)
	for _, d := range []string{"mum-kitchen", "dad-hall"} {
		reportAs(t, b.URL(), d, nil)
	}
	dir, anna := newSender(t, "anna", "Anna")
	out, err := runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchen,dad-hall", "--days", "2", "--caller", dir,
		"--id", "hello", "  Hello Mum!  ")
	if err != nil {
		t.Fatalf("send message --caller: %v\n%s", err, out)
	}
	if strings.Contains(out, "warning") {
		t.Errorf("a signed send to reporting devices warned:\n%s", out)
	}
	for _, d := range []string{"mum-kitchen", "dad-hall"} {
		it := retained(t, b.URL(), d)["hello"]
		verifySigned(t, it, anna)
		if it.Text != "Hello Mum!" || it.From != "Anna" || !it.End.Equal(now.AddDate(0, 0, 2)) {
			t.Errorf("%s: item %+v, want the trimmed text from Anna for 2 days", d, it)
		}
	}

	// A photo, signed, from $HEARTH_CALLER.
	pic := filepath.Join(t.TempDir(), "p.jpg")
	_ = os.WriteFile(pic, photo.GenerateTestJPEG(320, 240, 85), 0o644)
	t.Setenv("HEARTH_CALLER", dir)
	if out, err := runCtl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--id", "pic", "--caption", "Us ", pic); err != nil {
		t.Fatalf("send photo: %v\n%s", err, out)
	}
	verifySigned(t, retained(t, b.URL(), "mum-kitchen")["pic"], anna)
	t.Setenv("HEARTH_CALLER", "")

	// content edit: a new window, the next revision, signed again.
	out, err = runCtl(t, b.URL(), "content", "edit", "--device", "mum-kitchen", "--caller", dir,
		"--start", "2026-11-23T09:00", "--until", "2026-11-25T20:00", "hello")
	if err != nil {
		t.Fatalf("content edit: %v\n%s", err, out)
	}
	it := retained(t, b.URL(), "mum-kitchen")["hello"]
	verifySigned(t, it, anna)
	if it.Rev != 2 || !it.Start.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) ||
		!it.End.Equal(time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)) || it.Text != "Hello Mum!" {
		t.Errorf("after edit: %+v, want rev 2, 23 Nov 09:00 to 25 Nov 20:00, the same text", it)
	}
	// --days alone keeps the start.
	if out, err := runCtl(t, b.URL(), "content", "edit", "--device", "mum-kitchen", "--caller", dir, "--days", "1", "hello"); err != nil {
		t.Fatalf("content edit --days: %v\n%s", err, out)
	}
	if it := retained(t, b.URL(), "mum-kitchen")["hello"]; it.Rev != 3 || !it.End.Equal(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("after edit --days 1: rev %d end %v, want rev 3 ending 24 Nov 09:00", it.Rev, it.End)
	}

	// content rm: a signed tombstone.
	if out, err := runCtl(t, b.URL(), "content", "rm", "--device", "mum-kitchen", "--caller", dir, "hello"); err != nil {
		t.Fatalf("content rm: %v\n%s", err, out)
	}
	tomb := retained(t, b.URL(), "mum-kitchen")["hello"]
	if !tomb.Deleted || tomb.Rev != 4 {
		t.Fatalf("after rm: %+v, want a tombstone at rev 4", tomb)
	}
	verifySigned(t, tomb, anna)
}

func TestUnsignedSendWarns(t *testing.T) {
	b := mqtttest.Start(t)
	reportAs(t, b.URL(), "mum-kitchen", nil)
	t.Setenv("HEARTH_CALLER", "")
	out, err := runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--from", "Peter", "--id", "m", "Hi")
	if err != nil {
		t.Fatalf("send message: %v\n%s", err, out)
	}
	if !strings.Contains(out, "unsigned") || !strings.Contains(out, "refuse") {
		t.Errorf("an unsigned send says:\n%s\nwant a warning that signing screens refuse it", out)
	}
	if it := retained(t, b.URL(), "mum-kitchen")["m"]; it.Sender != "" || it.Sig != nil || it.From != "Peter" {
		t.Errorf("unsigned item = %+v, want no sender or sig, from Peter", it)
	}
}

func TestUnknownDevice(t *testing.T) {
	b := mqtttest.Start(t)
	reportAs(t, b.URL(), "mum-kitchen", nil)
	dir, _ := newSender(t, "anna", "Anna")
	// A typo: sent with a warning; with --strict refused and nothing sent.
	out, err := runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchn", "--caller", dir, "--id", "a", "Hi")
	if err != nil || !strings.Contains(out, `no device "mum-kitchn" has ever reported`) {
		t.Fatalf("send to a typo = %v\n%s\nwant it sent with a warning", err, out)
	}
	if _, ok := retained(t, b.URL(), "mum-kitchn")["a"]; !ok {
		t.Errorf("without --strict the item was not sent")
	}
	out, err = runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchen,mum-kitchn2", "--caller", dir, "--id", "b", "--strict", "Hi")
	if err == nil || !strings.Contains(err.Error(), `"mum-kitchn2" has ever reported`) || !strings.Contains(err.Error(), "--strict") {
		t.Fatalf("send --strict to a typo = %v\n%s\nwant a refusal naming it", err, out)
	}
	if n := len(retained(t, b.URL(), "mum-kitchen")); n != 0 {
		t.Errorf("--strict refused, yet %d items reached the good device", n)
	}
	// A known device: no warning.
	if out, err := runCtl(t, b.URL(), "send", "message", "--to", "mum-kitchen", "--caller", dir, "--strict", "Hi"); err != nil || strings.Contains(out, "warning") {
		t.Errorf("send --strict to a reporting device = %v\n%s", err, out)
	}

	// Every command that names a device refuses a typo with --strict,
	// before it sends anything.
	org := filepath.Join(t.TempDir(), "org")
	if _, err := provisioning.NewOrg(org, "Org"); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"content ls":   {"content", "ls", "--device", "mum-kitchn", "--strict"},
		"content rm":   {"content", "rm", "--device", "mum-kitchn", "--strict", "a"},
		"content edit": {"content", "edit", "--device", "mum-kitchn", "--strict", "--days", "2", "a"},
		"call":         {"call", "mum-kitchn", "--caller", dir, "--strict"},
		"book":         {"book", "mum-kitchn", "--caller", dir, "--at", "14:00", "--strict"},
		"admin":        {"admin", "mum-kitchn", "--org", org, "--strict", "reboot"},
		"activity":     {"activity", "mum-kitchn", "--strict"},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			out, err := runCtl(t, b.URL(), args...)
			if err == nil || !strings.Contains(err.Error(), `"mum-kitchn" has ever reported`) {
				t.Fatalf("%s --strict to a typo = %v\n%s", name, err, out)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s took %s to refuse", name, d)
			}
		})
	}
	// call without --strict says so at once, and how long it waits.
	out, err = runCtl(t, b.URL(), "call", "mum-kitchn", "--caller", dir, "--wait", "1s")
	if err == nil || !strings.Contains(out, "has ever reported") || !strings.Contains(out, "waiting up to 1s") {
		t.Errorf("call to a typo = %v\n%s\nwant a warning and the wait named", err, out)
	}
}

func TestTruncatedPhotoRefused(t *testing.T) {
	b := mqtttest.Start(t)
	reportAs(t, b.URL(), "mum-kitchen", nil)
	data := photo.GenerateTestJPEG(800, 600, 85)
	cut := filepath.Join(t.TempDir(), "cut.jpg")
	_ = os.WriteFile(cut, data[:len(data)*2/3], 0o644)
	out, err := runCtl(t, b.URL(), "send", "photo", "--to", "mum-kitchen", "--id", "cut", cut)
	if err == nil || !strings.Contains(err.Error(), "damaged or cut short") || !strings.Contains(err.Error(), "nothing sent") {
		t.Fatalf("send photo of a truncated JPEG = %v\n%s\nwant a clear refusal", err, out)
	}
	if n := len(retained(t, b.URL(), "mum-kitchen")); n != 0 {
		t.Errorf("%d items published for a truncated photo, want none", n)
	}
}

// TestHelpExitsZero runs every command with --help: usage on stderr, no
// error, nothing about "help requested".
func TestHelpExitsZero(t *testing.T) {
	cmds := make([]string, 0, len(commands)+2)
	for _, c := range commands {
		cmds = append(cmds, c.name)
	}
	cmds = append(cmds, "provision", "send", "")
	for _, name := range cmds {
		for _, h := range []string{"--help", "-h"} {
			args := append(strings.Fields(name), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Chdir(t.TempDir()) // a command that took --help for a file would leave it here
				out, err := runCtl(t, "mqtt://127.0.0.1:1", args...)
				if err != nil {
					t.Fatalf("hearthctl %s = %v\n%s", strings.Join(args, " "), err, out)
				}
				if strings.Contains(out, "help requested") || strings.TrimSpace(out) == "" {
					t.Errorf("hearthctl %s printed:\n%s\nwant the usage, and no \"help requested\"", strings.Join(args, " "), out)
				}
				if ents, _ := os.ReadDir("."); len(ents) != 0 {
					t.Errorf("hearthctl %s made %s", strings.Join(args, " "), ents[0].Name())
				}
			})
		}
	}
}

func TestContentTableFits(t *testing.T) {
	long := "unsigned item: this screen takes only signed items; ask the organisation for a key and send it again with --caller"
	rows := []listed{
		{ID: "m-abcdefghijklmnop", Kind: proto.KindMessage, From: "Peter Andersson-Lindqvist", Text: "I'm coming on Tuesday at two. We'll have coffee.",
			Start: now, End: now.Add(48 * time.Hour), State: proto.StateRefused, Reason: long},
		{ID: "p-qrstuvwxyzabcdef", Kind: proto.KindPhoto, From: "Anna", Text: "Ella's first bike",
			Start: now, End: now.Add(72 * time.Hour), State: proto.StateReady},
	}
	for _, width := range []int{80, 100} {
		var buf strings.Builder
		if err := writeTable(&buf, width, contentColumns, contentCells(rows, time.UTC)); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
		for _, l := range lines {
			if n := len([]rune(l)); n > width {
				t.Errorf("width %d: line of %d characters:\n%s", width, n, l)
			}
		}
		if !strings.Contains(lines[0], "TEXT") || !strings.Contains(lines[2], "(photo) Ella") || !strings.Contains(lines[1], "I'm coming") {
			t.Errorf("width %d: the text column is lost:\n%s", width, buf.String())
		}
		if !strings.Contains(lines[1], "m-abcdefghijklmnop") || !strings.Contains(lines[1], "refused*") {
			t.Errorf("width %d: the id was cut:\n%s", width, buf.String())
		}
	}
	// The full reason follows the table, wrapped.
	w := wrap("2 Dec 10:00:00  hearth/mum-kitchen/content/m-abc: "+long, 78, 4)
	for _, l := range strings.Split(w, "\n") {
		if len([]rune(l)) > 78 {
			t.Errorf("wrapped line of %d: %q", len([]rune(l)), l)
		}
	}
	if strings.Join(strings.Fields(w), " ") != "2 Dec 10:00:00 hearth/mum-kitchen/content/m-abc: "+long {
		t.Errorf("wrap lost words: %q", w)
	}
}

func TestActivityShowsItemText(t *testing.T) {
	al := activityLines{loc: time.UTC, items: map[string]itemText{"p-old": {Kind: proto.KindPhoto, Text: "Sunset"}}}
	for _, tc := range []struct {
		a    proto.Activity
		want string
	}{
		{proto.Activity{Type: "item_shown", Item: "p-1", ItemKind: proto.KindPhoto, ItemText: "Ella's bike"}, `photo "Ella's bike"`},
		{proto.Activity{Type: "item_expired", Item: "p-old"}, `photo "Sunset"`},                   // an older device: the inventory's text
		{proto.Activity{Type: "item_shown", Item: "p-2", ItemKind: proto.KindPhoto}, `photo p-2`}, // no caption
		{proto.Activity{Type: "item_removed", Item: "gone"}, `gone`},
	} {
		var buf strings.Builder
		al.line(&buf, tc.a)
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("line(%+v) = %q, want %s", tc.a, buf.String(), tc.want)
		}
	}
	// A reason too long for its column follows in full, within the width.
	al.width = 80
	long := "unsigned item: this screen takes only signed items (item m-abc rev 2)"
	var buf strings.Builder
	al.line(&buf, proto.Activity{Type: "input_refused", Item: "m-abc", Reason: long})
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(strings.Join(lines[1:], " ")), " ") != long {
		t.Errorf("a long reason printed as:\n%s\nwant it in full after the line", buf.String())
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d characters: %q", n, l)
		}
	}
}

func TestScreenZone(t *testing.T) {
	b := mqtttest.Start(t)
	// 20:01 on the screen, 19:01 UTC: the screen's clock is shown.
	until := time.Date(2026, 11, 22, 19, 1, 0, 0, time.UTC)
	reportAs(t, b.URL(), "mum-kitchen", &proto.Availability{State: proto.AvailDoNotDisturb, DNDUntil: until,
		Zone: "Europe/Stockholm", UTCOffsetS: 3600})
	org := filepath.Join(t.TempDir(), "org")
	if _, err := provisioning.NewOrg(org, "Org"); err != nil {
		t.Fatal(err)
	}
	out, err := runCtl(t, b.URL(), "admin", "mum-kitchen", "--org", org, "dnd", "--until", "14:30")
	if err != nil {
		t.Fatalf("admin dnd: %v\n%s", err, out)
	}
	if !strings.Contains(out, "until Mon 23 Nov 14:30 (the screen's time, Europe/Stockholm)") {
		t.Errorf("admin dnd --until 14:30 said:\n%s\nwant 14:30 on the screen's clock", out)
	}
	out, err = runCtl(t, b.URL(), "fleet")
	if err != nil || !strings.Contains(out, "do_not_disturb until 20:01 CET") {
		t.Errorf("fleet = %v\n%s\nwant do-not-disturb until 20:01 CET", err, out)
	}
	// A signalled call is told before it waits.
	dir, _ := newSender(t, "anna", "Anna")
	out, _ = runCtl(t, b.URL(), "call", "mum-kitchen", "--caller", dir, "--wait", "500ms")
	if !strings.Contains(out, "do-not-disturb until 20:01 (the screen's time, Europe/Stockholm): only forced calls") {
		t.Errorf("call during do-not-disturb said:\n%s\nwant its end on the screen's clock", out)
	}
}

func TestDemoContentIdempotent(t *testing.T) {
	b := mqtttest.Start(t)
	photos := t.TempDir()
	if out, err := runCtl(t, b.URL(), "demo-photos", photos); err != nil {
		t.Fatalf("demo-photos: %v\n%s", err, out)
	}
	keys := t.TempDir()
	anna, err := provisioning.NewCaller(filepath.Join(keys, "anna"), "anna", "Anna")
	if err != nil {
		t.Fatal(err)
	}
	var first map[string]proto.Item
	for run := 1; run <= 2; run++ {
		out, err := runCtl(t, b.URL(), "demo-content", "--device", "demo-kitchen", "--photos", photos, "--keys", keys)
		if err != nil {
			t.Fatalf("demo-content run %d: %v\n%s", run, err, out)
		}
		items := retained(t, b.URL(), "demo-kitchen")
		if len(items) != len(demoItems) {
			t.Fatalf("after run %d the broker holds %d items, want %d", run, len(items), len(demoItems))
		}
		if run == 1 {
			first = items
			continue
		}
		for id, it := range items {
			if it.Rev != first[id].Rev {
				t.Errorf("%s: rev %d after the second run, %d after the first: want it left alone", id, it.Rev, first[id].Rev)
			}
		}
	}
	for id, it := range first {
		if (it.Sender != "") != (it.From == "Anna") {
			t.Errorf("%s from %s: sender %q; want Anna's items signed (her key is in --keys), the rest unsigned", id, it.From, it.Sender)
		}
		if it.Sender != "" {
			verifySigned(t, it, anna)
		}
	}
}

// TestCallLimit: the caller reads when the call ends, on the screen's
// clock, again when it moves, and is warned 5 minutes before.
func TestCallLimit(t *testing.T) {
	var out strings.Builder
	stockholm, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Skip(err)
	}
	l := &callLimit{e: &env{stderr: &out, loc: time.UTC}, loc: stockholm}
	defer l.stop()
	ends := time.Now().Add(warnBefore + 300*time.Millisecond)
	l.set(ends)
	l.set(ends) // the same end again (every state reply carries it): said once
	if l.warnC() == nil {
		t.Fatal("no warning timer for a call with an end")
	}
	select {
	case <-l.warnC():
		l.warn()
	case <-time.After(5 * time.Second):
		t.Fatal("no warning 5 minutes before the end")
	}
	if l.warnC() != nil {
		t.Error("warned, yet the warning timer is still armed")
	}
	later := ends.Add(15 * time.Minute) // extended
	l.set(later)
	got := out.String()
	at := ends.In(stockholm).Format("15:04")
	for _, want := range []string{
		"the call may last until " + at + " (the screen's time, Europe/Stockholm): 5m",
		"the call ends in 5m0s, at " + at,
		"the call now ends at " + later.In(stockholm).Format("15:04"),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("call said:\n%s\nwant %q", got, want)
		}
	}
	if n := strings.Count(got, "may last until"); n != 1 {
		t.Errorf("the end was told %d times, want once", n)
	}
}

// TestActivityNamesItems: hearthctl activity against a broker names items
// by their text: from the event's item_text, or for an older device's
// event from its inventory.
func TestActivityNamesItems(t *testing.T) {
	b := mqtttest.Start(t)
	reportAs(t, b.URL(), "mum-kitchen", nil)
	ctx, conn, hangUp := dialTest(t, b.URL(), 20*time.Second)
	defer hangUp()
	pub := func(topic string, v any) {
		t.Helper()
		p, _ := json.Marshal(v)
		if err := conn.Publish(ctx, topic, p, true); err != nil {
			t.Fatal(err)
		}
	}
	pub(proto.InventoryTopic("mum-kitchen"), proto.Inventory{V: 1, Device: "mum-kitchen", Time: now, Items: []proto.InventoryItem{
		{ID: "p-old", Rev: 1, Kind: proto.KindPhoto, From: "Anna", Text: "Ella's first bike", Start: now, End: now.Add(time.Hour), State: proto.StateReady},
	}})
	for _, a := range []proto.Activity{
		{ID: "e1", Seq: 1, Time: now, Type: "item_shown", Item: "p-old"},
		{ID: "e2", Seq: 2, Time: now, Type: "item_shown", Item: "m-new", ItemKind: proto.KindMessage, ItemText: "Tea at four"},
	} {
		a.V, a.Device = 1, "mum-kitchen"
		pub(proto.ActivityTopic("mum-kitchen", a.ID), a)
	}
	out, err := runCtl(t, b.URL(), "activity", "mum-kitchen", "--quiet", "200ms")
	if err != nil {
		t.Fatalf("activity: %v\n%s", err, out)
	}
	for _, want := range []string{`photo "Ella's first bike"`, `message "Tea at four"`} {
		if !strings.Contains(out, want) {
			t.Errorf("activity printed:\n%s\nwant %s", out, want)
		}
	}
}
