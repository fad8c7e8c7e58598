package audit_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/audittest"
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

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCloseWhileAppending closes a log under concurrent appends: every
// append either succeeds, and is then in the log, or returns ErrClosed;
// none hangs, and the log's goroutines are gone (goleak checks in TestMain).
func TestCloseWhileAppending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKeys(t, "audit.example.com/close")
	s := audit.NewMemoryStore()
	l, err := audit.Open(ctx, s, k.signer, &audit.Options{CheckpointInterval: time.Millisecond})
	require.NoError(t, err)
	var mu sync.Mutex
	var ok []uint64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				idx, err := l.Append(ctx, event(w*1000+i))
				if err != nil {
					assert.ErrorIs(t, err, audit.ErrClosed)
					return
				}
				mu.Lock()
				ok = append(ok, idx)
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(ok)
		mu.Unlock()
		if n > 200 {
			break
		}
		runtime.Gosched()
	}
	require.NoError(t, l.Close())
	wg.Wait()
	size, err := s.Size(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, len(ok), size, "every acknowledged append, and only those, is in the log")
	_, err = audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.verifier})
	require.NoError(t, err)
	_, err = l.Query(ctx, audit.Query{Reader: "x:y"})
	require.ErrorIs(t, err, audit.ErrClosed)
	_, err = l.InclusionProof(ctx, 0, 1)
	require.ErrorIs(t, err, audit.ErrClosed)
}

// failingStore fails every append after the first n.
type failingStore struct {
	*audit.MemoryStore
	n int
}

func (f *failingStore) Append(ctx context.Context, fn audit.AppendFunc) error {
	if f.n <= 0 {
		return errors.New("disk full")
	}
	f.n--
	return f.MemoryStore.Append(ctx, fn)
}

func TestStoreFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKeys(t, "audit.example.com/fail")
	s := &failingStore{MemoryStore: audit.NewMemoryStore(), n: 2}
	l, err := audit.Open(ctx, s, k.signer, nil)
	require.NoError(t, err)
	defer l.Close()
	for i := range 2 {
		_, err := l.Append(ctx, event(i))
		require.NoError(t, err)
	}
	_, err = l.Append(ctx, event(2))
	require.ErrorContains(t, err, "disk full", "a store failure reaches the appender")
	require.Error(t, l.Record(ctx, event(3)))
	s.n = 5
	idx, err := l.Append(ctx, event(4))
	require.NoError(t, err)
	assert.EqualValues(t, 2, idx, "a failed batch leaves no gap")
	_, err = audit.Verify(ctx, s.MemoryStore, &audit.VerifyOptions{Verifier: k.verifier})
	require.NoError(t, err)
}

func TestOpenBadArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKeys(t, "audit.example.com/open")
	_, err := audit.Open(ctx, nil, k.signer, nil)
	assert.Error(t, err)
	_, err = audit.Open(ctx, audit.NewMemoryStore(), nil, nil)
	assert.Error(t, err)
	_, err = audit.Open(ctx, audit.NewMemoryStore(), k.signer, &audit.Options{Origin: "two\nlines"})
	assert.ErrorIs(t, err, audit.ErrMalformedCheckpoint)
	l, err := audit.Open(ctx, audit.NewMemoryStore(), k.signer, &audit.Options{Origin: "audit.example.com/other"})
	require.NoError(t, err)
	defer l.Close()
	msg, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	_, err = audit.VerifyCheckpoint(msg, "audit.example.com/other", k.verifier)
	require.NoError(t, err, "Options.Origin names the log in its checkpoints")
	_, err = audit.VerifyCheckpoint(msg, "", k.verifier)
	require.ErrorIs(t, err, audit.ErrCheckpointOrigin)
}

func TestAppendContext(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Uncontended appends commit inline and ignore ctx; a queued append
	// honours it. Either way the call returns.
	_, err := l.Append(ctx, event(1))
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
}

// plainStore hides the optional interfaces of the store it wraps.
type plainStore struct{ audit.Store }

func TestStoreWithoutOptionalInterfaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKeys(t, "audit.example.com/plain")
	s := plainStore{audit.NewMemoryStore()}
	l, err := audit.Open(ctx, s, k.signer, nil)
	require.NoError(t, err)
	defer l.Close()
	for i := range 30 {
		_, err := l.Append(ctx, audittest.Event(i))
		require.NoError(t, err)
	}
	var got []uint64
	q := audit.Query{Reader: "employee:dpo", Subject: "user:u_3", Action: "workspace.file.read", Limit: 2}
	for {
		p, err := l.Query(ctx, q)
		require.NoError(t, err)
		for _, e := range p.Entries {
			got = append(got, e.Index)
		}
		if !p.More {
			break
		}
		q.Start = p.Next
	}
	assert.Equal(t, []uint64{3, 8, 13, 18, 23, 28}, got, "Query scans a store without SearchStore")
	_, err = l.ApplyRetention(ctx)
	assert.ErrorIs(t, err, audit.ErrUnsupported)
	msg, err := l.Checkpoint(ctx)
	require.NoError(t, err, "a store without CheckpointStore still gets signed checkpoints")
	res, err := audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.verifier, Checkpoints: [][]byte{msg}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Checkpoints)
}

// TestGroupCommitKnobs runs concurrent appends with batching bounded to
// one entry, and with lingering off: the log stays correct either way.
func TestGroupCommitKnobs(t *testing.T) {
	t.Parallel()
	for _, opts := range []*audit.Options{{MaxBatch: 1}, {MaxDelay: -1}, {MaxBatch: 3, MaxDelay: time.Second}} {
		ctx := context.Background()
		k := newKeys(t, "audit.example.com/knobs")
		s := audit.NewMemoryStore()
		l, err := audit.Open(ctx, s, k.signer, opts)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					_, err := l.Append(ctx, event(w*100+i))
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		require.NoError(t, l.Close())
		res, err := audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.verifier})
		require.NoError(t, err)
		assert.EqualValues(t, 160, res.Size, "options %+v", *opts)
	}
}
