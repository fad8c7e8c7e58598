package sandbox_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a run starts is gone when it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
