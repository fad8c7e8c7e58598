package retention_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: every
// goroutine the Manager starts (deleter calls, sweep workers, the journal
// writer) must be joined.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
