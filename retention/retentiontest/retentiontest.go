package retentiontest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/retention"
)

// T0 is the suite's reference time.
var T0 = time.Date(2025, 6, 1, 10, 0, 0, 123456789, time.UTC)

// Run runs the conformance suite; newStore returns a fresh, empty store
// for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) retention.Store) {
	t.Run("Items", func(t *testing.T) { testItems(t, newStore(t)) })
	t.Run("ListFilters", func(t *testing.T) { testListFilters(t, newStore(t)) })
	t.Run("Claim", func(t *testing.T) { testClaim(t, newStore(t)) })
	t.Run("Record", func(t *testing.T) { testRecord(t, newStore(t)) })
	t.Run("RecordBatch", func(t *testing.T) { testRecordBatch(t, newStore(t)) })
	t.Run("ClaimBatch", func(t *testing.T) { testClaimBatch(t, newStore(t)) })
	t.Run("LargeBatches", func(t *testing.T) { testLargeBatches(t, newStore(t)) })
	t.Run("DataMap", func(t *testing.T) { testDataMap(t, newStore(t)) })
	t.Run("Holds", func(t *testing.T) { testHolds(t, newStore(t)) })
	t.Run("Requests", func(t *testing.T) { testRequests(t, newStore(t)) })
	t.Run("Incidents", func(t *testing.T) { testIncidents(t, newStore(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) {
		s := newStore(t)
		testConcurrentClaims(t, s, s)
	})
	t.Run("TwoManagers", func(t *testing.T) {
		s := newStore(t)
		testTwoManagers(t, s, s)
	})
	t.Run("RequestAcrossInstances", func(t *testing.T) {
		s := newStore(t)
		testRequestAcrossInstances(t, s, s)
	})
	t.Run("ConcurrentErasure", func(t *testing.T) {
		s := newStore(t)
		testConcurrentErasure(t, s, s)
	})
}

// RunShared runs the tests that need two handles on one shared database
// (two service instances); open returns them, freshly emptied.
func RunShared(t *testing.T, open func(t *testing.T) (a, b retention.Store)) {
	t.Run("ConcurrentClaims", func(t *testing.T) {
		a, b := open(t)
		testConcurrentClaims(t, a, b)
	})
	t.Run("TwoManagers", func(t *testing.T) {
		a, b := open(t)
		testTwoManagers(t, a, b)
	})
	t.Run("RequestAcrossInstances", func(t *testing.T) {
		a, b := open(t)
		testRequestAcrossInstances(t, a, b)
	})
	t.Run("ConcurrentErasure", func(t *testing.T) {
		a, b := open(t)
		testConcurrentErasure(t, a, b)
	})
}

func item(id string) retention.Item {
	return retention.Item{ID: id, Category: "uploaded_file", Subject: "subj-" + id[:1], System: "workspace",
		Location: "ws/" + id, Purpose: "analysis", LegalBasis: "contract", Plan: "free", Region: "eu",
		CreatedAt: T0, DueAt: T0.Add(time.Hour)}
}

func put(t *testing.T, s retention.Store, items ...retention.Item) {
	t.Helper()
	for _, it := range items {
		require.NoError(t, s.PutItem(context.Background(), it))
	}
}

func ids(items []retention.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func testItems(t *testing.T, s retention.Store) {
	ctx := context.Background()
	_, err := s.GetItem(ctx, "nope")
	require.ErrorIs(t, err, retention.ErrNotFound, "missing item")

	it := item("a1")
	it.LastActivityAt = T0.Add(time.Minute)
	it.SentAt = T0.Add(2 * time.Minute)
	it.Vendor, it.Parent = "openai", "conv-1"
	it.Labels = []retention.Rule{{Category: "uploaded_file", Action: retention.ActionRetain, Anchor: retention.AnchorCreated, TTL: 720 * time.Hour, Reason: "fraud"}}
	put(t, s, it)
	got, err := s.GetItem(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, retention.StateActive, got.State, "a new item is active")
	assert.True(t, got.CreatedAt.Equal(T0), "times round-trip to the nanosecond")
	assert.True(t, got.LastActivityAt.Equal(it.LastActivityAt))
	assert.True(t, got.SentAt.Equal(it.SentAt))
	assert.True(t, got.DueAt.Equal(it.DueAt))
	assert.True(t, got.UserDeletedAt.IsZero(), "zero times stay zero")
	assert.Equal(t, it.Labels, got.Labels, "labels round-trip")
	for _, f := range [][2]string{{got.Subject, it.Subject}, {got.Location, it.Location}, {got.Purpose, it.Purpose},
		{got.LegalBasis, it.LegalBasis}, {got.Vendor, it.Vendor}, {got.Plan, it.Plan}, {got.Region, it.Region}, {got.Parent, it.Parent}} {
		assert.Equal(t, f[1], f[0])
	}

	// Claim it, then Put again: the journal state survives a re-track.
	c, err := s.Claim(ctx, retention.ClaimRequest{Owner: "o", Now: T0.Add(2 * time.Hour), LeaseUntil: T0.Add(3 * time.Hour), DueBy: T0.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, c, 1)
	it.Plan = "paid"
	put(t, s, it)
	got, err = s.GetItem(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, "paid", got.Plan, "descriptive fields are replaced")
	assert.Equal(t, retention.StateClaimed, got.State, "PutItem keeps the journal state")
	assert.Equal(t, 1, got.Attempts)

	up, err := s.UpdateItem(ctx, "a1", func(x *retention.Item) error {
		x.Region = "us"
		x.DueAt = T0.Add(5 * time.Hour)
		x.State = retention.StateDeleted // managed: must be ignored
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "us", up.Region)
	assert.True(t, up.DueAt.Equal(T0.Add(5*time.Hour)))
	assert.Equal(t, retention.StateClaimed, up.State, "UpdateItem does not change managed fields")
	_, err = s.UpdateItem(ctx, "nope", func(*retention.Item) error { return nil })
	require.ErrorIs(t, err, retention.ErrNotFound)
	boom := fmt.Errorf("boom")
	_, err = s.UpdateItem(ctx, "a1", func(x *retention.Item) error { x.Region = "xx"; return boom })
	require.ErrorIs(t, err, boom, "fn's error aborts")
	got, _ = s.GetItem(ctx, "a1")
	assert.Equal(t, "us", got.Region, "an aborted update changes nothing")
}

func testListFilters(t *testing.T, s retention.Store) {
	ctx := context.Background()
	a, b, c, d := item("a1"), item("a2"), item("b1"), item("b2")
	b.Category, c.Parent, d.DueAt = "conversation", "a1", time.Time{}
	c.System = "chat"
	put(t, s, d, c, b, a)
	list := func(f retention.ItemFilter) []string {
		t.Helper()
		got, err := s.ListItems(ctx, f)
		require.NoError(t, err)
		return ids(got)
	}
	assert.Equal(t, []string{"a1", "a2", "b1", "b2"}, list(retention.ItemFilter{}), "ordered by ID")
	assert.Equal(t, []string{"a1", "a2"}, list(retention.ItemFilter{Subject: "subj-a"}))
	assert.Equal(t, []string{"a2"}, list(retention.ItemFilter{Category: "conversation"}))
	assert.Equal(t, []string{"b1"}, list(retention.ItemFilter{System: "chat"}))
	assert.Equal(t, []string{"b1"}, list(retention.ItemFilter{Parent: "a1"}))
	assert.Equal(t, []string{"a1", "a2", "b1"}, list(retention.ItemFilter{DueBy: T0.Add(time.Hour)}), "due at the boundary counts; never-due excluded")
	assert.Empty(t, list(retention.ItemFilter{DueBy: T0.Add(time.Hour - 1)}))
	assert.Equal(t, []string{"b1", "b2"}, list(retention.ItemFilter{After: "a2"}))
	assert.Equal(t, []string{"a1", "a2"}, list(retention.ItemFilter{Limit: 2}))
	assert.Equal(t, []string{"a1", "a2", "b1", "b2"}, list(retention.ItemFilter{States: []retention.ItemState{retention.StateActive}}))
	assert.Empty(t, list(retention.ItemFilter{States: []retention.ItemState{retention.StateDeleted}}))

	// Delete a1 at T0+2h and check the deletion-time filters.
	cl, err := s.Claim(ctx, retention.ClaimRequest{Owner: "o", Now: T0.Add(2 * time.Hour), LeaseUntil: T0.Add(3 * time.Hour), IDs: []string{"a1"}})
	require.NoError(t, err)
	require.Len(t, cl, 1)
	require.NoError(t, s.Record(ctx, retention.JournalEntry{ItemID: "a1", Attempt: 1, Owner: "o", Step: retention.StepDeleted, At: T0.Add(2 * time.Hour)}))
	assert.Equal(t, []string{"a1"}, list(retention.ItemFilter{States: []retention.ItemState{retention.StateDeleted}}))
	assert.Equal(t, []string{"a1"}, list(retention.ItemFilter{DeletedFrom: T0.Add(2 * time.Hour), DeletedTo: T0.Add(2*time.Hour + 1)}), "[from, to)")
	assert.Empty(t, list(retention.ItemFilter{DeletedTo: T0.Add(2 * time.Hour)}), "to is exclusive")
	assert.Empty(t, list(retention.ItemFilter{DeletedFrom: T0.Add(2*time.Hour + 1)}))
}

func testClaim(t *testing.T, s retention.Store) {
	ctx := context.Background()
	now := T0.Add(2 * time.Hour)
	notDue := item("c9")
	notDue.DueAt = T0.Add(24 * time.Hour)
	never := item("c8")
	never.DueAt = time.Time{}
	put(t, s, item("c1"), item("c2"), item("c3"), notDue, never)
	req := retention.ClaimRequest{Owner: "A", Now: now, LeaseUntil: now.Add(time.Minute), DueBy: now, Limit: 2}

	_, err := s.Claim(ctx, retention.ClaimRequest{Now: now, DueBy: now})
	require.Error(t, err, "a claim needs an owner")

	got, err := s.Claim(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"c1", "c2"}, ids(got), "the first due items by ID, up to Limit")
	for _, it := range got {
		assert.Equal(t, retention.StateClaimed, it.State)
		assert.Equal(t, "A", it.Owner)
		assert.Equal(t, 1, it.Attempts, "a claim counts an attempt")
		assert.True(t, it.LeaseUntil.Equal(now.Add(time.Minute)))
	}
	req.Owner = "B"
	got, err = s.Claim(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"c3"}, ids(got), "live claims are skipped; not-due and never-due items are not claimed")

	req.After = "c1"
	req.Now, req.DueBy, req.LeaseUntil = now.Add(time.Minute), now.Add(time.Minute), now.Add(2*time.Minute)
	got, err = s.Claim(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"c2", "c3"}, ids(got), "lapsed leases are claimable again (crash recovery), After pages")
	assert.Equal(t, 2, got[0].Attempts)

	// IDs claims regardless of due time, but never a live lease.
	got, err = s.Claim(ctx, retention.ClaimRequest{Owner: "C", Now: req.Now, LeaseUntil: req.Now.Add(time.Minute), IDs: []string{"c9", "c2", "missing", "c8"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"c8", "c9"}, ids(got), "IDs claims due or not, skips live leases and unknown IDs")

	// NextAttemptAt holds back a failed item unless forced.
	later := req.Now.Add(time.Hour)
	require.NoError(t, s.Record(ctx, retention.JournalEntry{ItemID: "c9", Attempt: 1, Owner: "C", Step: retention.StepFailed, At: req.Now, Error: "timeout", NextAttemptAt: later}))
	got, err = s.Claim(ctx, retention.ClaimRequest{Owner: "D", Now: req.Now, LeaseUntil: later, IDs: []string{"c9"}})
	require.NoError(t, err)
	assert.Empty(t, got, "a failed item waits for its next attempt time")
	got, err = s.Claim(ctx, retention.ClaimRequest{Owner: "D", Now: req.Now, LeaseUntil: later, IDs: []string{"c9"}, Force: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"c9"}, ids(got), "Force ignores the next attempt time")
	require.NoError(t, s.Record(ctx, retention.JournalEntry{ItemID: "c9", Attempt: 2, Owner: "D", Step: retention.StepDeleted, At: req.Now}))
	got, err = s.Claim(ctx, retention.ClaimRequest{Owner: "E", Now: later.Add(time.Hour), LeaseUntil: later.Add(2 * time.Hour), IDs: []string{"c9"}, Force: true})
	require.NoError(t, err)
	assert.Empty(t, got, "a deleted item is never claimed")
	got, err = s.Claim(ctx, retention.ClaimRequest{Owner: "E", Now: now, IDs: []string{}})
	require.NoError(t, err)
	assert.Empty(t, got, "an empty ID list claims nothing")
}

func testRecord(t *testing.T, s retention.Store) {
	ctx := context.Background()
	now := T0.Add(2 * time.Hour)
	put(t, s, item("r1"))
	require.ErrorIs(t, s.Record(ctx, retention.JournalEntry{ItemID: "nope", Owner: "A", Attempt: 1, Step: retention.StepDeleted}), retention.ErrNotFound)
	require.ErrorIs(t, s.Record(ctx, retention.JournalEntry{ItemID: "r1", Owner: "A", Attempt: 0, Step: retention.StepDeleting, At: now}),
		retention.ErrConflict, "an unclaimed item takes no step")
	_, err := s.Claim(ctx, retention.ClaimRequest{Owner: "A", Now: now, LeaseUntil: now.Add(time.Minute), DueBy: now})
	require.NoError(t, err)
	require.ErrorIs(t, s.Record(ctx, retention.JournalEntry{ItemID: "r1", Owner: "B", Attempt: 1, Step: retention.StepDeleted, At: now}),
		retention.ErrConflict, "another owner's claim")
	require.ErrorIs(t, s.Record(ctx, retention.JournalEntry{ItemID: "r1", Owner: "A", Attempt: 2, Step: retention.StepDeleted, At: now}),
		retention.ErrConflict, "a stale attempt")
	renewed := now.Add(10 * time.Minute)
	require.NoError(t, s.Record(ctx, retention.JournalEntry{ItemID: "r1", Owner: "A", Attempt: 1, Step: retention.StepDeleting, At: now, Method: retention.MethodAPI, LeaseUntil: renewed}))
	got, _ := s.GetItem(ctx, "r1")
	assert.Equal(t, retention.StateDeleting, got.State)
	assert.True(t, got.LeaseUntil.Equal(renewed), "a deleting step renews the lease")
	c, err := s.Claim(ctx, retention.ClaimRequest{Owner: "B", Now: now.Add(5 * time.Minute), LeaseUntil: renewed, DueBy: renewed})
	require.NoError(t, err)
	assert.Empty(t, c, "the renewed lease holds off other instances")
	next := now.Add(time.Hour)
	require.NoError(t, s.Record(ctx, retention.JournalEntry{ItemID: "r1", Owner: "A", Attempt: 1, Step: retention.StepPending, At: now, Method: retention.MethodManual, Task: "T-1", NextAttemptAt: next}))
	got, _ = s.GetItem(ctx, "r1")
	assert.Equal(t, retention.StatePending, got.State)
	assert.Equal(t, "T-1", got.Task)
	assert.Equal(t, retention.MethodManual, got.Method)
	assert.True(t, got.NextAttemptAt.Equal(next))
	assert.Empty(t, got.Owner, "a pending item has no owner")
	require.ErrorIs(t, s.Record(ctx, retention.JournalEntry{ItemID: "r1", Owner: "A", Attempt: 1, Step: retention.StepDeleted, At: now}),
		retention.ErrConflict, "a finished claim takes no further step")

	_, err = s.Claim(ctx, retention.ClaimRequest{Owner: "A", Now: next, LeaseUntil: next.Add(time.Minute), DueBy: next})
	require.NoError(t, err)
	require.NoError(t, s.Record(ctx, retention.JournalEntry{ItemID: "r1", Owner: "A", Attempt: 2, Step: retention.StepDeleted, At: next, Method: retention.MethodManual, Task: "T-1"}))
	got, _ = s.GetItem(ctx, "r1")
	assert.Equal(t, retention.StateDeleted, got.State)
	assert.True(t, got.DeletedAt.Equal(next))
	assert.Empty(t, got.Owner)

	j, err := s.JournalOf(ctx, "r1")
	require.NoError(t, err)
	var steps []retention.Step
	for _, e := range j {
		steps = append(steps, e.Step)
	}
	assert.Equal(t, []retention.Step{retention.StepClaimed, retention.StepDeleting, retention.StepPending, retention.StepClaimed, retention.StepDeleted}, steps, "every step journaled in order")
	assert.Equal(t, "T-1", j[2].Task)
	assert.True(t, j[2].NextAttemptAt.Equal(next))
	assert.Equal(t, 2, j[4].Attempt)
	j, err = s.JournalOf(ctx, "nope")
	require.NoError(t, err)
	assert.Empty(t, j)
}

func testDataMap(t *testing.T, s retention.Store) {
	ctx := context.Background()
	a, b, c := item("d1"), item("d2"), item("d3")
	c.Vendor, c.System = "openai", "openai"
	put(t, s, a, b, c)
	rows, err := s.DataMap(ctx)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, retention.DataMapRow{Category: "uploaded_file", System: "openai", Purpose: "analysis", LegalBasis: "contract", Vendor: "openai", Count: 1}, rows[0])
	assert.Equal(t, int64(2), rows[1].Count)
	now := T0.Add(2 * time.Hour)
	_, err = s.Claim(ctx, retention.ClaimRequest{Owner: "A", Now: now, LeaseUntil: now.Add(time.Minute), IDs: []string{"d3"}})
	require.NoError(t, err)
	require.NoError(t, s.Record(ctx, retention.JournalEntry{ItemID: "d3", Owner: "A", Attempt: 1, Step: retention.StepDeleted, At: now}))
	rows, err = s.DataMap(ctx)
	require.NoError(t, err)
	assert.Len(t, rows, 1, "deleted items leave the data map")
}

func testHolds(t *testing.T, s retention.Store) {
	ctx := context.Background()
	h1 := retention.Hold{ID: "h1", Scope: retention.HoldSubject, Target: "subj-a", Reason: "litigation", PlacedBy: "employee:e1", PlacedAt: T0.Add(time.Minute)}
	h2 := retention.Hold{ID: "h2", Scope: retention.HoldCategory, Target: "conversation", Reason: "audit", PlacedBy: "employee:e2", PlacedAt: T0}
	require.NoError(t, s.AddHold(ctx, h1))
	require.NoError(t, s.AddHold(ctx, h2))
	require.ErrorIs(t, s.AddHold(ctx, h1), retention.ErrExists)
	hs, err := s.ListHolds(ctx, true)
	require.NoError(t, err)
	require.Len(t, hs, 2)
	assert.Equal(t, "h2", hs[0].ID, "ordered by placement time")
	assert.Equal(t, h1.Reason, hs[1].Reason)
	assert.True(t, hs[1].PlacedAt.Equal(h1.PlacedAt))
	rel, err := s.ReleaseHold(ctx, "h1", "employee:e3", "settled", T0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, "employee:e3", rel.ReleasedBy)
	assert.True(t, rel.ReleasedAt.Equal(T0.Add(time.Hour)))
	assert.Equal(t, "settled", rel.ReleaseReason)
	_, err = s.ReleaseHold(ctx, "h1", "x", "", T0)
	require.ErrorIs(t, err, retention.ErrHoldReleased, "release is recorded once")
	_, err = s.ReleaseHold(ctx, "nope", "x", "", T0)
	require.ErrorIs(t, err, retention.ErrNotFound)
	hs, err = s.ListHolds(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"h2"}, []string{hs[0].ID})
	assert.Len(t, hs, 1, "released holds are not active")
	hs, err = s.ListHolds(ctx, false)
	require.NoError(t, err)
	assert.Len(t, hs, 2, "released holds stay on record")
}

