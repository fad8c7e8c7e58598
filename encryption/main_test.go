package encryption

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: the package
// starts none of its own.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
