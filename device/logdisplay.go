package device

import (
	"image"
	"log/slog"
)

// LogDisplay is the Display of a headless device: it writes what would be
// on screen to the log, so servers, tests and fleet simulations can see it.
// It sends no "shown" receipts: nobody saw anything.
type LogDisplay struct {
	Logger *slog.Logger
}

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

// ShowCall logs the call's phase.
func (d LogDisplay) ShowCall(v CallView) {
	names := make([]string, 0, len(v.Participants))
	for _, p := range v.Participants {
		names = append(names, p.Name)
	}
	d.Logger.Info("screen: call", "phase", v.Phase, "call", v.Call, "name", v.Name, "reason", v.Reason,
		"participants", names, "camera_on", v.CameraOn, "mic_on", v.MicOn, "warning", v.Warning)
}

// RemoteFrame drops the picture: there is no screen. The call counts frames.
func (d LogDisplay) RemoteFrame(string, image.Image) {}

// SelfFrame drops the picture.
func (d LogDisplay) SelfFrame(image.Image) {}

// SetClockTrusted logs whether the clock can be believed.
func (d LogDisplay) SetClockTrusted(ok bool) { d.Logger.Info("screen: clock", "trusted", ok) }
