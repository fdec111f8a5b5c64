package panel

import (
	"fmt"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/dpms"
	"github.com/jezek/xgb/screensaver"
	"github.com/jezek/xgb/xproto"
)

// X11 powers the monitor through the X server: DPMS when the server has
// it (a real Xorg does, whatever drives the HDMI), else the server's
// screen saver, which blanks the picture but leaves the monitor lit.
type X11 struct {
	mu   sync.Mutex
	conn *xgb.Conn
	dpms bool
}

// OpenX11 connects to the X server of display (":0"; "" for $DISPLAY).
func OpenX11(display string) (*X11, error) {
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("open x11 panel: %w", err)
	}
	x := &X11{conn: conn}
	if dpms.Init(conn) == nil {
		if r, err := dpms.Capable(conn).Reply(); err == nil && r.Capable {
			x.dpms = true
		}
	}
	if x.dpms {
		// The device decides when the panel sleeps, not the server's idle
		// timers (no one touches this screen): a zero timeout disables
		// each of standby, suspend and off.
		if err := dpms.SetTimeoutsChecked(conn, 0, 0, 0).Check(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("open x11 panel: dpms timeouts: %w", err)
		}
	}
	return x, nil
}

// DPMS says whether the server has DPMS (else the screen saver is used).
func (x *X11) DPMS() bool { return x.dpms }

func (x *X11) String() string {
	if x.dpms {
		return "x11 dpms"
	}
	return "x11 screen saver"
}

// On forces the monitor on and ends a running screen saver.
func (x *X11) On() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.dpms {
		// ForceLevel needs DPMS enabled; a server started with -dpms has
		// it off and the monitor on, so enable, force on, and leave it
		// enabled with its timers off.
		if err := dpms.EnableChecked(x.conn).Check(); err != nil {
			return fmt.Errorf("x11 panel on: dpms enable: %w", err)
		}
		if err := dpms.ForceLevelChecked(x.conn, dpms.DPMSModeOn).Check(); err != nil {
			return fmt.Errorf("x11 panel on: %w", err)
		}
	}
	if err := xproto.ForceScreenSaverChecked(x.conn, xproto.ScreenSaverReset).Check(); err != nil {
		return fmt.Errorf("x11 panel on: screen saver: %w", err)
	}
	return nil
}

// Off turns the monitor off (DPMS), or blanks it with the screen saver.
func (x *X11) Off() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.dpms {
		if err := xproto.ForceScreenSaverChecked(x.conn, xproto.ScreenSaverActive).Check(); err != nil {
			return fmt.Errorf("x11 panel off: screen saver: %w", err)
		}
		return nil
	}
	if err := dpms.EnableChecked(x.conn).Check(); err != nil {
		return fmt.Errorf("x11 panel off: dpms enable: %w", err)
	}
	if err := dpms.ForceLevelChecked(x.conn, dpms.DPMSModeOff).Check(); err != nil {
		return fmt.Errorf("x11 panel off: %w", err)
	}
	return nil
}

// Level is the monitor's state now: its DPMS level ("on", "standby",
// "suspend", "off") or, without DPMS, "blanked" while the screen saver
// runs.
func (x *X11) Level() (string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.dpms {
		if screensaver.Init(x.conn) != nil {
			return "on", nil
		}
		root := xproto.Setup(x.conn).DefaultScreen(x.conn).Root
		r, err := screensaver.QueryInfo(x.conn, xproto.Drawable(root)).Reply()
		if err != nil {
			return "", fmt.Errorf("x11 panel level: %w", err)
		}
		if r.State == screensaver.StateOn {
			return "blanked", nil
		}
		return "on", nil
	}
	r, err := dpms.Info(x.conn).Reply()
	if err != nil {
		return "", fmt.Errorf("x11 panel level: %w", err)
	}
	if !r.State {
		return "on", nil // DPMS disabled: the monitor stays on
	}
	switch r.PowerLevel {
	case dpms.DPMSModeStandby:
		return "standby", nil
	case dpms.DPMSModeSuspend:
		return "suspend", nil
	case dpms.DPMSModeOff:
		return "off", nil
	}
	return "on", nil
}

// Close closes the X connection.
func (x *X11) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.conn.Close()
	return nil
}
