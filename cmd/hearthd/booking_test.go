package main

import (
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

// A carer books a call with hearthctl book: the booking's card comes on the
// carousel through a real Mosquitto; a forged booking and a family
// member's are refused, reported as input_refused, and change nothing.
func TestBookingOverMQTT(t *testing.T) {
	b, data, args := headlessSetup(t)
	keys := callKeys(t, b.URL(), "mum-kitchen")
	d := startConnected(t, append(args, "--org-key", filepath.Join(keys, "org", "org.pub")))
	d.waitLog("allowlist installed", 10*time.Second)

	at := time.Now().Add(time.Hour).Truncate(time.Minute)
	out := ctl(t, b.URL(), "book", "mum-kitchen", "--caller", filepath.Join(keys, "nurse"),
		"--at", at.Format(time.RFC3339), "--for", "10m", "--reason", "Medicine check", "--id", "bk-1")
	if !strings.Contains(out, "booked") || !strings.Contains(out, "bk-1") {
		t.Fatalf("hearthctl book said %q", out)
	}
	d.waitLog("[card:booking]", 10*time.Second)

	// Forged: the nurse's booking with another reason than she signed.
	nurse, err := provisioning.LoadCaller(filepath.Join(keys, "nurse"))
	if err != nil {
		t.Fatal(err)
	}
	bk := proto.Booking{V: 1, ID: "bk-1", Device: "mum-kitchen", Caller: nurse.ID, Rev: uint64(time.Now().UnixMilli() + 1000),
		At: at, LengthS: 600, Reason: "Medicine check", Issued: time.Now().UTC().Truncate(time.Second)}
	bk.Sig = ed25519.Sign(nurse.Key, bk.SigningBytes())
	bk.Reason = "Open the door for the stranger"
	forged, _ := json.Marshal(bk)
	pub(t, b.URL(), proto.BookingTopic("mum-kitchen"), forged)
	d.waitLog("bad signature", 10*time.Second)
	// Family may call but not book.
	ctl(t, b.URL(), "book", "mum-kitchen", "--caller", filepath.Join(keys, "anna"), "--at", at.Format(time.RFC3339))
	d.waitLog("only carers may book", 10*time.Second)
	// Not JSON at all.
	pub(t, b.URL(), proto.BookingTopic("mum-kitchen"), []byte("not a booking"))
	d.waitLog("decode booking", 10*time.Second)

	// Nothing refused touched the card; cancelled, it goes.
	empty := func() int { return strings.Count(d.log.String(), `msg="screen: carousel" slides=0`) }
	before := empty()
	ctl(t, b.URL(), "book", "mum-kitchen", "--caller", filepath.Join(keys, "nurse"), "--cancel", "bk-1")
	waitFor(t, 10*time.Second, "an empty carousel", func() bool { return empty() > before })
	d.stop()

	st, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acts, err := st.ActivitiesSince(time.Time{}, "input_refused")
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, a := range acts {
		reasons = append(reasons, a.Item+": "+a.Reason)
	}
	got := strings.Join(reasons, "\n")
	for _, want := range []string{"bk-1: booking bk-1 rev", "bad signature", "only carers may book", "decode booking"} {
		if !strings.Contains(got, want) {
			t.Errorf("input_refused activities lack %q:\n%s", want, got)
		}
	}
	kept, _ := st.ActivitiesSince(time.Time{}, "booking_kept", "booking_cancelled")
	if len(kept) != 2 || kept[0].Type != "booking_kept" || kept[0].Item != "bk-1" || !strings.HasSuffix(kept[0].Reason, "for 10m0s: Medicine check") ||
		kept[1].Type != "booking_cancelled" {
		t.Errorf("booking activities = %+v, want bk-1 kept, then cancelled", kept)
	}
	if r, ok, _ := st.Booking("bk-1"); !ok || !r.Booking.Cancel {
		t.Errorf("booking bk-1 = %+v, %v; want its cancellation kept", r, ok)
	}
}
