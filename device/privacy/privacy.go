// Package privacy is the privacy light's parts other than the screen's
// badge: an LED in sysfs, the log for a headless device, and the fan-out
// that lights them all. The media adapter (cmd/internal/callmedia) turns
// the light on before it opens the camera or microphone and off as soon
// as they are closed.
package privacy

import (
	"log/slog"

	"github.com/hearth-home/hearth/device"
)

// Lights is every privacy light the device has. SetPrivacy sets them in
// order; each returns only when it is visibly on, so the fan-out does too.
type Lights []device.PrivacyLight

// SetPrivacy sets every light.
func (ls Lights) SetPrivacy(p device.Privacy) {
	for _, l := range ls {
		l.SetPrivacy(p)
	}
}

// Log writes each change of the light to the log: a headless device's
// only light, and a record of every other.
type Log struct{ Logger *slog.Logger }

// SetPrivacy logs p.
func (l Log) SetPrivacy(p device.Privacy) {
	l.Logger.Info("privacy light", "camera", p.Camera, "microphone", p.Microphone)
}
