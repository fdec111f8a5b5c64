package main

import (
	"os"
	"runtime/debug"
)

// tuneRuntime applies, where the environment does not set them, the Go
// runtime's memory settings for a daemon that runs all day on a small
// board, and the software GL's thread count (softGLThreads). The unit,
// cmd/hearthd/hearthd.service, sets the same values:
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

// softGLThreads is LP_NUM_THREADS, the number of threads Mesa's software
// rasteriser (llvmpipe) draws with, when the environment does not set it.
// It is read only when the GL driver is llvmpipe: a board without a GPU
// driver, or Xvfb; a Pi's V3D ignores it. One thread beside the Fyne
// goroutine drew a crossfade with about a fifth less CPU than one per core
// (a 2-core machine, 6-photo carousel: 15.5 % of a core against 19.9 %).
// The cost: a frame takes longer to draw, so most fades paint 16 of their
// 17 alpha steps (one skipped where the ease-in-out curve is steepest, 30
// to 40 ms apart), not all 17.
const softGLThreads = "1"

func tuneRuntime() {
	if os.Getenv("LP_NUM_THREADS") == "" {
		// Set before the GL driver loads (the window opens later), in the
		// C environment Mesa reads (Go's os.Setenv reaches it under cgo).
		_ = os.Setenv("LP_NUM_THREADS", softGLThreads)
	}
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
