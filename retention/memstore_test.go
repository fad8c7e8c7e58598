package retention_test

import (
	"testing"

	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentiontest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	retentiontest.Run(t, func(*testing.T) retention.Store { return retention.NewMemoryStore() })
}
