package privacy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a test starts has an owner that waits for it: none is
// left when the tests end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
