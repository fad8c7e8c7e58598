package workspace_test

import (
	"testing"

	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/workspacetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	workspacetest.Run(t, func(t *testing.T) workspace.Store { return workspace.NewMemoryStore() })
}
