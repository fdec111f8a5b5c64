package device

import "log/slog"

// LogDisplay is the Display of a headless device: it writes what would be
// on screen to the log, so servers, tests and fleet simulations can see it.
type LogDisplay struct{ Logger *slog.Logger }

// logIDs bounds the ids written per line; a carousel can hold thousands.
const logIDs = 10

// SetSlides logs the carousel.
func (d LogDisplay) SetSlides(slides []Slide) {
	ids := make([]string, 0, min(len(slides), logIDs))
	for _, s := range slides[:min(len(slides), logIDs)] {
		ids = append(ids, s.ID)
	}
	d.Logger.Info("screen: carousel", "slides", len(slides), "ids", ids)
}

// SetMode logs the screen mode.
func (d LogDisplay) SetMode(m Mode) { d.Logger.Info("screen: mode", "mode", m) }
