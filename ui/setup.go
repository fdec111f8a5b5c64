package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"github.com/skip2/go-qrcode"

	"github.com/hearth-home/hearth/device"
)

var _ device.SetupDisplay = (*Screen)(nil)

// setupState is the "not set up yet" screen as it should be shown.
// Guarded by Screen.setupMu; never held while taking Screen.mu.
type setupState struct {
	on         bool
	code, hint string
	// bits is the code's QR symbol with its quiet zone, [y][x], true for a
	// dark module; nil when the code could not be encoded.
	bits [][]bool
	gen  uint64 // counts the changes
}

// ShowUnprovisioned replaces the carousel with the calm "this screen is not
// set up yet" screen: the device's code in large type and as a QR code for
// the installer to scan, and hint (may be empty: a line for the installer,
// such as the serial) under the code. The clock stays. Calls still cover
// it. Safe from any goroutine; it never waits for the screen.
func (s *Screen) ShowUnprovisioned(code, hint string) {
	code = strings.TrimSpace(code)
	hint = strings.Join(strings.Fields(hint), " ")
	s.setupMu.Lock()
	st := s.setupState
	s.setupMu.Unlock()
	if st.on && st.code == code && st.hint == hint {
		return
	}
	var bits [][]bool
	if code != "" {
		// Medium (15 %) error correction: a code of a few characters stays
		// a small symbol with large modules, readable from a phone held at
		// arm's length, and survives a smudge or a reflection.
		q, err := qrcode.New(code, qrcode.Medium)
		if err != nil {
			s.log.Warn("screen: cannot make the setup QR code; showing the code only", "code", code, "err", err)
		} else {
			bits = q.Bitmap()
		}
	}
	s.setupMu.Lock()
	s.setupState = setupState{on: true, code: code, hint: hint, bits: bits, gen: s.setupState.gen + 1}
	s.setupMu.Unlock()
	s.setupOn.Store(true)
	s.log.Info("screen: not provisioned", "code", code)
	s.wakeRun() // the carousel pauses underneath
	s.do(s.syncSetup)
}

// ClearUnprovisioned brings the carousel back once a bundle is applied.
// Safe from any goroutine; it never waits for the screen.
func (s *Screen) ClearUnprovisioned() {
	s.setupMu.Lock()
	if !s.setupState.on {
		s.setupMu.Unlock()
		return
	}
	s.setupState = setupState{gen: s.setupState.gen + 1}
	s.setupMu.Unlock()
	s.setupOn.Store(false)
	// The slide that was underneath gets a full dwell.
	s.mu.Lock()
	s.restart = true
	s.mu.Unlock()
	s.log.Info("screen: provisioned, back to the carousel")
	s.wakeRun()
	s.do(s.syncSetup)
}

// syncSetup brings the setup screen in line with setupState. Fyne
// goroutine only.
func (s *Screen) syncSetup() {
	v := s.ui
	s.setupMu.Lock()
	st := s.setupState
	s.setupMu.Unlock()
	if st.gen == v.setupGen {
		return
	}
	v.setupGen = st.gen
	if st.on {
		v.sv = newSetupView(st.code, st.hint, st.bits, s.lc)
		v.setupBox.Objects = []fyne.CanvasObject{v.sv}
	} else {
		v.sv = nil
		v.setupBox.Objects = nil
	}
	v.setupBox.Refresh()
	v.apply()
}
