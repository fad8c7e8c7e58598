package retention_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/retention"
)

func freeFile(id string) retention.Item {
	return retention.Item{ID: id, Category: retention.CategoryUploadedFile, Subject: "s1", System: "workspace", Plan: "free",
		Location: "ws/s1/" + id, Purpose: "analysis", LegalBasis: "contract"}
}

func TestSweepDeletesDueOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	e.track(t, freeFile("old"))
	e.clk.Advance(30 * time.Minute)
	e.track(t, freeFile("new"))
	e.clk.Advance(30 * time.Minute)
	rep := e.sweep(t)
	assert.Equal(t, 1, rep.Deleted, "only the file older than 1 hour")
	assert.True(t, e.del.Deleted("old"))
	assert.False(t, e.del.Deleted("new"))
	j, err := e.m.Journal(context.Background(), "old")
	require.NoError(t, err)
	var steps []retention.Step
	for _, x := range j {
		steps = append(steps, x.Step)
	}
	assert.Equal(t, []retention.Step{retention.StepClaimed, retention.StepDeleting, retention.StepDeleted}, steps, "each step journaled")

	ev := e.aud.Events("retention.item.deleted")
	require.Len(t, ev, 1, "each deletion is an audit event")
	assert.Equal(t, "s1", ev[0].Subject)
	assert.Equal(t, "workspace/old", ev[0].Resource)
	assert.Equal(t, "retention_policy", ev[0].Purpose)
	assert.Equal(t, audit.Success, ev[0].Outcome)
	for _, a := range ev[0].Attrs {
		assert.NotContains(t, a.Value(), "ws/s1", "the event names no location content")
	}
	rep = e.sweep(t)
	assert.Zero(t, rep.Deleted, "a second sweep has nothing to do")
	_, err = e.m.Track(context.Background(), freeFile("old"))
	require.ErrorIs(t, err, retention.ErrExists, "a deleted ID is not tracked again")
	upgraded := freeFile("new")
	upgraded.Plan = "paid"
	e.clk.Advance(time.Hour)
	got, err := e.m.Track(context.Background(), upgraded)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(90*time.Minute), got.DueAt, "re-tracking a due item as paid keeps it due")
	assert.Equal(t, 1, e.del.Calls("old"), "deleted once")
}

func TestSweepHangingDeleter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{DeleterTimeout: 50 * time.Millisecond, Lease: time.Minute})
	release := make(chan struct{})
	var finished atomic.Bool
	e.m.RegisterDeleter("stuck", retention.DeleterFunc(func(context.Context, retention.Item) error {
		<-release // ignores its context: the worst kind of hang
		finished.Store(true)
		return nil
	}))
	it := freeFile("f")
	it.System = "stuck"
	e.track(t, it)
	e.clk.Advance(2 * time.Hour)
	start := time.Now()
	rep := e.sweep(t)
	assert.Less(t, time.Since(start), 5*time.Second, "the sweep is not held up by a hung deleter")
	require.Equal(t, 1, rep.Failed)
	assert.Equal(t, "timeout", rep.Results[0].Error)
	got, err := e.m.Item(context.Background(), "f")
	require.NoError(t, err)
	assert.Equal(t, retention.StateFailed, got.State, "the item stays tracked")
	assert.Equal(t, "timeout", got.LastError)
	assert.True(t, got.NextAttemptAt.After(e.clk.Now()), "and is retried later")
	close(release)
	require.NoError(t, e.m.Close())
	assert.True(t, finished.Load(), "Close waits for the straggler")
	require.NoError(t, e.m.Close(), "Close is idempotent")
	_, err = e.m.Sweep(context.Background(), nil)
	require.ErrorIs(t, err, retention.ErrClosed)
}

func TestSweepRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{RetryBackoff: time.Minute, MaxBackoff: 3 * time.Minute})
	fails := 4
	e.del.Fail = func(retention.Item) error {
		if fails > 0 {
			fails--
			return errBoom
		}
		return nil
	}
	e.track(t, freeFile("f"))
	e.clk.Advance(time.Hour)
	ctx := context.Background()
	var waits []time.Duration
	for i := 0; i < 4; i++ {
		rep := e.sweep(t)
		require.Equal(t, 1, rep.Failed, "attempt %d fails", i+1)
		got, err := e.m.Item(ctx, "f")
		require.NoError(t, err)
		waits = append(waits, got.NextAttemptAt.Sub(e.clk.Now()))
		assert.Zero(t, e.sweep(t).Failed, "not retried before its next attempt time")
		e.clk.Set(got.NextAttemptAt)
	}
	assert.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute}, waits, "doubling backoff, capped")
	rep := e.sweep(t)
	assert.Equal(t, 1, rep.Deleted, "the fifth attempt succeeds")
	assert.Len(t, e.aud.Events("retention.item.deletion_failed"), 4, "each failure is audited")
	got, _ := e.m.Item(ctx, "f")
	assert.Equal(t, 5, got.Attempts)
}

