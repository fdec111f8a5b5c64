package ui

import (
	"image"
	"slices"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hearth-home/hearth/device"
)

var _ device.CallDisplay = (*Screen)(nil)

// callState is the call as the screen should show it, with the latest
// pictures. Guarded by Screen.callMu; never held while taking Screen.mu.
type callState struct {
	view device.CallView
	gen  uint64 // counts ShowCall changes
	// hungUp: the hang-up or Not now button was used in this call (each
	// is called once per call, however often the resident taps).
	hungUp bool
	// since is when the call was first shown: a long reason's pages
	// count from it.
	since time.Time
	// tickStop, while the view wants a tick every second (a countdown,
	// a reason's pages), stops the goroutine that gives it.
	tickStop chan struct{}
	// remote holds the latest picture per participant id; self is the
	// resident's own camera. The decoder hands the images over: they are
	// only read from here on.
	remote map[string]frame
	self   frame
	seq    uint64 // numbers the frames
	// fresh: a picture arrived that the canvas has not shown yet.
	fresh bool
}

// frame is a picture and its number: the canvas uploads a picture only
// when the number changed (images are not compared: not every
// image.Image is comparable).
type frame struct {
	img image.Image
	seq uint64
}

// ShowCall replaces what the screen shows about the call. CallNone returns
// to the carousel, which paused under the call and goes on where it was.
// Safe from any goroutine; it never waits for the screen.
func (s *Screen) ShowCall(v device.CallView) {
	v.Participants = slices.Clone(v.Participants)
	s.callMu.Lock()
	c := &s.callState
	if v.Phase == device.CallNone && c.view.Phase == device.CallNone {
		s.callMu.Unlock()
		return
	}
	if v.Phase == device.CallNone || v.Call != c.view.Call {
		// Another call (or none): nothing of the last one is kept.
		clear(c.remote)
		c.self, c.hungUp, c.since = frame{}, false, s.clk.Now()
	} else {
		for id := range c.remote {
			if !hasParticipant(v.Participants, id) {
				delete(c.remote, id)
			}
		}
	}
	c.view = v
	c.gen++
	s.tickCall(c)
	s.callMu.Unlock()

	s.log.Debug("screen: call", "call", v.Call, "phase", v.Phase)
	if s.calling.Swap(v.Phase != device.CallNone) && v.Phase == device.CallNone {
		// Back to the carousel: the slide that was showing gets a full
		// dwell again.
		s.mu.Lock()
		s.restart = true
		s.mu.Unlock()
	}
	s.wakeRun()
	s.do(s.syncCall)
}

// RemoteFrame shows the latest picture of a participant (by Participant.ID).
// It only keeps img and, if none is pending, asks Fyne's goroutine for one
// repaint: any number of frames between two repaints cost one. The caller
// must not change img afterwards. Frames for someone not in the call, or
// with no call shown, are dropped.
func (s *Screen) RemoteFrame(participant string, img image.Image) {
	if img == nil {
		return
	}
	s.callMu.Lock()
	c := &s.callState
	if c.view.Phase == device.CallNone || !hasParticipant(c.view.Participants, participant) {
		s.callMu.Unlock()
		return
	}
	c.seq++
	c.remote[participant] = frame{img, c.seq}
	c.fresh = true
	s.callMu.Unlock()
	s.kickFrames()
}

// SelfFrame shows the resident's own camera picture in the corner; like
// RemoteFrame it never waits and the caller must not change img afterwards.
func (s *Screen) SelfFrame(img image.Image) {
	if img == nil {
		return
	}
	s.callMu.Lock()
	c := &s.callState
	if c.view.Phase == device.CallNone {
		s.callMu.Unlock()
		return
	}
	c.seq++
	c.self = frame{img, c.seq}
	c.fresh = true
	s.callMu.Unlock()
	s.kickFrames()
}

// tickCall starts or stops the tick every second that the view in c
// wants (ticking). Called with callMu held.
func (s *Screen) tickCall(c *callState) {
	want := ticking(c.view)
	switch {
	case want && c.tickStop == nil:
		c.tickStop = make(chan struct{})
		go s.ticker(c.tickStop)
	case !want && c.tickStop != nil:
		close(c.tickStop)
		c.tickStop = nil
	}
}

