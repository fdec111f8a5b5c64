package main

import (
	"os"
	"runtime/debug"
)

// The Go runtime's memory settings for a daemon that runs all day on a
// small board, applied when the environment does not set them (the unit,
// cmd/hearthd/hearthd.service, sets the same values):
//
//   - GOGC=50: the heap may grow to 1.5x what is live before a collection,
//     not 2x. The carousel allocates little between photos, so collections
//     stay rare; measured on the carousel (docs/bench.md) it takes about a
//     quarter off private memory.
//   - GOMEMLIMIT=64MiB: a soft limit on the Go runtime's own memory (not
//     the C libraries': Mesa, libjpeg-turbo) that makes it collect and
//     return memory harder as it nears it. Above it the daemon runs on;
//     it only collects more often.
//
// After preparing a photo (the biggest transient allocation: decoding and
// scaling), freeAfterPhoto hands what it freed back to the system at once
// instead of leaving it to the background scavenger for minutes.
const (
	defaultGCPercent   = 50
	defaultMemoryLimit = 64 << 20
)

func tuneMemory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// freeAfterPhoto returns the memory a photo's preparation freed to the
// system (a collection and a scavenge: a few milliseconds, once a photo).
func freeAfterPhoto() { debug.FreeOSMemory() }

// freeAfterMotion does the same each time the screen stops moving (a fade
// or a call ended): a fade's frames leave garbage behind (text rasterised
// at each alpha step, the leaving slide's pixels), handed back now that
// nothing moves rather than when the scavenger gets to it.
func freeAfterMotion() { debug.FreeOSMemory() }
