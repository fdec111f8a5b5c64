package sync

import (
	"testing"
	"time"
)

func TestRefusalCounter(t *testing.T) {
	var r refusalCounter
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := range 1000 {
		rec, more := r.note(t0.Add(time.Duration(i) * time.Millisecond))
		if want := i < refusalsRecorded; rec != want || more != 0 {
			t.Fatalf("note %d = %v, %d; want %v, 0", i, rec, more, want)
		}
	}
	// The next window reports the last one's count once.
	if rec, more := r.note(t0.Add(refusalWindow + time.Second)); !rec || more != 1000-refusalsRecorded {
		t.Fatalf("next window: note = %v, %d; want true, %d", rec, more, 1000-refusalsRecorded)
	}
	if rec, more := r.note(t0.Add(refusalWindow + 2*time.Second)); !rec || more != 0 {
		t.Fatalf("next window, second: note = %v, %d; want true, 0", rec, more)
	}
}
