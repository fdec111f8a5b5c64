package ui

import (
	"sync/atomic"

	"fyne.io/fyne/v2"
)

// Fyne's GLFW loop wakes 60 times a second to poll events and look for
// something to paint, even when nothing has changed: on a screen that
// changes once a minute between fades, that was most of hearthd's idle
// CPU. Package kiosk therefore parks the loop (a function queued on it
// that blocks) while the screen is still (Screen.Still), and everything
// that queues work for Fyne's goroutine goes through Do or DoAndWait here,
// which wake a parked loop first. Anything queued with fyne.Do directly
// would wait until the park's time limit.

var loopWaker atomic.Pointer[func()]

// SetLoopWaker sets the function that wakes a parked event loop (nil:
// none). Package kiosk sets it while it runs the loop.
func SetLoopWaker(wake func()) {
	if wake == nil {
		loopWaker.Store(nil)
		return
	}
	loopWaker.Store(&wake)
}

func wakeLoop() {
	if w := loopWaker.Load(); w != nil {
		(*w)()
	}
}

// Do is fyne.Do for a loop that may be parked: it runs f on Fyne's
// goroutine, waking the loop first.
func Do(f func()) {
	wakeLoop()
	fyne.Do(f)
}

// DoAndWait is fyne.DoAndWait for a loop that may be parked.
func DoAndWait(f func()) {
	wakeLoop()
	fyne.DoAndWait(f)
}

// Still reports whether nothing on screen moves by itself: no crossfade
// running and no call shown (a call's video keeps the loop painting).
// Until the next change comes through Do, the canvas needs no frames.
// Fyne goroutine only.
func (s *Screen) Still() bool {
	v := s.ui
	return v == nil || (v.anim == nil && !v.inCall && !s.calling.Load())
}