func TestSweepPanickingDeleter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	e.del.Fail = func(retention.Item) error { panic("bug in the host") }
	e.track(t, freeFile("f"))
	e.clk.Advance(time.Hour)
	rep := e.sweep(t)
	assert.Equal(t, 1, rep.Failed, "a panicking deleter is a failure, not a crash")
}

func TestSweepDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	ctx := context.Background()
	e.track(t, freeFile("a"))
	held := freeFile("b")
	e.track(t, held)
	orphan := freeFile("c")
	orphan.System = "nowhere"
	e.track(t, orphan)
	_, err := e.m.PlaceHold(ctx, retention.Hold{Scope: retention.HoldItem, Target: "b", Reason: "litigation", PlacedBy: "employee:legal"})
	require.NoError(t, err)
	e.clk.Advance(time.Hour)
	rep, err := e.m.Sweep(ctx, &retention.SweepOptions{DryRun: true})
	require.NoError(t, err)
	assert.True(t, rep.DryRun)
	assert.Equal(t, 1, rep.WouldDelete)
	assert.Equal(t, 1, rep.Held)
	assert.Equal(t, 1, rep.Failed, "no deleter for the orphan's system")
	assert.Zero(t, e.del.Calls("a"), "a dry run deletes nothing")
	j, err := e.m.Journal(ctx, "a")
	require.NoError(t, err)
	assert.Empty(t, j, "a dry run journals nothing")

	rep, err = e.m.Sweep(ctx, &retention.SweepOptions{Limit: 1})
	require.NoError(t, err)
	assert.Len(t, rep.Results, 1, "Limit caps the items processed")
}

func TestSweepNoDeleterAndLint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{Vendors: []retention.Vendor{{Name: "meta", Agreement: retention.AgreementSigned}}})
	ctx := context.Background()
	e.m.RegisterExporter("workspace", retention.ExporterFunc(func(context.Context, string, *retention.ExportWriter) error { return nil }))
	e.track(t, freeFile("a"))
	err := e.m.Lint(ctx)
	var le *retention.LintError
	require.ErrorAs(t, err, &le)
	require.Len(t, le.Problems, 1, "the vendor has no erasure connector")
	assert.Equal(t, "no_deleter", le.Problems[0].Kind)
	assert.Equal(t, "meta", le.Problems[0].Vendor)

	it := freeFile("b")
	it.System, it.Vendor = "s3", "unlisted"
	e.track(t, it)
	require.ErrorAs(t, e.m.Lint(ctx), &le)
	kinds := map[string]bool{}
	for _, p := range le.Problems {
		kinds[p.Kind] = true
	}
	assert.Equal(t, map[string]bool{"no_deleter": true, "no_exporter": true, "unregistered_vendor": true}, kinds)
	assert.Contains(t, le.Error(), `category "uploaded_file" in system "s3" has no registered deleter`)

	e.clk.Advance(time.Hour)
	rep := e.sweep(t)
	assert.Equal(t, 1, rep.Deleted)
	assert.Equal(t, 1, rep.Failed, "an item without a deleter fails and stays tracked")
	got, err := e.m.Item(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, "no deleter", got.LastError)

	e.m.RegisterDeleter("s3", e.del)
	e.m.RegisterDeleter("meta", retention.ManualErasure(func(context.Context, retention.Item) (string, error) { return "T", nil }))
	e.m.RegisterExporter("s3", retention.ExporterFunc(func(context.Context, string, *retention.ExportWriter) error { return nil }))
	require.ErrorAs(t, e.m.Lint(ctx), &le)
	assert.Equal(t, "unregistered_vendor", le.Problems[0].Kind)
}

// crashStore fails chosen journal steps once, like a process dying between
// two journal writes.
type crashStore struct {
	retention.Store
	mu     sync.Mutex
	failOn map[retention.Step]int
}

var errCrash = errors.New("simulated crash")

func (s *crashStore) Record(ctx context.Context, e retention.JournalEntry) error {
	s.mu.Lock()
	if s.failOn[e.Step] > 0 {
		s.failOn[e.Step]--
		s.mu.Unlock()
		return errCrash
	}
	s.mu.Unlock()
	return s.Store.Record(ctx, e)
}

