package retention_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/retention"
)

var _ retention.Auditor = (*audit.Log)(nil)

// TestRecordsToAuditLog sweeps and erases into a real audit log: every
// deletion, hold and request step is an entry.
func TestRecordsToAuditLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	skey, _, err := note.GenerateKey(rand.Reader, "retention-test")
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)
	log, err := audit.Open(ctx, audit.NewMemoryStore(), signer, nil)
	require.NoError(t, err)
	defer log.Close()

	now := t0
	m, err := retention.New(retention.NewMemoryStore(), &retention.Options{Now: func() time.Time { return now }, Auditor: log, Logger: quietLogger()})
	require.NoError(t, err)
	defer m.Close()
	m.RegisterDeleter("workspace", retention.DeleterFunc(func(context.Context, retention.Item) error { return nil }))
	for _, id := range []string{"a", "b"} {
		_, err := m.Track(ctx, freeFile(id))
		require.NoError(t, err)
	}
	now = now.Add(time.Hour)
	rep, err := m.Sweep(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Deleted)
	size, err := log.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), size, "one entry per deletion")
}
