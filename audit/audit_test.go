package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type keys struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

func newKeys(t testing.TB, origin string) keys {
	t.Helper()
	skey, vkey, err := audit.GenerateKey(origin)
	require.NoError(t, err)
	s, err := note.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return keys{s, v, vkey}
}

func newLog(t testing.TB, opts *audit.Options) (*audit.Log, keys) {
	t.Helper()
	k := newKeys(t, "audit.example.com/test")
	l, err := audit.Open(context.Background(), audit.NewMemoryStore(), k.signer, opts)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l, k
}

func event(i int) audit.Event {
	return audit.Event{
		Actor: "employee:e_17", Action: "workspace.file.read", Resource: fmt.Sprintf("workspace/ws_9a/file/%d", i),
		Subject: "user:u_3f9c", Purpose: "resolve_issue", Service: "api", IP: "192.0.2.0/24",
		Attrs: []audit.Attr{audit.Int("n", int64(i)), audit.Bool("ok", true), audit.String("ticket", "T-1")},
	}
}

func TestAppendCheckpointProofs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := clock.NewFake(t0)
	l, k := newLog(t, &audit.Options{Now: fake.Now})

	var wg sync.WaitGroup
	idx := make([]uint64, 100)
	for i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			idx[i], err = l.Append(ctx, event(i))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, x := range idx {
		assert.False(t, seen[x], "index %d handed out twice", x)
		seen[x] = true
	}
	msg, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	n, err := note.Open(msg, note.VerifierList(k.verifier))
	require.NoError(t, err, "x/mod note must verify privkit's checkpoint")
	c, err := audit.ParseCheckpoint([]byte(n.Text))
	require.NoError(t, err)
	require.EqualValues(t, 100, c.Size)

	for _, i := range []uint64{0, 1, 50, 99} {
		e, err := l.Entry(ctx, i)
		require.NoError(t, err)
		p, err := l.InclusionProof(ctx, i, c.Size)
		require.NoError(t, err)
		require.NoError(t, tlog.CheckRecord(p, int64(c.Size), c.Root, int64(i), e.Hash), "tlog must accept the inclusion proof")
		require.NoError(t, audit.VerifyInclusion(i, c.Size, e.Hash, c.Root, p))
	}
	res, err := audit.Verify(ctx, l.Store(), &audit.VerifyOptions{Verifier: k.verifier})
	require.NoError(t, err)
	assert.EqualValues(t, 100, res.Size)
	assert.Equal(t, c.Root, res.Root)
}
