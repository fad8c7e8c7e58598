package workspace_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine running: the
// janitor and the data-file syncs must all be joined.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
