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
}
