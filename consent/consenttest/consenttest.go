// Package consenttest is the conformance suite of [consent.Store]
// implementations, in the manner of testing/fstest. Every store runs
// [Run]; only tests import this package.
package consenttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/internal/clock"
)

// NewStore returns a fresh, empty store, and a function that opens another
// handle on the same data as a second service instance would (the memory
// store returns itself). Both are closed when the test ends.
type NewStore func(t *testing.T) (s consent.Store, reopen func(t *testing.T) consent.Store)

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func decision(subject, purpose string, granted bool, at time.Time) consent.Decision {
	m := consent.MethodReject
	if granted {
		m = consent.MethodAccept
	}
	return consent.Decision{Subject: subject, Purpose: purpose, Granted: granted, Method: m, Time: at}
}

// Run runs the conformance suite against the stores that newStore makes.
func Run(t *testing.T, newStore NewStore) {
	t.Run("AppendRoundTrip", func(t *testing.T) { testRoundTrip(t, newStore) })
	t.Run("HistoryOrderAndIsolation", func(t *testing.T) { testHistory(t, newStore) })
	t.Run("Changes", func(t *testing.T) { testChanges(t, newStore) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrent(t, newStore) })
	t.Run("Precedence", func(t *testing.T) { testPrecedence(t, newStore) })
	t.Run("TwoInstances", func(t *testing.T) { testTwoInstances(t, newStore) })
	t.Run("ManagerLifecycle", func(t *testing.T) { testLifecycle(t, newStore) })
	t.Run("CatchUpAfterManyChanges", func(t *testing.T) { testCatchUp(t, newStore) })
}

// testLifecycle runs a subject's story through a Manager on the store:
// a grant under a notice, a GPC opt-out that conflicts with it, a
// confirmation, and the proof export.
func testLifecycle(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s, _ := newStore(t)
	fake := clock.NewFake(base)
	notice := consent.Notice{Purpose: consent.Analytics, Version: 1, Language: "en", Text: "We count page views."}
	m, err := consent.New(s, &consent.Options{Now: fake.Now, Notices: []consent.Notice{notice}})
	require.NoError(t, err)
	defer m.Close()

	_, err = m.Grant(ctx, "l", consent.Analytics, consent.Meta{Method: consent.MethodAccept, NoticeVersion: 1, Language: "en", Region: "US-CA", IP: "203.0.113.9"})
	require.NoError(t, err)
	fake.Advance(time.Minute)
	_, err = m.Record(ctx, consent.Decision{Subject: "l", Purpose: consent.Analytics, Method: consent.MethodGPC})
	require.NoError(t, err)
	r, err := m.Check(ctx, "l", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, r.Allowed, "GPC opts out")
	assert.Equal(t, consent.ReasonConflict, r.Reason, "over an explicit opt-in")
	fake.Advance(time.Minute)
	_, err = m.Grant(ctx, "l", consent.Analytics, consent.Meta{Method: consent.MethodConfirm, NoticeVersion: 1, Language: "en"})
	require.NoError(t, err)
	r, err = m.Check(consent.WithGPC(ctx, &consent.GPCResult{GPC: true, Subject: "l", Region: "US-CA"}), "l", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, r.Allowed, "a confirmation stands against GPC")

	p, err := m.Export(ctx, "l")
	require.NoError(t, err)
	require.Len(t, p.Decisions, 3)
	methods := []consent.Method{p.Decisions[0].Method, p.Decisions[1].Method, p.Decisions[2].Method}
	assert.Equal(t, []consent.Method{consent.MethodAccept, consent.MethodGPC, consent.MethodConfirm}, methods)
	assert.Equal(t, "203.0.113.0", p.Decisions[0].IP, "stored truncated")
	assert.Equal(t, "US-CA", p.Decisions[0].Region)
	require.Len(t, p.Notices, 1)
	assert.Equal(t, notice.Digest(), p.Notices[0].SHA256)
}

