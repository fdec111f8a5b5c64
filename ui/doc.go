// Package ui is the Fyne screen of a Hearth device: the photo and message
// carousel with its large clock, the empty state and the night modes, the
// "not set up yet" screen of an unprovisioned device (setup.go,
// setupview.go), and video calls over it (call.go, callview.go).
//
// The resident never touches the screen and reads it from across the room,
// so every text size is derived from the canvas height (clock digits at
// least 10 %, all other text at least 5 %), every text has a contrast of at
// least 7:1 against what is behind it, and nothing moves except a short
// crossfade between slides and the clock once a minute.
//
// The package does not import fyne.io/fyne/v2/app, so its tests render with
// fyne's test driver even with CGO_ENABLED=0; package ui/kiosk starts the
// real window.
//
// Threading: Screen keeps the wanted state (which slide, which mode) under a
// mutex and applies it to the canvas in sync, which always runs on Fyne's
// goroutine (through Do, which is fyne.Do for an event loop that package
// kiosk parks while the screen is still: loop.go). Run owns the timers. A call's state and
// its latest video frames sit under their own mutex; frames are coalesced
// into at most one queued Do at a time.
package ui
