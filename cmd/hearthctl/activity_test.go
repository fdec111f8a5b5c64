package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

func TestDedupActivity(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	ev := func(id string, seq uint64, min int, typ string) proto.Activity {
		return proto.Activity{V: 1, Device: "d", ID: id, Seq: seq, Time: t0.Add(time.Duration(min) * time.Minute), Type: typ}
	}
	in := []proto.Activity{
		ev("c", 3, 3, "call_ended"),
		ev("a", 1, 1, "item_shown"),
		ev("c", 3, 3, "duplicate"), // delivered twice: the first copy wins
		ev("b", 2, 2, "call_answered"),
		ev("a", 1, 1, "duplicate"),
		ev("x", 2, 1, "item_expired"), // same seq: by time
	}
	got := dedupActivity(in)
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID+":"+a.Type)
	}
	if want := "a:item_shown x:item_expired b:call_answered c:call_ended"; strings.Join(ids, " ") != want {
		t.Errorf("dedupActivity = %s, want %s", strings.Join(ids, " "), want)
	}
	if s := sinceActivity(got, t0.Add(2*time.Minute)); len(s) != 2 || s[0].ID != "b" {
		t.Errorf("sinceActivity(2 min) = %+v, want b and c", s)
	}
	if s := sinceActivity(got, time.Time{}); len(s) != 4 {
		t.Errorf("sinceActivity(zero) kept %d, want all 4", len(s))
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"7d":                   now.AddDate(0, 0, -7),
		"2026-11-20T10:00:00Z": time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		"2026-11-20":           time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := parseSince(in, now, time.UTC); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "-1h", "xd"} {
		if _, err := parseSince(in, now, time.UTC); err == nil {
			t.Errorf("parseSince(%q) = nil error, want one", in)
		}
	}
}

func TestActivityCommand(t *testing.T) {
	b := mqtttest.Start(t)
	ctx, conn, hangUp := dialTest(t, b.URL(), 30*time.Second)
	defer hangUp()
	t0 := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	pub := func(a proto.Activity) {
		t.Helper()
		a.V, a.Device = 1, "mum-kitchen"
		p, _ := json.Marshal(a)
		if err := conn.Publish(ctx, proto.ActivityTopic("mum-kitchen", a.ID), p, true); err != nil {
			t.Fatal(err)
		}
	}
	pub(proto.Activity{ID: "e3", Seq: 3, Time: t0.Add(47 * time.Hour), Type: "call_ended", Caller: "nurse-eva", Call: "c-1",
		Reason: "Nurse Eva hung up", DurationMs: 252_000})
	pub(proto.Activity{ID: "e1", Seq: 1, Time: t0, Type: "item_shown", Item: "p-1"})
	pub(proto.Activity{ID: "e2", Seq: 2, Time: t0.Add(46 * time.Hour), Type: "call_answered", Caller: "nurse-eva", Mode: "forced"})
	pub(proto.Activity{ID: "e9", Seq: 9, Time: t0, Type: "gap", Dropped: 4})
	// Cleared by the device, another device's event and junk.
	_ = conn.Publish(ctx, proto.ActivityTopic("mum-kitchen", "old"), nil, true)
	_ = conn.Publish(ctx, proto.ActivityTopic("mum-kitchen", "junk"), []byte("{"), true)
	other, _ := json.Marshal(proto.Activity{V: 1, Device: "dad-hall", ID: "x", Type: "item_shown"})
	_ = conn.Publish(ctx, proto.ActivityTopic("mum-kitchen", "x"), other, true)

	ctl := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(ctx, append([]string{"--broker", b.URL(), "activity"}, args...), &out, &errb); err != nil {
			t.Fatalf("activity %v: %v\n%s", args, err, errb.String())
		}
		return out.String(), errb.String()
	}
	out, errs := ctl("mum-kitchen", "--json", "--quiet", "200ms")
	var got []proto.Activity
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("activity --json printed %q: %v", out, err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, " ") != "e1 e2 e3 e9" {
		t.Errorf("activity --json = %v, want e1 e2 e3 e9 (by seq)", ids)
	}
	if !strings.Contains(errs, "2 undecodable") {
		t.Errorf("stderr = %q, want 2 undecodable payloads counted", errs)
	}
	for _, field := range []string{`"id"`, `"time"`, `"type"`, `"seq"`} {
		if !strings.Contains(out, field) {
			t.Errorf("JSON lacks %s", field)
		}
	}

	out, _ = ctl("mum-kitchen", "--since", "24h", "--quiet", "200ms")
	if !strings.Contains(out, "call_answered") || !strings.Contains(out, "nurse-eva (forced)") ||
		!strings.Contains(out, "4m12s") || strings.Contains(out, "item_shown") || strings.Contains(out, "gap") {
		t.Errorf("activity --since 24h:\n%s", out)
	}

	// --follow prints what comes later, once.
	lines, w := newLinePipe()
	fctx, fcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(fctx, []string{"--broker", b.URL(), "activity", "mum-kitchen", "--follow", "--json", "--quiet", "100ms"}, w, &bytes.Buffer{})
	}()
	if first := <-lines; !strings.HasPrefix(first, "[") {
		t.Errorf("first line %q, want the JSON array", first)
	}
	pub(proto.Activity{ID: "e10", Seq: 10, Time: time.Now().UTC(), Type: "call_missed", Caller: "anna"})
	pub(proto.Activity{ID: "e2", Seq: 2, Time: t0.Add(46 * time.Hour), Type: "call_answered", Caller: "nurse-eva"}) // again
	pub(proto.Activity{ID: "e11", Seq: 11, Time: time.Now().UTC(), Type: "item_shown", Item: "p-2"})
	var next []string
	for range 2 {
		var a proto.Activity
		l := <-lines
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("follow line %q: %v", l, err)
		}
		next = append(next, a.ID)
	}
	fcancel()
	if err := <-done; err != nil {
		t.Fatalf("activity --follow: %v", err)
	}
	if strings.Join(next, " ") != "e10 e11" {
		t.Errorf("followed %v, want e10 e11 (e2 was seen)", next)
	}
	select {
	case l := <-lines:
		t.Errorf("extra line after the new events: %q", l)
	default:
	}
}