// testCatchUp checks that a Manager on a second handle catches up through
// other subjects' changes to find a withdrawal. (Batching beyond one sync
// batch is tested in package consent, on the memory store.)
func testCatchUp(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	sa, reopen := newStore(t)
	sb := reopen(t)
	fb := clock.NewFake(base)
	b, err := consent.New(sb, &consent.Options{Now: fb.Now})
	require.NoError(t, err)
	defer b.Close()
	_, err = sa.Append(ctx, consent.Decision{Subject: "z", Purpose: consent.Analytics, Granted: true, Method: consent.MethodAccept, Region: "DE", Time: base})
	require.NoError(t, err)
	ok, err := b.Allowed(ctx, "z", consent.Analytics)
	require.NoError(t, err)
	require.True(t, ok)
	const n = 20
	for i := range n {
		_, err := sa.Append(ctx, decision(fmt.Sprint("bulk", i), consent.Analytics, true, base))
		require.NoError(t, err)
	}
	_, err = sa.Append(ctx, decision("z", consent.Analytics, false, base.Add(time.Second)))
	require.NoError(t, err)
	fb.Advance(consent.DefaultMaxStaleness + time.Nanosecond)
	ok, err = b.Allowed(ctx, "z", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "the withdrawal behind many other changes is found")
}

func testRoundTrip(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s, _ := newStore(t)
	in := consent.Decision{
		Subject: "u_ünï", Purpose: consent.Analytics, Granted: true, NoticeVersion: 3, Language: "de-CH",
		Method: consent.MethodSettings, Region: "CH", Time: base.Add(123456789 * time.Nanosecond), IP: "2001:db8:1::",
	}
	out, err := s.Append(ctx, in)
	require.NoError(t, err)
	assert.Positive(t, out.Seq, "the store assigns a positive sequence number")
	want := in
	want.Seq = out.Seq
	assert.Empty(t, cmp.Diff(want, out), "Append returns the decision as stored (-want +got)")
	h, err := s.History(ctx, in.Subject)
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Empty(t, cmp.Diff(want, h[0]), "every field, the time to the nanosecond, survives a round trip (-want +got)")
	assert.Equal(t, time.UTC, h[0].Time.Location(), "times come back in UTC")
}

func testHistory(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s, _ := newStore(t)
	h, err := s.History(ctx, "nobody")
	require.NoError(t, err, "an unknown subject is an empty history, not an error")
	assert.Empty(t, h)
	var seqs []int64
	for i := range 5 {
		for _, subj := range []string{"a", "b"} {
			d, err := s.Append(ctx, decision(subj, consent.Analytics, i%2 == 0, base.Add(time.Duration(-i)*time.Minute)))
			require.NoError(t, err)
			if subj == "a" {
				seqs = append(seqs, d.Seq)
			}
		}
	}
	h, err = s.History(ctx, "a")
	require.NoError(t, err)
	require.Len(t, h, 5, "only subject a's decisions")
	for i, d := range h {
		assert.Equal(t, "a", d.Subject)
		assert.Equal(t, seqs[i], d.Seq, "history is in sequence order, not decision-time order")
	}
	h[0].Subject = "mutated"
	h2, err := s.History(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, "a", h2[0].Subject, "the caller owns the returned slice")
}

func testChanges(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s, _ := newStore(t)
	ds, head, err := s.Changes(ctx, 0, 10)
	require.NoError(t, err)
	assert.Empty(t, ds)
	assert.Zero(t, head, "an empty store has head 0")
	var all []int64
	for i := range 7 {
		d, err := s.Append(ctx, decision(fmt.Sprint("s", i%3), consent.Advertising, true, base))
		require.NoError(t, err)
		all = append(all, d.Seq)
	}
	_, head, err = s.Changes(ctx, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, all[6], head, "limit 0 asks for the head only")

	ds, head, err = s.Changes(ctx, all[1], 3)
	require.NoError(t, err)
	assert.Equal(t, all[6], head)
	require.Len(t, ds, 3, "limit caps the batch")
	for i, d := range ds {
		assert.Equal(t, all[2+i], d.Seq, "changes after a sequence number, in order")
	}
	ds, _, err = s.Changes(ctx, all[6], 10)
	require.NoError(t, err)
	assert.Empty(t, ds, "nothing after the head")
	ds, _, err = s.Changes(ctx, 0, 100)
	require.NoError(t, err)
	assert.Len(t, ds, 7)
}

