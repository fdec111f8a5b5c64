package sync

import (
	gosync "sync"
	"time"
)

// refusalWindow is the window over which refused call messages beyond
// the first few are counted rather than recorded.
const refusalWindow = time.Minute

// refusalsRecorded is how many refusals a window records one by one.
const refusalsRecorded = 3

// refusalCounter keeps a flood of refused messages to a few records a
// window: the first refusalsRecorded one by one, the rest as one count
// when the window ends (reported with the next refusal after it).
type refusalCounter struct {
	mu      gosync.Mutex
	start   time.Time
	n       int
	counted int
}

// note counts one refusal at now. record says whether to record it on its
// own; more is the count of refusals of the last window that were not
// recorded, to be recorded now as one (zero: none).
func (r *refusalCounter) note(now time.Time) (record bool, more int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() || now.Sub(r.start) >= refusalWindow || now.Before(r.start) {
		more = r.counted
		r.start, r.n, r.counted = now, 0, 0
	}
	r.n++
	if r.n <= refusalsRecorded {
		return true, more
	}
	r.counted++
	return false, more
}
