package store

import (
	"testing"
	"time"
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
