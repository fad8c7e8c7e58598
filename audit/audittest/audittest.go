// Package audittest is the conformance suite for [audit.Store]
// implementations, in the manner of testing/fstest: a store passes when
// [Run] passes. It drives a real [audit.Log] over the store and checks
// entries, proofs (with golang.org/x/mod/sumdb/tlog as the independent
// verifier), checkpoints, queries, retention, the access guard, reopening
// and concurrency.
//
// Only tests import this package.
package audittest

import (
	"context"
	"errors"
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

// Keys is a throw-away checkpoint key pair for tests.
type Keys struct {
	Signer   note.Signer
	Verifier note.Verifier
}

// NewKeys generates a key pair for a log named origin.
func NewKeys(t testing.TB, origin string) Keys {
	t.Helper()
	skey, vkey, err := audit.GenerateKey(origin)
	require.NoError(t, err)
	s, err := note.NewSigner(skey)
	require.NoError(t, err)
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return Keys{s, v}
}

// Event returns a valid, distinct test event numbered i.
func Event(i int) audit.Event {
	return audit.Event{
		Actor:    fmt.Sprintf("employee:e_%d", i%3),
		Action:   "workspace.file.read",
		Resource: fmt.Sprintf("workspace/ws_%d/file/%d", i%2, i),
		Subject:  fmt.Sprintf("user:u_%d", i%5),
		Purpose:  "resolve_issue",
		Outcome:  audit.Success,
		Service:  "api",
		IP:       "192.0.2.0/24",
		Attrs:    []audit.Attr{audit.Int("n", int64(i)), audit.Bool("cached", i%2 == 0), audit.String("ticket", "T-1")},
	}
}

// T0 is the time the suite's fake clocks start at.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the conformance suite. newStore returns a new, empty store each
// time it is called; the suite may open several logs on one store in
// sequence, never two at once.
func Run(t *testing.T, newStore func(t *testing.T) audit.Store) {
	t.Run("AppendAndRead", func(t *testing.T) { testAppendAndRead(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("Proofs", func(t *testing.T) { testProofs(t, newStore(t)) })
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, newStore(t)) })
	t.Run("BadRequests", func(t *testing.T) { testBadRequests(t, newStore(t)) })
	t.Run("Query", func(t *testing.T) { testQuery(t, newStore(t)) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, newStore(t)) })
	t.Run("Guard", func(t *testing.T) { testGuard(t, newStore(t)) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newStore(t)) })
	t.Run("PeriodicCheckpoints", func(t *testing.T) { testPeriodic(t, newStore(t)) })
}

func open(t *testing.T, s audit.Store, k Keys, opts *audit.Options) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), s, k.Signer, opts)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func appendN(t *testing.T, l *audit.Log, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		idx, err := l.Append(context.Background(), Event(i))
		require.NoError(t, err)
		require.EqualValues(t, i, idx, "sequential appends take consecutive indexes")
	}
}

func verify(t *testing.T, s audit.Store, k Keys, cps ...[]byte) *audit.VerifyResult {
	t.Helper()
	res, err := audit.Verify(context.Background(), s, &audit.VerifyOptions{Verifier: k.Verifier, Checkpoints: cps})
	require.NoError(t, err, "an untouched log verifies")
	return res
}

func testAppendAndRead(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	fake := clock.NewFake(T0)
	l := open(t, s, k, &audit.Options{Now: fake.Now})
	appendN(t, l, 0, 10)
	n, err := l.Size(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 10, n)
	var prev tlog.Hash
	for i := range 10 {
		e, err := l.Entry(ctx, uint64(i))
		require.NoError(t, err)
		want := Event(i)
		want.Time = T0
		assert.Equal(t, want, e.Event, "entry %d reads back as appended, stamped with the log's clock", i)
		assert.Equal(t, prev, e.Prev, "entry %d links to the previous leaf hash", i)
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, tlog.RecordHash(data), e.Hash, "the leaf hash is RFC 6962 over the leaf")
		prev = e.Hash
	}
	// Record satisfies the one-method Auditor interfaces of other packages.
	var auditor interface {
		Record(ctx context.Context, e audit.Event) error
	} = l
	require.NoError(t, auditor.Record(ctx, Event(10)))
	res := verify(t, s, k)
	assert.EqualValues(t, 11, res.Size)

	_, err = l.Append(ctx, audit.Event{Action: "x"})
	require.ErrorIs(t, err, audit.ErrInvalidEvent, "an event without an actor is refused")
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close is idempotent")
	_, err = l.Append(ctx, Event(1))
	require.ErrorIs(t, err, audit.ErrClosed)
	_, err = l.Checkpoint(ctx)
	require.ErrorIs(t, err, audit.ErrClosed)
}

