// Package panel turns the display itself on and off: a monitor or TV
// through X11's DPMS (or, on a server without it, X's screen saver), a DSI
// panel through its backlight in sysfs, or nothing. The screen painting
// black at night still lights the panel; night-off turns the panel off,
// and every call turns it on again before the caller is announced.
package panel

import (
	"fmt"
	"log/slog"
	"os"
)

// Panel is the display's power.
type Panel interface {
	// On lights the display; it also wakes one that something else (an
	// idle timer, a person with xset) turned off.
	On() error
	// Off darkens it.
	Off() error
	// Close lets go of what the panel holds (the X connection).
	Close() error
}

// The --panel settings.
const (
	KindAuto      = "auto"
	KindX11       = "x11"
	KindBacklight = "backlight"
	KindNone      = "none"
)

// Kinds are the valid --panel settings.
var Kinds = []string{KindAuto, KindX11, KindBacklight, KindNone}

// Open returns the panel a --panel setting names. Auto takes X11 when
// DISPLAY is set, else the first backlight in sysfs, else none; a named
// kind that cannot be opened is an error.
func Open(kind string, log *slog.Logger) (Panel, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch kind {
	case KindNone:
		return None{}, nil
	case KindX11:
		return OpenX11(os.Getenv("DISPLAY"))
	case KindBacklight:
		return FindBacklight(SysfsRoot)
	case KindAuto, "":
		if d := os.Getenv("DISPLAY"); d != "" {
			p, err := OpenX11(d)
			if err == nil {
				return p, nil
			}
			log.Warn("panel: no X11 power control", "err", err)
		}
		if b, err := FindBacklight(SysfsRoot); err == nil {
			return b, nil
		}
		log.Info("panel: no way to power the display; night-off only paints it black")
		return None{}, nil
	}
	return nil, fmt.Errorf("open panel: unknown kind %q", kind)
}

// None is a display whose power is not ours to switch (headless, or a
// board with neither X11 nor a backlight): night-off paints it black.
type None struct{}

func (None) On() error      { return nil }
func (None) Off() error     { return nil }
func (None) Close() error   { return nil }
func (None) String() string { return KindNone }
