package call

import (
	"testing"

	"go.uber.org/goleak"
)

// No test leaves a goroutine behind: the Manager owns every goroutine it
// starts (capture openers, media pumps, track readers) and waits for them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leakIgnores()...)
}

// leakIgnores are goroutines allowed to outlive the tests. None so far:
// Pion's goroutines end with PeerConnection.Close, which the Manager waits
// for (bounded), and the tests close their own peers.
func leakIgnores() []goleak.Option {
	return nil
}
