package workspace_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/workspacetest"
)

// TestFleetTakeoverAndRemoteDelete runs two nodes on one store and one
// key store, as a fleet on shared PostgreSQL would.
func TestFleetTakeoverAndRemoteDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, cipher, fake := workspace.NewMemoryStore(), workspacetest.NewCipher(), clock.NewFake(t0)
	rootA, rootB := t.TempDir(), t.TempDir()
	start := func(root, node string) *workspace.Manager {
		m, err := workspace.New(ctx, root, cipher, store, &workspace.Options{Now: fake.Now, JanitorInterval: -1, Node: node})
		require.NoError(t, err)
		t.Cleanup(func() { m.Close() })
		return m
	}
	a, b := start(rootA, "node-a"), start(rootB, "node-b")

	wa, err := a.Open(ctx, "u_1")
	require.NoError(t, err)
	_, err = wa.Create(ctx, "x.csv", strings.NewReader("x"))
	require.NoError(t, err)
	_, err = b.Open(ctx, "u_1")
	var wrong *workspace.WrongNodeError
	require.ErrorAs(t, err, &wrong, "a live workspace is served only by its node")
	assert.Equal(t, "node-a", wrong.Node)
	node, err := b.Locate(ctx, "u_1")
	require.NoError(t, err)
	assert.Equal(t, "node-a", node)
	_, err = b.Locate(ctx, "u_nobody")
	assert.ErrorIs(t, err, workspace.ErrNotFound)

	// node-a goes down; once u_1 is idle past the TTL, node-b takes over.
	require.NoError(t, a.Close())
	fake.Advance(61 * time.Minute)
	wb, err := b.Open(ctx, "u_1")
	require.NoError(t, err, "an expired workspace of another node is taken over")
	assert.NotEqual(t, wa.ID(), wb.ID())
	assert.False(t, cipher.HasKey("workspace/"+wa.ID()), "the old key is shredded by the new node")
	assert.True(t, exists(wa.Dir()), "but node-b never touches node-a's disk")
	node, err = b.Locate(ctx, "u_1")
	require.NoError(t, err)
	assert.Equal(t, "node-b", node)

	// node-a comes back and removes the directory no record claims.
	a = start(rootA, "node-a")
	assert.False(t, exists(wa.Dir()), "the returning node removes its orphaned directory")

	// Delete from another node: the key is shredded and the record dropped
	// at once; the owner notices at its next persisted activity.
	wa2, err := a.Open(ctx, "u_2")
	require.NoError(t, err)
	require.NoError(t, b.Delete(ctx, "u_2"))
	assert.False(t, cipher.HasKey("workspace/"+wa2.ID()))
	fake.Advance(2 * time.Minute)
	_, err = wa2.List(ctx)
	assert.ErrorIs(t, err, workspace.ErrExpired, "the owning node learns the workspace is gone")
	assert.False(t, exists(wa2.Dir()), "and removes its directory")
}

func TestNodeNameKeptWithRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root, store, cipher := t.TempDir(), workspace.NewMemoryStore(), workspacetest.NewCipher()
	m, err := workspace.New(ctx, root, cipher, store, &workspace.Options{JanitorInterval: -1, Node: "node-a"})
	require.NoError(t, err)
	ws, err := m.Open(ctx, "u_1")
	require.NoError(t, err)
	require.NoError(t, m.Close())

	// A restart without Node (a container with a new host name) keeps the
	// root's node, so its workspaces are not mistaken for orphans.
	m, err = workspace.New(ctx, root, cipher, store, &workspace.Options{JanitorInterval: -1})
	require.NoError(t, err)
	assert.Equal(t, "node-a", m.Node())
	assert.True(t, exists(ws.Dir()), "the workspace survived the restart")
	require.NoError(t, m.Close())

	_, err = workspace.New(ctx, root, cipher, store, &workspace.Options{JanitorInterval: -1, Node: "node-b"})
	assert.ErrorContains(t, err, "belongs to node", "a root cannot change hands silently")
	assert.True(t, exists(ws.Dir()))
}