// TestSimulatedCrashBetweenSteps: a crash after the deleter ran but before
// "deleted" was journaled, and one before "deleting" was, are resumed by a
// later sweep (of another instance) once the lease lapses; every item ends
// deleted exactly once.
func TestSimulatedCrashBetweenSteps(t *testing.T) {
	t.Parallel()
	mem := retention.NewMemoryStore()
	cs := &crashStore{Store: mem, failOn: map[retention.Step]int{retention.StepDeleted: 1, retention.StepDeleting: 1}}
	e := newEnv(t, cs, &retention.Options{Lease: 10 * time.Minute, BatchSize: 1})
	for i := range 4 {
		e.track(t, freeFile(fmt.Sprintf("f%d", i)))
	}
	e.clk.Advance(time.Hour)
	_, err := e.m.Sweep(context.Background(), nil)
	require.ErrorIs(t, err, errCrash, "the first crash stops the sweep")
	_, err = e.m.Sweep(context.Background(), nil)
	require.ErrorIs(t, err, errCrash, "the second crash stops it again")

	// A second instance over the same store, before and after the lease.
	e2 := newEnv(t, mem, nil)
	e2.del = e.del
	e2.m.RegisterDeleter("workspace", e.del)
	e2.clk.Set(e.clk.Now().Add(time.Minute))
	rep := e2.sweep(t)
	assert.Less(t, rep.Deleted, 4, "claims of the crashed instance are respected while their lease lives")
	e2.clk.Set(e.clk.Now().Add(11 * time.Minute))
	e2.sweep(t)
	for i := range 4 {
		id := fmt.Sprintf("f%d", i)
		got, err := mem.GetItem(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, retention.StateDeleted, got.State, "%s deleted after resume", id)
		assert.True(t, e.del.Deleted(id))
		j, _ := mem.JournalOf(context.Background(), id)
		n := 0
		for _, x := range j {
			if x.Step == retention.StepDeleted {
				n++
			}
		}
		assert.Equal(t, 1, n, "%s journaled deleted exactly once", id)
	}
	// f0 crashed before "deleting" (its deleter never ran), f1 after its
	// deleter ran but before "deleted": only f1's deleter runs twice, and
	// idempotently.
	assert.Equal(t, 1, e.del.Calls("f0"), "a claim that crashed before deleting calls the deleter once")
	assert.Equal(t, 2, e.del.Calls("f1"), "the item whose deletion was not journaled is deleted again (idempotently)")
}

func TestHoldsBlockSweepUntilReleased(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	ctx := context.Background()
	e.track(t, freeFile("a"))
	other := freeFile("b")
	other.Subject = "s2"
	e.track(t, other)
	h, err := e.m.PlaceHold(ctx, retention.Hold{Scope: retention.HoldSubject, Target: "s1", Reason: "litigation 2025-17", PlacedBy: "employee:legal"})
	require.NoError(t, err)
	assert.NotEmpty(t, h.ID)
	assert.Equal(t, e.clk.Now(), h.PlacedAt)
	e.clk.Advance(48 * time.Hour)
	rep := e.sweep(t)
	assert.Equal(t, 1, rep.Deleted, "the other subject's item")
	assert.Equal(t, 1, rep.Held)
	assert.Empty(t, rep.Overdue, "held items do not raise the alarm")
	assert.False(t, e.del.Deleted("a"), "a held item is never deleted")

	_, err = e.m.ReleaseHold(ctx, h.ID, "", "")
	require.ErrorIs(t, err, retention.ErrInvalid, "a release needs who")
	rel, err := e.m.ReleaseHold(ctx, h.ID, "employee:legal", "settled")
	require.NoError(t, err)
	assert.Equal(t, e.clk.Now(), rel.ReleasedAt)
	_, err = e.m.ReleaseHold(ctx, h.ID, "employee:legal", "again")
	require.ErrorIs(t, err, retention.ErrHoldReleased)
	rep = e.sweep(t)
	assert.Equal(t, 1, rep.Deleted, "released: the overdue item goes at the next sweep")
	assert.Len(t, e.aud.Events("retention.hold.placed"), 1)
	assert.Len(t, e.aud.Events("retention.hold.released"), 1)
	all, err := e.m.Holds(ctx, false)
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "settled", all[0].ReleaseReason, "the release is on record")

	for _, bad := range []retention.Hold{
		{Scope: "planet", Target: "x", Reason: "r", PlacedBy: "p"},
		{Scope: retention.HoldItem, Reason: "r", PlacedBy: "p"},
		{Scope: retention.HoldItem, Target: "x", PlacedBy: "p"},
		{Scope: retention.HoldItem, Target: "x", Reason: "r"},
	} {
		_, err := e.m.PlaceHold(ctx, bad)
		assert.ErrorIs(t, err, retention.ErrInvalid, "%+v", bad)
	}
}

func TestTrackBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	ctx := context.Background()
	_, err := e.m.Track(ctx, retention.Item{ID: "x", Category: "mystery", System: "workspace"})
	require.ErrorIs(t, err, retention.ErrUnknownCategory, "every category needs a rule")
	_, err = e.m.Track(ctx, retention.Item{Category: retention.CategoryConversation, System: "chat"})
	require.ErrorIs(t, err, retention.ErrInvalid, "ID required")
	_, err = e.m.Track(ctx, retention.Item{ID: "x", Category: retention.CategoryConversation})
	require.ErrorIs(t, err, retention.ErrInvalid, "system required")
	bad := freeFile("x")
	bad.Labels = []retention.Rule{{Category: "other", Action: retention.ActionRetain, Anchor: retention.AnchorCreated}}
	_, err = e.m.Track(ctx, bad)
	require.ErrorIs(t, err, retention.ErrInvalidPolicy, "a label must be for the item's category")
	bad.Labels = []retention.Rule{{Category: bad.Category, Action: "keep", Anchor: retention.AnchorCreated}}
	_, err = e.m.Track(ctx, bad)
	require.ErrorIs(t, err, retention.ErrInvalidPolicy)
	_, err = e.m.Touch(ctx, "missing")
	require.ErrorIs(t, err, retention.ErrNotFound)
	_, err = e.m.SetPlan(ctx, "", "free")
	require.ErrorIs(t, err, retention.ErrInvalid)
	_, err = retention.New(nil, nil)
	require.ErrorIs(t, err, retention.ErrInvalid)
	_, err = retention.New(retention.NewMemoryStore(), &retention.Options{DeleterTimeout: time.Minute, Lease: time.Second})
	require.ErrorIs(t, err, retention.ErrInvalid, "a lease shorter than the deleter timeout would let two instances delete at once")
	_, err = retention.New(retention.NewMemoryStore(), &retention.Options{Vendors: []retention.Vendor{{Name: "a"}, {Name: "a"}}})
	require.ErrorIs(t, err, retention.ErrInvalid)
}

func TestTouchAndWorkspaceIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	ctx := context.Background()
	e.track(t, retention.Item{ID: "ws", Category: retention.CategoryWorkspace, Subject: "s", System: "workspace", Plan: "free"})
	e.clk.Advance(50 * time.Minute)
	got, err := e.m.Touch(ctx, "ws")
	require.NoError(t, err)
	assert.Equal(t, e.clk.Now().Add(time.Hour), got.DueAt, "activity moves the idle deadline")
	e.clk.Advance(50 * time.Minute)
	assert.Zero(t, e.sweep(t).Deleted, "still active")
	e.clk.Advance(10 * time.Minute)
	assert.Equal(t, 1, e.sweep(t).Deleted, "idle for an hour")
}

func TestReevaluateAfterPolicyChange(t *testing.T) {
	t.Parallel()
	store := retention.NewMemoryStore()
	e := newEnv(t, store, nil)
	ctx := context.Background()
	e.track(t, retention.Item{ID: "c", Category: retention.CategoryConversation, Subject: "s", System: "chat"})
	strict := retention.MustPolicy([]retention.Rule{{Category: retention.CategoryConversation, Action: retention.ActionDelete, Anchor: retention.AnchorCreated, TTL: 90 * day}})
	e2 := newEnv(t, store, &retention.Options{Policy: strict})
	e2.clk.Set(e.clk.Now())
	n, err := e2.m.Reevaluate(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	got, _ := e2.m.Item(ctx, "c")
	assert.Equal(t, t0.Add(90*day), got.DueAt, "the new policy's due time")
}

// TestHoldPlacedDuringSweep: a hold placed while a sweep runs takes effect
// from the sweep's next batch.
func TestHoldPlacedDuringSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{BatchSize: 1, SweepWorkers: 1})
	e.track(t, freeFile("a"))
	e.track(t, freeFile("b"))
	var once sync.Once
	e.m.RegisterDeleter("workspace", retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		once.Do(func() {
			_, err := e.m.PlaceHold(ctx, retention.Hold{Scope: retention.HoldItem, Target: "b", Reason: "litigation", PlacedBy: "employee:legal"})
			assert.NoError(t, err)
		})
		return e.del.Delete(ctx, it)
	}))
	e.clk.Advance(time.Hour)
	rep := e.sweep(t)
	assert.Equal(t, 1, rep.Deleted)
	assert.Equal(t, 1, rep.Held, "the hold placed while deleting a applies to b")
	assert.False(t, e.del.Deleted("b"))
}

func TestRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	e.track(t, freeFile("a"))
	e.clk.Advance(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.m.Run(ctx, 5*time.Millisecond) }()
	require.Eventually(t, func() bool { return e.del.Deleted("a") }, 5*time.Second, 5*time.Millisecond, "the first sweep runs at once")
	e.track(t, freeFile("b"))
	e.clk.Advance(time.Hour)
	require.Eventually(t, func() bool { return e.del.Deleted("b") }, 5*time.Second, 5*time.Millisecond, "and again every interval")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.ErrorIs(t, e.m.Run(context.Background(), 0), retention.ErrInvalid)
	require.NoError(t, e.m.Close())
	require.ErrorIs(t, e.m.Run(context.Background(), time.Millisecond), retention.ErrClosed)
}

// TestSweepRenewsLeaseLateInBatch: a batch's "deleting" steps are journaled
// together, so a call late in a long batch would outlast their lease; the
// sweeper renews the claim first (another "deleting" step), so that no
// other instance can take the item over while its deleter runs.
func TestSweepRenewsLeaseLateInBatch(t *testing.T) {
	t.Parallel()
	mem := retention.NewMemoryStore()
	e := newEnv(t, mem, &retention.Options{BatchSize: 3, SweepWorkers: 1, Lease: 2 * time.Minute, DeleterTimeout: time.Minute})
	for _, id := range []string{"a", "b", "c"} {
		e.track(t, freeFile(id))
	}
	e.clk.Advance(time.Hour)
	leases, starts := map[string]time.Time{}, map[string]time.Time{}
	e.m.RegisterDeleter("workspace", retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		got, err := mem.GetItem(ctx, it.ID)
		if err != nil {
			return err
		}
		leases[it.ID], starts[it.ID] = got.LeaseUntil, e.clk.Now()
		e.clk.Advance(50 * time.Second) // a slow deleter
		return e.del.Delete(ctx, it)
	}))
	rep := e.sweep(t)
	require.Equal(t, 3, rep.Deleted)
	tests := []struct {
		id       string
		deleting int
		why      string
	}{
		{"a", 1, "the batch's lease covers the first call"},
		{"b", 2, "50 s later the lease keeps less than timeout plus half the margin: renewed"},
		{"c", 2, "renewed again"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			j, err := mem.JournalOf(context.Background(), tc.id)
			require.NoError(t, err)
			n := 0
			for _, x := range j {
				if x.Step == retention.StepDeleting {
					n++
				}
			}
			assert.Equal(t, tc.deleting, n, tc.why)
			assert.Equal(t, retention.StepDeleted, j[len(j)-1].Step)
		})
	}
	for id, lease := range leases {
		assert.False(t, lease.Before(starts[id].Add(time.Minute)), "%s: the lease outlasts the call's timeout", id)
	}
	assert.Len(t, e.aud.Events("retention.item.deleted"), 3, "every deletion is an audit event")
}

// TestSweepManyWorkersAuditsEachDeletion: with many workers and batches,
// every item is deleted once, journaled deleted once and audited once.
func TestSweepManyWorkersAuditsEachDeletion(t *testing.T) {
	t.Parallel()
	mem := retention.NewMemoryStore()
	e := newEnv(t, mem, &retention.Options{BatchSize: 7, SweepWorkers: 8})
	const n = 50
	for i := range n {
		e.track(t, freeFile(fmt.Sprintf("f%02d", i)))
	}
	e.clk.Advance(time.Hour)
	rep := e.sweep(t)
	assert.Equal(t, n, rep.Deleted)
	for i, r := range rep.Results {
		assert.Equal(t, fmt.Sprintf("f%02d", i), r.ItemID, "results keep the claim order")
	}
	seen := map[string]int{}
	for _, ev := range e.aud.Events("retention.item.deleted") {
		seen[ev.Resource]++
	}
	assert.Len(t, seen, n)
	for res, c := range seen {
		assert.Equal(t, 1, c, "%s audited once", res)
	}
	for i := range n {
		assert.Equal(t, 1, e.del.Calls(fmt.Sprintf("f%02d", i)))
	}
}
