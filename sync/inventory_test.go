package sync

import (
	"fmt"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/proto"
)

// A device holding more than one report carries lists what is on screen
// now and what comes next, says how many it left out, and lists the
// booked calls that are not over, soonest first.
func TestInventoryTruncatedAndBookings(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := t1
	ended := func(i int) proto.Item {
		return proto.Item{V: 1, ID: fmt.Sprintf("old-%04d", i), Device: dev, Rev: 1, Kind: proto.KindMessage, Text: "old",
			Start: now.Add(-48 * time.Hour), End: now.Add(-time.Hour - time.Duration(i)*time.Second)}
	}
	var wg gosync.WaitGroup
	items := make(chan proto.Item)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				if _, err := st.Apply(it, now); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := range maxInventoryItems + 2 {
		items <- ended(i)
	}
	// Named to sort after every old one by id.
	items <- proto.Item{V: 1, ID: "z-now", Device: dev, Rev: 1, Kind: proto.KindMessage, Text: "on screen",
		Start: now.Add(-time.Hour), End: now.Add(time.Hour)}
	items <- proto.Item{V: 1, ID: "z-next", Device: dev, Rev: 1, Kind: proto.KindMessage, Text: "tomorrow",
		Start: now.Add(24 * time.Hour), End: now.Add(48 * time.Hour)}
	items <- proto.Item{V: 1, ID: "z-gone", Device: dev, Rev: 2, Deleted: true}
	close(items)
	wg.Wait()
	for _, b := range []proto.Booking{
		{V: 1, ID: "bk-late", Device: dev, Caller: "nurse-eva", Rev: 1, At: now.Add(3 * time.Hour), LengthS: 600, Reason: "Medicine"},
		{V: 1, ID: "bk-soon", Device: dev, Caller: "nurse-eva", Rev: 1, At: now.Add(time.Hour), LengthS: 600},
		{V: 1, ID: "bk-over", Device: dev, Caller: "nurse-eva", Rev: 1, At: now.Add(-time.Hour), LengthS: 600},
		{V: 1, ID: "bk-off", Device: dev, Caller: "nurse-eva", Rev: 2, Cancel: true},
	} {
		if _, err := st.PutBooking(b, now); err != nil {
			t.Fatal(err)
		}
	}

	inv, err := Inventory(st, dev, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Items) != maxInventoryItems || !inv.Truncated || inv.Omitted != 5 {
		t.Errorf("inventory of %d items, truncated %v, omitted %d; want %d, true, 5", len(inv.Items), inv.Truncated, inv.Omitted, maxInventoryItems)
	}
	ids := func() []string {
		var out []string
		for _, it := range inv.Items {
			out = append(out, it.ID)
		}
		return out
	}()
	for _, want := range []string{"z-now", "z-next", "old-0000"} {
		if !slices.Contains(ids, want) {
			t.Errorf("%s is not listed", want)
		}
	}
	for _, left := range []string{"z-gone", "old-2001"} {
		if slices.Contains(ids, left) {
			t.Errorf("%s is listed, want it left out before what is on screen and next", left)
		}
	}
	if !slices.IsSorted(ids) {
		t.Error("listed items are not by id")
	}
	var got []string
	for _, b := range inv.Bookings {
		got = append(got, b.ID)
	}
	if !slices.Equal(got, []string{"bk-soon", "bk-late"}) {
		t.Errorf("bookings = %v, want [bk-soon bk-late]", got)
	}
	if b := inv.Bookings[1]; b.Caller != "nurse-eva" || b.LengthS != 600 || b.Reason != "Medicine" || !b.At.Equal(now.Add(3*time.Hour)) {
		t.Errorf("booking = %+v", b)
	}
}
