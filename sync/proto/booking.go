package proto

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BookingTopic is where carers book calls with a device: QoS 1, not
// retained (like admin commands: a retained booking would come back after
// it ended, and anyone may publish here). The device's persistent session
// keeps a booking sent while it is offline until it connects.
func BookingTopic(device string) string { return Root + "/" + device + "/booking" }

// Limits of a booking.
const (
	// MaxBookingAhead bounds how far after Issued a booked call may be.
	MaxBookingAhead = 31 * 24 * time.Hour
	// MaxBookingLength bounds a booked call's length.
	MaxBookingLength = 4 * time.Hour
	// MaxBookingReason bounds the reason, in characters: it is shown
	// whole on the resident's screen.
	MaxBookingReason = 200
	// MaxBookingPayload bounds a booking's JSON, checked before it is
	// parsed: the largest valid one is well under 2 KiB.
	MaxBookingPayload = 4 << 10
)

// Booking is a call a carer books with a device ("Nurse Eva will call at
// 14:00: medicine check"), or its cancellation. It is signed by the
// caller, like an invite (Sig over SigningBytes). A higher Rev replaces a
// lower one for the same ID; a cancellation is a revision with Cancel set
// and no At, LengthS or Reason.
type Booking struct {
	V      int    `json:"v"`
	ID     string `json:"id"`
	Device string `json:"device"`
	Caller string `json:"caller"`
	Rev    uint64 `json:"rev"`
	Cancel bool   `json:"cancel,omitempty"`
	// At is when the call is booked; LengthS how many seconds it is
	// booked for.
	At      time.Time `json:"at,omitzero"`
	LengthS int       `json:"length_s,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// Issued is when the caller made this revision.
	Issued time.Time `json:"issued"`
	Sig    []byte    `json:"sig"`
}

// Length is how long the call is booked for.
func (b Booking) Length() time.Duration { return time.Duration(b.LengthS) * time.Second }

// End is when the booked call's time is over.
func (b Booking) End() time.Time { return b.At.Add(b.Length()) }

// SigningBytes is what the caller signs: one field a line, as for
// invites. Times are in UTC as RFC3339Nano writes them; a cancellation's
// empty At is an empty line.
func (b Booking) SigningBytes() []byte {
	action, at := "book", ""
	if b.Cancel {
		action = "cancel"
	}
	if !b.At.IsZero() {
		at = b.At.UTC().Format(time.RFC3339Nano)
	}
	return []byte(strings.Join([]string{
		"hearth-booking-v1",
		b.ID, b.Device, b.Caller, strconv.FormatUint(b.Rev, 10), action,
		at, strconv.Itoa(b.LengthS), b.Reason,
		b.Issued.UTC().Format(time.RFC3339Nano),
	}, "\n"))
}

// DecodeBooking parses and checks the form of a booking for device; the
// signature and the caller's right to book are the device's to check.
func DecodeBooking(device string, payload []byte) (Booking, error) {
	var b Booking
	if len(payload) > MaxBookingPayload {
		return Booking{}, fmt.Errorf("decode booking: payload of %d bytes: %w (limit %d)", len(payload), ErrTooLarge, MaxBookingPayload)
	}
	if err := decodeStrict("decode booking", payload, &b); err != nil {
		return Booking{}, err
	}
	if err := b.Check(device); err != nil {
		return Booking{}, fmt.Errorf("decode booking: %w", err)
	}
	return b, nil
}

// Check checks a booking's fields, as the device will. Senders call it
// before signing.
func (b Booking) Check(device string) error {
	switch {
	case b.Device != device:
		return fmt.Errorf("for %q: %w", b.Device, ErrWrongDevice)
	case !ValidID(b.ID):
		return fmt.Errorf("%w: id %q", ErrInvalid, b.ID)
	case !ValidID(b.Caller):
		return fmt.Errorf("%w: caller id %q", ErrInvalid, b.Caller)
	case b.Rev == 0:
		return fmt.Errorf("%w: rev 0", ErrInvalid)
	case b.Issued.IsZero():
		return fmt.Errorf("%w: no issued time", ErrInvalid)
	case len(b.Sig) == 0:
		return fmt.Errorf("%w: not signed", ErrInvalid)
	case b.Cancel:
		if !b.At.IsZero() || b.LengthS != 0 || b.Reason != "" {
			return fmt.Errorf("%w: a cancellation carries no at, length_s or reason", ErrInvalid)
		}
		return nil
	case b.At.IsZero():
		return fmt.Errorf("%w: no time booked (at)", ErrInvalid)
	case b.LengthS <= 0 || b.Length() > MaxBookingLength:
		return fmt.Errorf("%w: length of %d s (1 to %d)", ErrInvalid, b.LengthS, int(MaxBookingLength/time.Second))
	case !b.End().After(b.Issued):
		return fmt.Errorf("%w: booked for %s, over before it was issued", ErrInvalid, b.At.UTC().Format(time.RFC3339))
	case b.At.Sub(b.Issued) > MaxBookingAhead:
		return fmt.Errorf("%w: booked %s ahead (limit %s)", ErrInvalid, b.At.Sub(b.Issued), MaxBookingAhead)
	case len([]rune(b.Reason)) > MaxBookingReason:
		return fmt.Errorf("reason of %d characters: %w (limit %d)", len([]rune(b.Reason)), ErrTooLarge, MaxBookingReason)
	case strings.ContainsFunc(b.Reason, isControl):
		return fmt.Errorf("%w: control character in the reason", ErrInvalid)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
