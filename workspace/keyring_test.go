package workspace_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/workspace"
)

// *encryption.Keyring is the Cipher hosts use.
var _ workspace.Cipher = (*encryption.Keyring)(nil)

func newKeyring(t testing.TB) *encryption.Keyring {
	t.Helper()
	kek, err := encryption.GenerateLocalKEK() // test only: a KEK in memory
	require.NoError(t, err)
	k, err := encryption.NewKeyring(encryption.NewMemoryKeyStore(), kek, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = k.Close() })
	return k
}

func TestWithKeyring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keyring := newKeyring(t)
	fake := clock.NewFake(t0)
	root := t.TempDir()
	store := workspace.NewMemoryStore()
	opts := &workspace.Options{Now: fake.Now, JanitorInterval: -1, Node: "n"}
	m, err := workspace.New(ctx, root, keyring, store, opts)
	require.NoError(t, err)
	defer m.Close()

	ws, err := m.Open(ctx, "u_k")
	require.NoError(t, err)
	body := strings.Repeat("name,email\nAda,ada@example.com\n", 40000) // > 1 MiB: several segments
	_, err = ws.Create(ctx, "people.csv", strings.NewReader(body))
	require.NoError(t, err)
	assert.Equal(t, body, readAll(t, ws, "people.csv"))
	for _, b := range diskBytes(t, ws.Dir()) {
		assert.False(t, bytes.Contains(b, []byte("ada@example.com")), "content is encrypted by the keyring")
		assert.False(t, bytes.Contains(b, []byte("people.csv")), "names are encrypted by the keyring")
	}

	// Keep a copy of a ciphertext, then let the workspace expire: after the
	// key is shredded the copy never opens again.
	ids := dataFiles(t, ws.Dir())
	require.Len(t, ids, 1)
	saved, err := os.ReadFile(filepath.Join(ws.Dir(), ids[0]))
	require.NoError(t, err)
	source := "workspace/" + ws.ID()
	r, err := keyring.NewDecryptingReader(ctx, source, bytes.NewReader(saved), []byte("privkit/workspace/v1/file/"+ids[0]))
	require.NoError(t, err, "before expiry the saved copy opens")
	_, err = io.ReadAll(r)
	require.NoError(t, err)

	fake.Advance(time.Hour)
	n, err := m.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r, err = keyring.NewDecryptingReader(ctx, source, bytes.NewReader(saved), []byte("privkit/workspace/v1/file/"+ids[0]))
	if err == nil {
		_, err = io.ReadAll(r)
	}
	assert.Error(t, err, "after deletion the shredded key opens no copy of the ciphertext")

	// Restart with the same keyring: a live workspace reads back.
	ws, err = m.Open(ctx, "u_k2")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a,b"))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	m2, err := workspace.New(ctx, root, keyring, store, opts)
	require.NoError(t, err)
	defer m2.Close()
	ws, err = m2.Open(ctx, "u_k2")
	require.NoError(t, err)
	assert.Equal(t, "a,b", readAll(t, ws, "a.csv"))
}
