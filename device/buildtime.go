package device

import (
	"runtime/debug"
	"time"
)

// sourceDate is a date this source was certainly written after: the
// floor for a clock that can be believed when the binary does not record
// its commit's time (builds with -buildvcs=false, as make's).
var sourceDate = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// BuildTime is the earliest time the wall clock can truly read: the
// time of the commit the binary was built from when the build recorded
// it, else the date of this source. A clock reading earlier is wrong (a Pi
// has no RTC: it starts in 1970, or at its last shutdown, until NTP).
func BuildTime() time.Time {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil && t.After(sourceDate) {
					return t
				}
			}
		}
	}
	return sourceDate
}
