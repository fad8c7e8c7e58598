package audit_test

import (
	"testing"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/audittest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	audittest.Run(t, func(t *testing.T) audit.Store { return audit.NewMemoryStore() })
}