func testRequests(t *testing.T, s retention.Store) {
	ctx := context.Background()
	r := retention.Request{ID: "q1", Type: retention.RequestErasure, Subject: "subj", Law: retention.LawGDPR, Status: retention.StatusReceived,
		ReceivedAt: T0, DueAt: T0.AddDate(0, 1, 0)}
	require.NoError(t, s.CreateRequest(ctx, r))
	require.ErrorIs(t, s.CreateRequest(ctx, r), retention.ErrExists)
	_, err := s.GetRequest(ctx, "nope")
	require.ErrorIs(t, err, retention.ErrNotFound)
	got, err := s.GetRequest(ctx, "q1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version, "created at version 1")
	assert.True(t, got.ReceivedAt.Equal(T0))
	got.Status = retention.StatusInProgress
	got.Results = []retention.ErasureResult{{ItemID: "i1", System: "openai", Status: retention.ResultPending, Task: "T", At: T0}}
	require.NoError(t, s.UpdateRequest(ctx, got))
	require.ErrorIs(t, s.UpdateRequest(ctx, got), retention.ErrConflict, "a stale version loses")
	require.ErrorIs(t, s.UpdateRequest(ctx, retention.Request{ID: "nope", Version: 1}), retention.ErrNotFound)
	again, err := s.GetRequest(ctx, "q1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), again.Version)
	assert.Equal(t, retention.StatusInProgress, again.Status)
	require.Len(t, again.Results, 1)
	assert.Equal(t, "T", again.Results[0].Task)

	r2 := r
	r2.ID, r2.ReceivedAt = "q2", T0.Add(time.Hour)
	require.NoError(t, s.CreateRequest(ctx, r2))
	all, err := s.ListRequests(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "q1", all[0].ID, "ordered by receipt")
	some, err := s.ListRequests(ctx, T0.Add(time.Minute), T0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Len(t, some, 1)
	assert.Equal(t, "q2", some[0].ID)
	some, err = s.ListRequests(ctx, T0, T0.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, some, 1, "[from, to)")
	assert.Equal(t, "q1", some[0].ID)
}

func testIncidents(t *testing.T, s retention.Store) {
	ctx := context.Background()
	in := retention.Incident{ID: "i1", Summary: "misdirected export", Categories: []string{"uploaded_file"}, SubjectsAffected: 3,
		DetectedAt: T0, ReportedAt: T0.Add(24 * time.Hour), RecordedBy: "employee:dpo"}
	require.NoError(t, s.AddIncident(ctx, in))
	require.ErrorIs(t, s.AddIncident(ctx, in), retention.ErrExists)
	in2 := in
	in2.ID, in2.DetectedAt = "i2", T0.Add(48*time.Hour)
	require.NoError(t, s.AddIncident(ctx, in2))
	got, err := s.ListIncidents(ctx, T0, T0.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, in.Summary, got[0].Summary)
	assert.Equal(t, in.Categories, got[0].Categories)
	assert.True(t, got[0].ReportedAt.Equal(in.ReportedAt))
	got, err = s.ListIncidents(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Len(t, got, 2)
}

func testConcurrentClaims(t *testing.T, a, b retention.Store) {
	ctx := context.Background()
	const n = 24
	for i := range n {
		put(t, a, item(fmt.Sprintf("x%03d", i)))
	}
	now := T0.Add(2 * time.Hour)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.Claim(ctx, retention.ClaimRequest{Owner: fmt.Sprintf("w%d", w), Now: now, LeaseUntil: now.Add(time.Hour), DueBy: now, Limit: 3})
				if !assert.NoError(t, err) || len(got) == 0 {
					return
				}
				mu.Lock()
				for _, it := range got {
					seen[it.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, n, "every due item is claimed")
	for id, c := range seen {
		assert.Equal(t, 1, c, "item %s claimed once", id)
	}
}
