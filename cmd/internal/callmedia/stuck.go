package callmedia

import (
	"log/slog"

	"github.com/hearth-home/hearth/device/call"
	"github.com/hearth-home/hearth/media"
)

// KindStuck is the test camera and microphone whose capture never
// finishes closing, as a driver stuck in the kernel would: hearthd's
// watchdog test (--media test-stuck) checks that the call loop reports
// it, the systemd watchdog stops being petted and hearthd is started
// again. Never for a device.
const KindStuck = "test-stuck"

// NewFor returns the media a --media setting names: "real", "test", or
// KindStuck.
func NewFor(setting string, log *slog.Logger) *Media {
	m := New(ProbeKind(setting), log)
	m.stuck = setting == KindStuck
	return m
}

// ProbeKind is the kind of devices a --media setting has.
func ProbeKind(setting string) media.Kind {
	if setting == KindStuck {
		return media.KindTest
	}
	return media.Kind(setting)
}

// stuckCapture's Close never returns; its reads go on.
type stuckCapture struct{ call.Capture }

func (stuckCapture) Close() error { select {} }