func testConcurrent(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	l := open(t, s, k, &audit.Options{MaxBatch: 16})
	const writers, each = 16, 25
	var mu sync.Mutex
	seen := map[uint64]int{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				i := w*each + j
				idx, err := l.Append(ctx, Event(i))
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				seen[idx] = i
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, writers*each, "every append got its own index")
	for idx, i := range seen {
		e, err := l.Entry(ctx, idx)
		require.NoError(t, err)
		require.Equal(t, Event(i).Resource, e.Event.Resource, "index %d holds the event acknowledged with it", idx)
	}
	res := verify(t, s, k)
	assert.EqualValues(t, writers*each, res.Size)
}

func testProofs(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	l := open(t, s, k, nil)
	const n = 37
	roots := make([]tlog.Hash, n+1)
	hashes := make([]tlog.Hash, n)
	for i := range n {
		appendN(t, l, i, i+1)
		r, err := l.Root(ctx, uint64(i+1))
		require.NoError(t, err)
		roots[i+1] = r
		e, err := l.Entry(ctx, uint64(i))
		require.NoError(t, err)
		hashes[i] = e.Hash
	}
	// An independent root: tlog over the leaf hashes alone.
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		var all []tlog.Hash
		for i := range n {
			hs, err := tlog.StoredHashesForRecordHash(int64(i), hashes[i], tlog.HashReaderFunc(func(x []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(x))
				for j, y := range x {
					out[j] = all[y]
				}
				return out, nil
			}))
			if err != nil {
				return nil, err
			}
			all = append(all, hs...)
		}
		out := make([]tlog.Hash, len(idx))
		for j, y := range idx {
			out[j] = all[y]
		}
		return out, nil
	})
	for size := uint64(1); size <= n; size++ {
		want, err := tlog.TreeHash(int64(size), hr)
		require.NoError(t, err)
		require.Equal(t, want, roots[size], "root of size %d agrees with tlog", size)
	}
	// Proofs at the sizes around powers of two, where the algorithms branch.
	for _, size := range []uint64{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 37} {
		for i := uint64(0); i < size; i++ {
			p, err := l.InclusionProof(ctx, i, size)
			require.NoError(t, err)
			require.NoError(t, tlog.CheckRecord(p, int64(size), roots[size], int64(i), hashes[i]), "tlog accepts inclusion %d in %d", i, size)
			require.NoError(t, audit.VerifyInclusion(i, size, hashes[i], roots[size], p))
			require.Error(t, audit.VerifyInclusion(i, size, hashes[(i+1)%n], roots[size], p), "another leaf is not proven")
		}
		for _, old := range []uint64{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 37} {
			if old > size {
				break
			}
			p, err := l.ConsistencyProof(ctx, old, size)
			require.NoError(t, err)
			require.NoError(t, tlog.CheckTree(p, int64(size), roots[size], int64(old), roots[old]), "tlog accepts consistency %d->%d", old, size)
			require.NoError(t, audit.VerifyConsistency(old, size, roots[old], roots[size], p))
			if old < size {
				require.Error(t, audit.VerifyConsistency(old, size, roots[old-1], roots[size], p), "a wrong old root is not proven")
			}
		}
	}
}

