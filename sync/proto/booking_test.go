package proto

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func validBooking() Booking {
	return Booking{V: 1, ID: "b-1", Device: "mum-kitchen", Caller: "nurse-eva", Rev: 1,
		At: t0.Add(5 * time.Hour), LengthS: 600, Reason: "Medicine check", Issued: t0, Sig: []byte{1}}
}

func TestDecodeBooking(t *testing.T) {
	cancel := Booking{V: 1, ID: "b-1", Device: "mum-kitchen", Caller: "nurse-eva", Rev: 2, Cancel: true, Issued: t0, Sig: []byte{1}}
	for name, tc := range map[string]struct {
		edit func(*Booking)
		want error
	}{
		"good":              {func(*Booking) {}, nil},
		"cancel":            {func(b *Booking) { *b = cancel }, nil},
		"other device":      {func(b *Booking) { b.Device = "other" }, ErrWrongDevice},
		"bad id":            {func(b *Booking) { b.ID = "a/b" }, ErrInvalid},
		"bad caller":        {func(b *Booking) { b.Caller = "" }, ErrInvalid},
		"rev 0":             {func(b *Booking) { b.Rev = 0 }, ErrInvalid},
		"no issued":         {func(b *Booking) { b.Issued = time.Time{} }, ErrInvalid},
		"unsigned":          {func(b *Booking) { b.Sig = nil }, ErrInvalid},
		"no at":             {func(b *Booking) { b.At = time.Time{} }, ErrInvalid},
		"no length":         {func(b *Booking) { b.LengthS = 0 }, ErrInvalid},
		"too long":          {func(b *Booking) { b.LengthS = 4*3600 + 1 }, ErrInvalid},
		"over when issued":  {func(b *Booking) { b.At = t0.Add(-time.Hour) }, ErrInvalid},
		"too far ahead":     {func(b *Booking) { b.At = t0.Add(MaxBookingAhead + time.Second) }, ErrInvalid},
		"long reason":       {func(b *Booking) { b.Reason = strings.Repeat("é", MaxBookingReason+1) }, ErrTooLarge},
		"control in reason": {func(b *Booking) { b.Reason = "a\nb" }, ErrInvalid},
		"cancel with at":    {func(b *Booking) { b.Cancel = true }, ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			b := validBooking()
			tc.edit(&b)
			payload, _ := json.Marshal(b)
			got, err := DecodeBooking("mum-kitchen", payload)
			if !errors.Is(err, tc.want) || (tc.want != nil) != (err != nil) {
				t.Fatalf("DecodeBooking = %v, want %v", err, tc.want)
			}
			if err == nil && string(got.SigningBytes()) != string(b.SigningBytes()) {
				t.Fatalf("DecodeBooking = %+v, want %+v", got, b)
			}
		})
	}
	for name, tc := range map[string]struct {
		payload string
		want    error
	}{
		"unknown field": {`{"v":1,"id":"b","device":"mum-kitchen","caller":"c","rev":1,"cancel":true,"issued":"2026-11-23T09:00:00Z","sig":"AQ==","x":1}`, ErrMalformed},
		"no version":    {`{"id":"b"}`, ErrVersion},
		"huge":          {`{"v":1,"reason":"` + strings.Repeat("a", MaxBookingPayload) + `"}`, ErrTooLarge},
		"not json":      {`booking`, ErrMalformed},
	} {
		if _, err := DecodeBooking("mum-kitchen", []byte(tc.payload)); !errors.Is(err, tc.want) {
			t.Errorf("DecodeBooking(%s) = %v, want %v", name, err, tc.want)
		}
	}
}

