package store

import (
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/sync/proto"
)

func TestActivityLog(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{MaxActivity: 20})
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for i := range 25 {
		if err := s.LogActivity(Activity{Time: t0.Add(time.Duration(i) * time.Second), Type: "call_refused", Reason: "unknown caller"}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Activities(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) > 20 {
		t.Fatalf("%d entries kept, bound 20", len(all))
	}
	var gaps, dropped uint64
	seen := map[string]bool{}
	for i, a := range all {
		if seen[a.ID] || (i > 0 && a.Seq <= all[i-1].Seq) {
			t.Fatalf("ids not unique and rising: %+v", all)
		}
		seen[a.ID] = true
		if a.Type == "gap" {
			gaps++
			dropped += a.Dropped
		}
	}
	if gaps == 0 || dropped == 0 {
		t.Fatalf("no gap entry after dropping: %+v", all)
	}
	// Entries survive a restart, and numbering goes on.
	last := all[len(all)-1].Seq
	s.Close()
	s = openT(t, dir, Options{MaxActivity: 20})
	if err := s.LogActivity(Activity{Time: t0, Type: "call_answered"}); err != nil {
		t.Fatal(err)
	}
	after, err := s.Activities(last, 10)
	if err != nil || len(after) == 0 || after[0].Seq != last+1 || after[0].Type != "call_answered" {
		t.Fatalf("after restart: %+v, %v", after, err)
	}
}

func TestSpendCallID(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	if fresh, err := s.SpendCallID("c-1", now.Add(2*time.Minute), now); err != nil || !fresh {
		t.Fatalf("first use: %v %v", fresh, err)
	}
	s.Close()
	s = openT(t, dir, Options{})
	if fresh, _ := s.SpendCallID("c-1", now.Add(2*time.Minute), now.Add(time.Minute)); fresh {
		t.Fatal("a spent call id was fresh again after a restart")
	}
	// Once its invite has expired the id is forgotten (and could not pass
	// the expiry check anyway).
	if fresh, _ := s.SpendCallID("c-1", now.Add(10*time.Minute), now.Add(3*time.Minute)); !fresh {
		t.Fatal("an expired id was kept")
	}
}

func TestLifeAndSessions(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	l, err := s.RecordStart("boot-a")
	if err != nil || l.Boots != 1 || l.Restarts != 1 || l.LastExit != "" {
		t.Fatalf("first start: %+v %v", l, err)
	}
	s1, _ := s.NextSession()
	s2, _ := s.NextSession()
	if s2 <= s1 {
		t.Fatalf("sessions %d then %d", s1, s2)
	}
	s.Close() // no RecordStop: a crash
	s = openT(t, dir, Options{})
	if l, _ = s.RecordStart("boot-a"); l.LastExit != "crashed or lost power" || l.Restarts != 2 || l.Boots != 1 {
		t.Fatalf("after a crash: %+v", l)
	}
	if s3, _ := s.NextSession(); s3 <= s2 {
		t.Fatalf("session went back: %d after %d", s3, s2)
	}
	s.RecordStop("stopped")
	s.Close()
	s = openT(t, dir, Options{})
	if l, _ = s.RecordStart("boot-b"); l.LastExit != "stopped" || l.Boots != 2 || l.Restarts != 3 {
		t.Fatalf("after a clean stop and a reboot: %+v", l)
	}
	if changed, _ := s.ConfigChanged("h1"); changed {
		t.Fatal("first config is not a change")
	}
	if changed, _ := s.ConfigChanged("h2"); !changed {
		t.Fatal("config change not seen")
	}
	if err := s.SetActivityDelivered(5); err != nil {
		t.Fatal(err)
	}
	s.SetActivityDelivered(3)
	if n, _ := s.ActivityDelivered(); n != 5 {
		t.Fatalf("delivered = %d, want 5 (never backwards)", n)
	}
}

func TestShownExpiredRefusedAreLogged(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	it := msg("m-1", 1)
	if _, err := s.Apply(it, it.Start); err != nil {
		t.Fatal(err)
	}
	now := it.Start.Add(time.Minute)
	if first, err := s.MarkShown("m-1", 1, now); err != nil || !first {
		t.Fatalf("MarkShown = %v, %v", first, err)
	}
	if first, _ := s.MarkShown("m-1", 1, now.Add(time.Minute)); first {
		t.Fatal("shown twice")
	}
	if r, ok, _ := s.Get("m-1"); !ok || !r.Shown.Equal(now) {
		t.Fatalf("record shown = %v", r.Shown)
	}
	if _, err := s.Expire(it.End.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRefusal(proto.Refusal{Time: now, Topic: "t", ID: "x", Reason: "too large"}); err != nil {
		t.Fatal(err)
	}
	acts, _ := s.Activities(0, 10)
	var got []string
	for _, a := range acts {
		got = append(got, a.Type+":"+a.Item)
	}
	want := "item_shown:m-1 input_refused:x"
	if strings.Join(got, " ") != want {
		t.Fatalf("activity %v, want %s", got, want)
	}
	if a := acts[0]; a.ItemKind != proto.KindMessage || a.ItemText != "hello m-1" {
		t.Errorf("item_shown of %q %q, want the message \"hello m-1\"", a.ItemKind, a.ItemText)
	}
	if ev := ActivityEvent("dev1", acts[0]); ev.ItemKind != proto.KindMessage || ev.ItemText != "hello m-1" {
		t.Errorf("upward item_shown %+v lacks the item's kind and text", ev)
	}
}

func TestCutText(t *testing.T) {
	long := strings.Repeat("å", 100)
	for in, want := range map[string]string{"": "", "short": "short", long: strings.Repeat("å", 80),
		strings.Repeat("x", 80): strings.Repeat("x", 80)} {
		if got := CutText(in); got != want {
			t.Errorf("CutText(%d runes) = %d runes, want %d", len([]rune(in)), len([]rune(got)), len([]rune(want)))
		}
	}
}

func TestSettingsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	if _, ok := s.Setting(SettingVolume); ok {
		t.Fatal("a setting before any was made")
	}
	if err := s.SetSetting(SettingVolume, "40"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir, Options{})
	if v, ok := s.Setting(SettingVolume); !ok || v != "40" {
		t.Fatalf("volume = %q %v", v, ok)
	}
}