func testCheckpoints(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	l := open(t, s, k, nil)
	empty, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	c, err := audit.VerifyCheckpoint(empty, "", k.Verifier)
	require.NoError(t, err)
	assert.Equal(t, audit.Checkpoint{Origin: "audit.example.com/conformance", Size: 0, Root: audit.EmptyRoot}, c)

	appendN(t, l, 0, 5)
	msg, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	n, err := note.Open(msg, note.VerifierList(k.Verifier))
	require.NoError(t, err, "x/mod note verifies the checkpoint")
	c, err = audit.ParseCheckpoint([]byte(n.Text))
	require.NoError(t, err)
	root, err := l.Root(ctx, 5)
	require.NoError(t, err)
	assert.Equal(t, audit.Checkpoint{Origin: "audit.example.com/conformance", Size: 5, Root: root}, c)
	if cs, ok := s.(audit.CheckpointStore); ok {
		latest, err := cs.LatestCheckpoint(ctx)
		require.NoError(t, err)
		assert.Equal(t, msg, latest, "the store keeps the latest checkpoint")
	}

	other := NewKeys(t, "audit.example.com/conformance")
	_, err = audit.VerifyCheckpoint(msg, "", other.Verifier)
	require.ErrorIs(t, err, audit.ErrCheckpointSignature, "a checkpoint is not accepted under another key of the same name")
	forged := append([]byte(nil), msg...)
	forged[len("audit.example.com/conformance\n")] = '6'
	_, err = audit.VerifyCheckpoint(forged, "", k.Verifier)
	require.ErrorIs(t, err, audit.ErrCheckpointSignature, "an edited size breaks the signature")
	_, err = audit.VerifyCheckpoint(msg, "audit.example.com/other", k.Verifier)
	require.ErrorIs(t, err, audit.ErrCheckpointOrigin)
	verify(t, s, k, empty, msg)
}

func testBadRequests(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	l := open(t, s, k, nil)
	_, err := l.InclusionProof(ctx, 0, 0)
	require.ErrorIs(t, err, audit.ErrEmptyLog, "no proof in the empty tree")
	_, err = l.Entry(ctx, 0)
	require.ErrorIs(t, err, audit.ErrNotFound)
	appendN(t, l, 0, 4)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"entry past the end", func() error { _, err := l.Entry(ctx, 4); return err }(), audit.ErrNotFound},
		{"entry far past the end", func() error { _, err := l.Entry(ctx, 1<<63+5); return err }(), audit.ErrNotFound},
		{"inclusion in a larger tree", func() error { _, err := l.InclusionProof(ctx, 0, 5); return err }(), audit.ErrTreeSize},
		{"inclusion of an index outside the tree", func() error { _, err := l.InclusionProof(ctx, 3, 3); return err }(), audit.ErrNotFound},
		{"consistency from the empty tree", func() error { _, err := l.ConsistencyProof(ctx, 0, 4); return err }(), audit.ErrEmptyLog},
		{"consistency backwards", func() error { _, err := l.ConsistencyProof(ctx, 4, 2); return err }(), audit.ErrProofInput},
		{"consistency to a larger tree", func() error { _, err := l.ConsistencyProof(ctx, 2, 9); return err }(), audit.ErrTreeSize},
		{"root of a larger tree", func() error { _, err := l.Root(ctx, 9); return err }(), audit.ErrTreeSize},
	} {
		assert.ErrorIs(t, tc.err, tc.want, tc.name)
	}
	p, err := l.ConsistencyProof(ctx, 4, 4)
	require.NoError(t, err)
	assert.Empty(t, p, "equal sizes need no proof")
}

func testQuery(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	fake := clock.NewFake(T0)
	l := open(t, s, k, &audit.Options{Now: fake.Now})
	for i := range 20 {
		_, err := l.Append(ctx, Event(i))
		require.NoError(t, err)
		fake.Advance(time.Minute)
	}
	// user:u_2 has events 2, 7, 12, 17.
	var got []uint64
	q := audit.Query{Reader: "user:u_2", Purpose: "dsr_access", Subject: "user:u_2", Action: "workspace.file.read", Limit: 3}
	pages := 0
	for {
		p, err := l.Query(ctx, q)
		require.NoError(t, err)
		pages++
		for _, e := range p.Entries {
			got = append(got, e.Index)
			assert.Equal(t, "user:u_2", e.Event.Subject)
		}
		if !p.More {
			break
		}
		q.Start = p.Next
	}
	assert.Equal(t, []uint64{2, 7, 12, 17}, got, "paging returns each match once, in order")
	assert.Equal(t, 2, pages)

	n, err := l.Size(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 22, n, "each query appended a read entry")
	last, err := l.Entry(ctx, n-1)
	require.NoError(t, err)
	assert.Equal(t, audit.ReadAction, last.Event.Action)
	assert.Equal(t, "user:u_2", last.Event.Actor)
	assert.Equal(t, "dsr_access", last.Event.Purpose)

	p, err := l.Query(ctx, audit.Query{Reader: "employee:dpo", Actor: "employee:e_1", Since: T0.Add(5 * time.Minute), Until: T0.Add(14 * time.Minute)})
	require.NoError(t, err)
	var idx []uint64
	for _, e := range p.Entries {
		idx = append(idx, e.Index)
	}
	assert.Equal(t, []uint64{7, 10, 13}, idx, "actor and half-open time range")
	p, err = l.Query(ctx, audit.Query{Reader: "employee:dpo", Resource: "workspace/ws_1/file/9"})
	require.NoError(t, err)
	require.Len(t, p.Entries, 1)
	assert.EqualValues(t, 9, p.Entries[0].Index)
	assert.False(t, p.More)

	_, err = l.Query(ctx, audit.Query{Subject: "user:u_2"})
	require.Error(t, err, "an anonymous read is refused")
	_, err = l.Query(ctx, audit.Query{Reader: "x:y", Limit: audit.MaxPageSize + 1})
	require.Error(t, err)
	verify(t, s, k)
}