func TestBookingSigningBytes(t *testing.T) {
	b := validBooking()
	b.At = b.At.In(time.FixedZone("CET", 3600))
	want := "hearth-booking-v1\nb-1\nmum-kitchen\nnurse-eva\n1\nbook\n2026-11-22T23:00:00Z\n600\nMedicine check\n2026-11-22T18:00:00Z"
	if got := string(b.SigningBytes()); got != want {
		t.Fatalf("SigningBytes = %q, want %q", got, want)
	}
	c := Booking{ID: "b-1", Device: "mum-kitchen", Caller: "nurse-eva", Rev: 2, Cancel: true, Issued: t0}
	want = "hearth-booking-v1\nb-1\nmum-kitchen\nnurse-eva\n2\ncancel\n\n0\n\n2026-11-22T18:00:00Z"
	if got := string(c.SigningBytes()); got != want {
		t.Fatalf("SigningBytes(cancel) = %q, want %q", got, want)
	}
}

// FuzzDecodeBooking: no payload may panic the decoder, and whatever it
// accepts keeps the rules.
func FuzzDecodeBooking(f *testing.F) {
	b, _ := json.Marshal(validBooking())
	f.Add(b)
	f.Add([]byte(`{"v":1,"id":"b-1","device":"mum-kitchen","caller":"nurse-eva","rev":2,"cancel":true,"issued":"2026-11-23T09:00:00Z","sig":"AQ=="}`))
	f.Add([]byte(`{"v":1,"id":"b-1","device":"mum-kitchen","caller":"nurse-eva","rev":1,"at":"2026-11-23T14:00:00+01:00","length_s":600,"reason":"Medicine check","issued":"2026-11-23T09:00:00Z","sig":"AQ=="}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, err := DecodeBooking("mum-kitchen", payload)
		if err != nil {
			return
		}
		if b.Device != "mum-kitchen" || !ValidID(b.ID) || !ValidID(b.Caller) || b.Rev == 0 || len(b.Sig) == 0 || b.Issued.IsZero() {
			t.Fatalf("accepted %+v", b)
		}
		if b.Cancel {
			if !b.At.IsZero() || b.LengthS != 0 || b.Reason != "" {
				t.Fatalf("accepted cancellation %+v", b)
			}
			return
		}
		if b.LengthS <= 0 || b.Length() > MaxBookingLength || !b.End().After(b.Issued) || b.At.Sub(b.Issued) > MaxBookingAhead ||
			len([]rune(b.Reason)) > MaxBookingReason {
			t.Fatalf("accepted %+v", b)
		}
	})
}

// The example in docs/protocol.md, byte for byte.
func TestBookingDocExample(t *testing.T) {
	payload := `{"v": 1, "id": "bk-3f9a01c2d4e5", "device": "mum-kitchen", "caller": "nurse-eva", "rev": 1795424400000,
 "at": "2026-11-23T14:00:00+01:00", "length_s": 600, "reason": "Medicine check",
 "issued": "2026-11-23T09:00:00Z", "sig": "AQ=="}`
	b, err := DecodeBooking("mum-kitchen", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := "hearth-booking-v1\nbk-3f9a01c2d4e5\nmum-kitchen\nnurse-eva\n1795424400000\nbook\n2026-11-23T13:00:00Z\n600\nMedicine check\n2026-11-23T09:00:00Z"
	if got := string(b.SigningBytes()); got != want {
		t.Fatalf("SigningBytes = %q, want %q", got, want)
	}
	if b.Rev != uint64(b.Issued.UnixMilli()) {
		t.Errorf("rev %d is not the issue time in Unix milliseconds (%d)", b.Rev, b.Issued.UnixMilli())
	}
	cancel := `{"v": 1, "id": "bk-3f9a01c2d4e5", "device": "mum-kitchen", "caller": "nurse-eva", "rev": 1795428000000,
 "cancel": true, "issued": "2026-11-23T10:00:00Z", "sig": "AQ=="}`
	if c, err := DecodeBooking("mum-kitchen", []byte(cancel)); err != nil || !c.Cancel || c.Rev != uint64(c.Issued.UnixMilli()) {
		t.Fatalf("DecodeBooking(cancellation) = %+v, %v", c, err)
	}
}