func testConcurrent(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s, reopen := newStore(t)
	s2 := reopen(t)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		st := s
		if w%2 == 1 {
			st = s2
		}
		wg.Go(func() {
			for i := range each {
				if _, err := st.Append(ctx, decision(fmt.Sprint("w", w), consent.Analytics, i%2 == 0, base)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "concurrent appends through two handles succeed")
	}
	ds, head, err := s.Changes(ctx, 0, 1000)
	require.NoError(t, err)
	require.Len(t, ds, writers*each)
	for i, d := range ds {
		assert.Equal(t, int64(i+1)+ds[0].Seq-1, d.Seq, "sequence numbers are unique and gap-free")
	}
	assert.Equal(t, ds[len(ds)-1].Seq, head)
}

func testPrecedence(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s, _ := newStore(t)
	fake := clock.NewFake(base)
	m, err := consent.New(s, &consent.Options{Now: fake.Now})
	require.NoError(t, err)
	defer m.Close()
	_, err = m.Grant(ctx, "p", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "DE", Time: base})
	require.NoError(t, err)
	_, err = m.Withdraw(ctx, "p", consent.Analytics, consent.Meta{Method: consent.MethodReject, Time: base.Add(-time.Hour)})
	require.NoError(t, err, "a decision older than the stored one is accepted into the history")
	r, err := m.Check(ctx, "p", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, r.Allowed, "the newest decision by time wins; the late-arriving older refusal does not")
	assert.Equal(t, consent.MethodAccept, r.Record().Method)

	_, err = m.Withdraw(ctx, "p", consent.Analytics, consent.Meta{Method: consent.MethodReject, Time: base})
	require.NoError(t, err)
	r, err = m.Check(ctx, "p", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, r.Allowed, "equal times: the higher sequence number wins")
	h, err := s.History(ctx, "p")
	require.NoError(t, err)
	assert.Len(t, h, 3, "every decision stays in the history")
}

// testTwoInstances shows that a decision recorded through one instance is
// honoured by another sharing the store: at once when the store's Watcher
// is complete or the second Manager is strict, and within MaxStaleness
// otherwise (driven by a fake clock, not sleeps).
func testTwoInstances(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	sa, reopen := newStore(t)
	sb := reopen(t)
	fa, fb := clock.NewFake(base), clock.NewFake(base)
	a, err := consent.New(sa, &consent.Options{Now: fa.Now})
	require.NoError(t, err)
	defer a.Close()
	b, err := consent.New(sb, &consent.Options{Now: fb.Now})
	require.NoError(t, err)
	defer b.Close()
	strict, err := consent.New(sb, &consent.Options{Now: fb.Now, MaxStaleness: -1})
	require.NoError(t, err)
	defer strict.Close()
	_, complete := watch(sb)

	_, err = a.Grant(ctx, "x", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "FR"})
	require.NoError(t, err)
	for _, m := range []*consent.Manager{b, strict} {
		ok, err := m.Allowed(ctx, "x", consent.Analytics)
		require.NoError(t, err)
		require.True(t, ok, "B sees A's grant (a cache miss loads from the store)")
	}
	fa.Advance(time.Second)
	_, err = a.Withdraw(ctx, "x", consent.Analytics, consent.Meta{Method: consent.MethodSettings})
	require.NoError(t, err)

	ok, err := strict.Allowed(ctx, "x", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "a strict Manager honours A's withdrawal on its next check")
	if complete {
		ok, err = b.Allowed(ctx, "x", consent.Analytics)
		require.NoError(t, err)
		assert.False(t, ok, "with a complete Watcher, B honours A's withdrawal on its next check")
	}
	fb.Advance(consent.DefaultMaxStaleness + time.Nanosecond)
	ok, err = b.Allowed(ctx, "x", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "B honours A's withdrawal once MaxStaleness has passed, on its next check")
}

func watch(s consent.Store) (stop func(), complete bool) {
	w, ok := s.(consent.Watcher)
	if !ok {
		return func() {}, false
	}
	stop, complete = w.Watch(func(string) {})
	stop()
	return stop, complete
}