func testRetention(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	fake := clock.NewFake(T0)
	l := open(t, s, k, &audit.Options{Now: fake.Now})
	appendN(t, l, 0, 6)
	before, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	fake.Advance(200 * 24 * time.Hour)
	appendN(t, l, 6, 9)
	fake.Advance(200 * 24 * time.Hour) // entries 0-5 are 400 days old, 6-8 200

	n, err := l.ApplyRetention(ctx)
	if errors.Is(err, audit.ErrUnsupported) {
		t.Skip("store does not implement audit.StripStore")
	}
	require.NoError(t, err)
	assert.Equal(t, 6, n, "the entries older than a year are stripped")
	for i := range uint64(10) {
		e, err := l.Entry(ctx, i)
		require.NoError(t, err)
		assert.Equal(t, i < 6, e.Stripped, "entry %d", i)
		if i < 6 {
			assert.Zero(t, e.Event, "a stripped entry keeps no event data")
		}
	}
	assert.Equal(t, audit.RetentionAction, must(l.Entry(ctx, 9)).Event.Action, "retention is itself recorded")

	after, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	c, err := audit.VerifyCheckpoint(after, "", k.Verifier)
	require.NoError(t, err)
	e, err := l.Entry(ctx, 7)
	require.NoError(t, err)
	p, err := l.InclusionProof(ctx, 7, c.Size)
	require.NoError(t, err)
	require.NoError(t, tlog.CheckRecord(p, int64(c.Size), c.Root, 7, e.Hash), "proofs of kept entries still verify")
	p, err = l.InclusionProof(ctx, 2, c.Size)
	require.NoError(t, err)
	require.NoError(t, tlog.CheckRecord(p, int64(c.Size), c.Root, 2, must(l.Entry(ctx, 2)).Hash), "and of stripped ones, by leaf hash")
	res := verify(t, s, k, before, after)
	assert.EqualValues(t, 6, res.Stripped)
	assert.Equal(t, 3, res.Checkpoints, "the stored latest and both given checkpoints match, the one from before the strip too")

	page, err := l.Query(ctx, audit.Query{Reader: "employee:dpo", Subject: "user:u_1"})
	require.NoError(t, err)
	for _, e := range page.Entries {
		assert.GreaterOrEqual(t, e.Index, uint64(6), "stripped entries are not returned")
	}
	n, err = l.ApplyRetention(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a second pass strips nothing")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func testGuard(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	fake := clock.NewFake(T0)
	l := open(t, s, k, &audit.Options{Now: fake.Now})
	g := audit.NewGuard(l, nil)

	_, err := g.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.ResolveIssue, Resource: "workspace/ws_1"})
	require.ErrorIs(t, err, audit.ErrAccessDenied, "no grant, no access")

	gr, err := g.Grant(ctx, audit.Grant{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.ResolveIssue, Ticket: "SUP-42", Expires: T0.Add(24 * time.Hour), GrantedBy: "employee:lead"})
	require.NoError(t, err)
	got, err := g.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.ResolveIssue, Resource: "workspace/ws_1"})
	require.NoError(t, err)
	assert.Equal(t, gr, got, "access names the grant that allowed it")

	for _, tc := range []struct {
		name string
		req  audit.AccessRequest
	}{
		{"another purpose", audit.AccessRequest{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.FixBug}},
		{"another user", audit.AccessRequest{Employee: "employee:e_17", User: "user:u_2", Purpose: audit.ResolveIssue}},
		{"another employee", audit.AccessRequest{Employee: "employee:e_18", User: "user:u_1", Purpose: audit.ResolveIssue}},
		{"a purpose not allowed", audit.AccessRequest{Employee: "employee:e_17", User: "user:u_1", Purpose: "marketing"}},
		{"no employee", audit.AccessRequest{User: "user:u_1", Purpose: audit.ResolveIssue}},
	} {
		_, err := g.Access(ctx, tc.req)
		assert.ErrorIs(t, err, audit.ErrAccessDenied, tc.name)
	}
	for _, tc := range []struct {
		name string
		gr   audit.Grant
	}{
		{"purpose not allowed", audit.Grant{Employee: "employee:e_17", User: "user:u_1", Purpose: "marketing", Ticket: "T", Expires: T0.Add(time.Hour), GrantedBy: "employee:lead"}},
		{"no ticket", audit.Grant{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.FixBug, Expires: T0.Add(time.Hour), GrantedBy: "employee:lead"}},
		{"self grant", audit.Grant{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.FixBug, Ticket: "T", Expires: T0.Add(time.Hour), GrantedBy: "employee:e_17"}},
		{"expired already", audit.Grant{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.FixBug, Ticket: "T", Expires: T0, GrantedBy: "employee:lead"}},
		{"too long", audit.Grant{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.FixBug, Ticket: "T", Expires: T0.Add(30 * 24 * time.Hour), GrantedBy: "employee:lead"}},
	} {
		_, err := g.Grant(ctx, tc.gr)
		assert.ErrorIs(t, err, audit.ErrInvalidGrant, tc.name)
	}

	fake.Advance(25 * time.Hour)
	_, err = g.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.ResolveIssue})
	require.ErrorIs(t, err, audit.ErrAccessDenied, "an expired grant allows nothing")

	gr2, err := g.Grant(ctx, audit.Grant{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.LegalRequirement, Ticket: "LEGAL-7", Expires: fake.Now().Add(time.Hour), GrantedBy: "employee:lead"})
	require.NoError(t, err)
	_, err = g.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.LegalRequirement})
	require.NoError(t, err)
	require.NoError(t, g.Revoke(ctx, gr2.ID, "employee:lead"))
	_, err = g.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: "user:u_1", Purpose: audit.LegalRequirement})
	require.ErrorIs(t, err, audit.ErrAccessDenied, "a revoked grant allows nothing")
	require.Error(t, g.Revoke(ctx, 0, "employee:lead"), "entry 0 is a denial, not a grant")

	// Every grant, access and denial is in the log.
	counts := map[string]int{}
	p, err := l.Query(ctx, audit.Query{Reader: "employee:dpo", Subject: "user:u_1", Limit: 100})
	require.NoError(t, err)
	for _, e := range p.Entries {
		counts[e.Event.Action+"/"+string(e.Event.Outcome)]++
	}
	assert.Equal(t, map[string]int{
		audit.GrantAction + "/success":  2,
		audit.GrantAction + "/denied":   5,
		audit.AccessAction + "/success": 2,
		audit.AccessAction + "/denied":  7, // one per denial about user:u_1
		audit.RevokeAction + "/success": 1,
	}, counts)
	verify(t, s, k)
}

func testReopen(t *testing.T, s audit.Store) {
	k := NewKeys(t, "audit.example.com/conformance")
	l := open(t, s, k, nil)
	appendN(t, l, 0, 7)
	require.NoError(t, l.Close())
	l2 := open(t, s, k, nil)
	appendN(t, l2, 7, 12)
	res := verify(t, s, k)
	assert.EqualValues(t, 12, res.Size, "a reopened log continues the chain and tree")
}

func testPeriodic(t *testing.T, s audit.Store) {
	cs, ok := s.(audit.CheckpointStore)
	if !ok {
		t.Skip("store does not implement audit.CheckpointStore")
	}
	ctx := context.Background()
	k := NewKeys(t, "audit.example.com/conformance")
	l := open(t, s, k, &audit.Options{CheckpointInterval: 5 * time.Millisecond})
	appendN(t, l, 0, 3)
	require.Eventually(t, func() bool {
		msg, err := cs.LatestCheckpoint(ctx)
		if err != nil || msg == nil {
			return false
		}
		c, err := audit.VerifyCheckpoint(msg, "", k.Verifier)
		return err == nil && c.Size == 3
	}, 10*time.Second, 5*time.Millisecond, "a checkpoint of the grown log appears")
	require.NoError(t, l.Close())
}
