package panel

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/device/clock"
)

// wakeHold is how long a call's wake keeps the panel on before the call
// shows in the live state: the call Manager wakes the panel before it
// records the call, and a night's unrelated change in between must not
// turn the panel off under the announcement. Once the call is seen, its
// end decides; a call that never shows lets the night have the panel
// back after this.
const wakeHold = 30 * time.Second

// recheck is how often a panel that can say its state (X11) is looked at:
// a display that something else turned off (an idle timer, a person with
// xset) in the day, or on at night, is set again within this.
const recheck = time.Minute

// Leveler is a panel that can say the display's state: "on" or another
// word ("off", "standby", "blanked").
type Leveler interface {
	Level() (string, error)
}

// Driver keeps the panel where the live state wants it: off in night-off
// unless a call holds the screen, on otherwise. Wake turns it on at once
// for a call, before the call's first screen.
type Driver struct {
	panel Panel
	live  *device.Live
	clk   clock.Clock
	log   *slog.Logger
	kick  chan struct{}

	mu       sync.Mutex
	known    bool // the panel was set since start (on tells how)
	on       bool
	held     bool      // a wake holds the panel on
	holdTill time.Time // until then at most
}

// Options configures a Driver; Panel and Live are required.
type Options struct {
	Panel  Panel
	Live   *device.Live
	Clock  clock.Clock  // default: the wall clock
	Logger *slog.Logger // default: discard
}

// NewDriver makes a Driver; Run drives it.
func NewDriver(o Options) *Driver {
	d := &Driver{panel: o.Panel, live: o.Live, clk: o.Clock, log: o.Logger, kick: make(chan struct{}, 1)}
	if d.clk == nil {
		d.clk = clock.Real()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

// Wake turns the panel on now, whatever the night wants and whatever it
// was: a call is about to be announced. It returns once the panel was
// told (the call Manager calls it before the call's first screen).
func (d *Driver) Wake() {
	d.mu.Lock()
	d.held, d.holdTill = true, d.clk.Now().Add(wakeHold)
	d.known = false // something else may have turned it off: tell it again
	d.setLocked(true, "call")
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Close lets go of the panel.
func (d *Driver) Close() error { return d.panel.Close() }

// Run follows the live state until ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	alarm, check := clock.Alarm{Clock: d.clk}, clock.Alarm{Clock: d.clk}
	defer alarm.Stop()
	defer check.Stop()
	lv, canCheck := d.panel.(Leveler)
	var nextCheck time.Time
	if canCheck {
		nextCheck = d.clk.Now().Add(recheck)
	}
	for {
		s, changed := d.live.Watch()
		now := d.clk.Now()
		d.mu.Lock()
		if canCheck && !now.Before(nextCheck) {
			d.verifyLocked(lv)
			nextCheck = now.Add(recheck)
		}
		if d.held && (s.Call != device.CallNone || !now.Before(d.holdTill)) {
			// The call is in the live state now (its end decides), or
			// never came.
			d.held = false
		}
		want, why := s.ScreenMode() != device.ModeNightOff, s.ScreenMode().String()
		switch {
		case d.held:
			want, why = true, "call"
		case s.Call.InCall():
			why = "call"
		}
		d.setLocked(want, why)
		var till time.Time
		if d.held {
			till = d.holdTill
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-d.kick:
		case <-alarm.At(now, till):
		case <-check.At(now, nextCheck):
		}
	}
}

// verifyLocked looks at the display; one not as it was set is set again
// by the caller's next setLocked.
func (d *Driver) verifyLocked(lv Leveler) {
	if !d.known {
		return
	}
	l, err := lv.Level()
	if err != nil {
		d.log.Debug("panel: level", "err", err)
		return
	}
	if (l == "on") != d.on {
		d.log.Warn("panel: the display is not as it was set; setting it again", "level", l, "want_on", d.on)
		d.known = false
	}
}

// setLocked powers the panel on or off unless it already is; a failure
// is logged and tried again at the next change.
func (d *Driver) setLocked(on bool, why string) {
	if d.known && d.on == on {
		return
	}
	set, what := d.panel.Off, "off"
	if on {
		set, what = d.panel.On, "on"
	}
	if err := set(); err != nil {
		d.known = false
		d.log.Warn("panel: "+what, "why", why, "err", err)
		return
	}
	d.known, d.on = true, on
	d.log.Info("panel: "+what, "why", why)
}