// ticker brings the call view to the clock at each second of the
// countdown (and so turns the reason's pages) until stop is closed.
func (s *Screen) ticker(stop <-chan struct{}) {
	for {
		s.callMu.Lock()
		at := s.callState.view.StartsAt
		s.callMu.Unlock()
		d := time.Second
		if !at.IsZero() {
			// The next whole second before at: when the count changes.
			if left := at.Sub(s.clk.Now()) % time.Second; left > 0 {
				d = left
			}
		}
		t := s.clk.NewTimer(d)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C():
			s.do(s.syncCall)
		}
	}
}

func hasParticipant(ps []device.Participant, id string) bool {
	for i := range ps {
		if ps[i].ID == id {
			return true
		}
	}
	return false
}

// kickFrames queues one applyFrames unless one is already queued.
func (s *Screen) kickFrames() {
	if !s.attached.Load() {
		return // no canvas yet; the pictures wait in callState
	}
	if s.framePending.CompareAndSwap(false, true) {
		s.do(s.applyFramesFn)
	}
}

// applyFrames puts the latest pictures on the call view. Fyne goroutine
// only. The pending flag is cleared first, so a frame arriving while this
// runs queues the next repaint and none is lost.
func (s *Screen) applyFrames() {
	s.framePending.Store(false)
	cv := s.ui.cv
	s.callMu.Lock()
	c := &s.callState
	if cv == nil || cv.gen != c.gen || !c.fresh {
		// A ShowCall is on its way and brings the pictures with it.
		s.callMu.Unlock()
		return
	}
	c.fresh = false
	for _, t := range cv.tiles {
		t.next = c.remote[t.id]
	}
	cv.selfNext = c.self
	s.callMu.Unlock()
	cv.setFrames()
}

// syncCall brings the call view in line with callState. Fyne goroutine only.
func (s *Screen) syncCall() {
	v := s.ui
	now := s.clk.Now().In(s.loc)
	s.callMu.Lock()
	c := &s.callState
	if v.cv != nil && v.cv.gen == c.gen {
		s.callMu.Unlock()
		v.cv.tick(now) // the countdown, the clock, the warning's minutes
		return
	}
	view, gen := c.view, c.gen
	if v.cv == nil && view.Phase == device.CallNone {
		s.callMu.Unlock()
		return
	}
	var cv *callView
	if view.Phase != device.CallNone {
		cv = newCallView(view, gen, s.lc, now, c.since, s.hangup, s.decline)
		for _, t := range cv.tiles {
			t.next = c.remote[t.id]
		}
		cv.selfNext = c.self
		c.fresh = false
	}
	s.callMu.Unlock()

	v.cv = cv
	if cv == nil {
		v.callBox.Objects = nil
		v.callBox.Hide()
		v.setCall(false)
		return
	}
	cv.setFrames()
	v.callBox.Objects = []fyne.CanvasObject{cv}
	v.callBox.Show()
	v.callBox.Refresh()
	v.setCall(true)
}

// hangup is the red button: it calls the call's Hangup once per call.
func (s *Screen) hangup() { s.touched(false) }

// decline is the Not now button: the call's Decline (or, for a view
// without one, its Hangup), once per call.
func (s *Screen) decline() { s.touched(true) }

func (s *Screen) touched(decline bool) {
	s.callMu.Lock()
	c := &s.callState
	fn := c.view.Hangup
	if decline && c.view.Decline != nil {
		fn = c.view.Decline
	}
	if fn == nil || c.hungUp || c.view.Phase == device.CallNone {
		s.callMu.Unlock()
		return
	}
	c.hungUp = true
	id := c.view.Call
	s.callMu.Unlock()
	s.log.Info("screen: hang-up touched", "call", id, "not_now", decline)
	fn()
}

// minutesLeft is the time until ends in whole minutes, rounded up; 0 when
// ends is not known.
func minutesLeft(ends, now time.Time) int {
	if ends.IsZero() {
		return 0
	}
	d := ends.Sub(now)
	if d <= 0 {
		return 1 // the end is due: "1 minute" until the far side ends it
	}
	return int((d + time.Minute - 1) / time.Minute)
}
