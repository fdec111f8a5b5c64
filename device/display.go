// Package device is the device's own side of Hearth: it takes what the store
// holds, decides with the clock what belongs on screen now (display windows,
// night hours) and hands that to a Display. It imports no cgo; the Fyne
// screen in ui/ implements Display.
package device

import "time"

// Slide is one item ready for the screen.
type Slide struct {
	ID    string
	Rev   uint64
	Photo bool
	// Image is the path of the screen-sized JPEG of a photo slide.
	Image string
	// Text is the caption of a photo or the body of a message.
	Text string
	From string
	// Sent is when the sender made the item (shown on message cards).
	Sent time.Time
	// Start and End are the item's display window.
	Start, End time.Time
	// Card, when set, makes this a card the device composes itself (today's
	// calls, a booked call, what came in overnight) rather than an item a
	// sender sent; ID is then "card:<kind>" and Rev changes whenever the
	// card's content does. Photo, Image and Text are unused.
	Card *Card
}

// CardKind is which card the device composes.
type CardKind int

// The device's own cards.
const (
	CardNone CardKind = iota
	// CardCalls lists today's calls, answered and missed, oldest first.
	CardCalls
	// CardBooking announces a call a carer has booked ("Nurse Eva will
	// call at 14:00: medicine check").
	CardBooking
	// CardNewSince is the first screen of the morning: what arrived
	// during the night ("New since yesterday: 3 photos from Anna").
	CardNewSince
)

func (k CardKind) String() string {
	switch k {
	case CardCalls:
		return "calls"
	case CardBooking:
		return "booking"
	case CardNewSince:
		return "new-since"
	}
	return "none"
}

// Card is what a device-composed slide shows. The screen words it in its
// own language; names and reasons are shown as sent.
type Card struct {
	Kind CardKind
	// Calls (CardCalls): today's calls in the screen's day, oldest first.
	Calls []CallEntry
	// Booking (CardBooking): the booked call.
	Booking Booking
	// New (CardNewSince): what arrived during the night.
	New NewSince
}

// CallEntry is one call of today's calls card.
type CallEntry struct {
	Name string    // who called ("Anna", "Nurse Eva")
	At   time.Time // when the call started ringing or was refused
	// Length is how long the call lasted; 0 for a missed call.
	Length time.Duration
	// Missed: nobody answered, or the screen was busy with another call.
	Missed bool
}

// Booking is a call a carer has booked with the device.
type Booking struct {
	ID     string
	Caller string // caller id from the allowlist
	Name   string // display name
	At     time.Time
	Length time.Duration
	Reason string // "Medicine check"; may be empty
}

// NewSince counts what arrived during the night hours.
type NewSince struct {
	Photos, Messages int
	// From are the senders' names, most items first, at most three.
	From []string
}

// Mode is how bright the screen should be.
type Mode int

// The screen modes; Night* apply during the configured night hours.
const (
	ModeDay Mode = iota
	ModeNightDim
	ModeNightOff
)

func (m Mode) String() string {
	switch m {
	case ModeDay:
		return "day"
	case ModeNightDim:
		return "night-dim"
	case ModeNightOff:
		return "night-off"
	}
	return "unknown"
}

// Display shows slides. Implementations must be safe to call from any
// goroutine (the Fyne one goes through fyne.Do).
type Display interface {
	// SetSlides replaces the carousel; an empty list shows the empty state.
	SetSlides(slides []Slide)
	// SetMode dims or blanks the screen for the night.
	SetMode(m Mode)
	// SetClockTrusted says whether the wall clock can be believed. While
	// it cannot, the screen hides its clock ("Setting the time...") and
	// its "sent" labels instead of showing a wrong time.
	SetClockTrusted(ok bool)
}
