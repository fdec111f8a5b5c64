package caller_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No test leaves a goroutine behind, on the device's side (call.Manager)
// or the caller's. Pion needed no exceptions here: a closed
// PeerConnection's goroutines are gone when Close returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
