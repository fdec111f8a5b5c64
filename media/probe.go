package media

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/gen2brain/malgo"
)

// Devices says which media hardware is present, for status reports.
type Devices struct {
	Camera     bool `json:"camera"`
	Microphone bool `json:"microphone"`
	Speaker    bool `json:"speaker"`
}

// Probe reports which devices of kind exist; KindTest has all of them. For
// KindReal it lists devices without opening them, so it is cheap and does not
// disturb a call in progress. Cameras are those V4L2 capture nodes mediadevices
// found when the process started (it does not rescan).
func Probe(kind Kind) Devices {
	switch kind {
	case KindTest:
		return Devices{Camera: true, Microphone: true, Speaker: true}
	case KindReal:
		log := slog.New(slog.DiscardHandler)
		mic, _ := audioDeviceCount(log, malgo.Capture)
		spk, _ := audioDeviceCount(log, malgo.Playback)
		return Devices{Camera: hasVideoDevice(), Microphone: mic > 0, Speaker: spk > 0}
	}
	return Devices{}
}

// audioDeviceCount counts capture or playback devices of the audio backends.
func audioDeviceCount(log *slog.Logger, t malgo.DeviceType) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("list audio devices: panic: %v", r)
		}
	}()
	ctx, err := initAudioContext(log)
	if err != nil {
		return 0, err
	}
	defer freeAudioContext(ctx)
	devs, err := ctx.Devices(t)
	if err != nil {
		return 0, fmt.Errorf("list audio devices: %w", err)
	}
	for _, d := range devs {
		if !isNullDevice(d) {
			n++
		}
	}
	return n, nil
}

// isNullDevice reports ALSA's "null" plugin, which ALSA lists even without a
// sound card: it discards playback and captures silence.
func isNullDevice(d malgo.DeviceInfo) bool {
	return string(bytes.TrimRight(d.ID[:], "\x00")) == "null"
}

// hasVideoDevice reports whether there is a V4L2 device node now. It looks
// at /dev rather than at mediadevices' drivers, which are registered at
// start-up (and again when a call opens the camera): a USB camera plugged
// in or pulled out since shows here at once.
func hasVideoDevice() bool {
	nodes, _ := filepath.Glob("/dev/video*")
	return len(nodes) > 0
}
