package retentiontest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/retention"
)

// testTwoManagers sweeps one inventory with two Managers at once and
// checks that every due item is deleted exactly once.
func testTwoManagers(t *testing.T, a, b retention.Store) {
	ctx := context.Background()
	const n = 16
	now := T0.Add(2 * time.Hour)
	del := NewDeleter()
	del.Fail = func(retention.Item) error {
		time.Sleep(time.Millisecond) // widen the race window
		return nil
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var ms []*retention.Manager
	for i, s := range []retention.Store{a, b} {
		m, err := retention.New(s, &retention.Options{Now: func() time.Time { return now }, Instance: fmt.Sprintf("m%d", i), BatchSize: 4, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() })
		m.RegisterDeleter("workspace", del)
		ms = append(ms, m)
	}
	for i := range n {
		_, err := ms[0].Track(ctx, retention.Item{ID: fmt.Sprintf("y%03d", i), Category: "uploaded_file", Subject: "s", System: "workspace", Plan: "free", CreatedAt: T0})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	reps := make([]*retention.SweepReport, 2)
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := m.Sweep(ctx, nil)
			assert.NoError(t, err)
			reps[i] = rep
		}()
	}
	wg.Wait()
	require.NotNil(t, reps[0])
	require.NotNil(t, reps[1])
	assert.Equal(t, n, reps[0].Deleted+reps[1].Deleted, "the two sweeps together delete every due item")
	keys := del.DeletedIDs()
	require.Len(t, keys, n)
	for _, k := range keys {
		assert.Equal(t, 1, del.Calls(k), "item %s deleted once", k)
	}
	left, err := a.ListItems(ctx, retention.ItemFilter{States: []retention.ItemState{retention.StateActive, retention.StateClaimed, retention.StateDeleting}})
	require.NoError(t, err)
	assert.Empty(t, left, "nothing left behind")
}

// testRequestAcrossInstances starts an erasure on one instance, whose vendor
// connector fails, and completes it on another: the state is in the store.
func testRequestAcrossInstances(t *testing.T, a, b retention.Store) {
	ctx := context.Background()
	now := T0.Add(time.Minute)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newM := func(s retention.Store, name string, vendorErr error) *retention.Manager {
		m, err := retention.New(s, &retention.Options{Now: func() time.Time { return now }, Instance: name, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() })
		m.RegisterDeleter("workspace", retention.DeleterFunc(func(context.Context, retention.Item) error { return nil }))
		m.RegisterDeleter("posthog", retention.APIErasure(func(context.Context, retention.Item) error { return vendorErr }))
		return m
	}
	ma := newM(a, "a", fmt.Errorf("vendor down"))
	mb := newM(b, "b", nil)
	_, err := ma.Track(ctx, retention.Item{ID: "f", Category: "uploaded_file", Subject: "s", System: "workspace", Plan: "paid", CreatedAt: T0})
	require.NoError(t, err)
	_, err = ma.Track(ctx, retention.Item{ID: "p", Category: "request_log", Subject: "s", System: "posthog", Vendor: "posthog", CreatedAt: T0})
	require.NoError(t, err)
	req, err := ma.SubmitRequest(ctx, retention.Request{Type: retention.RequestErasure, Subject: "s", Law: retention.LawCCPA})
	require.NoError(t, err)
	res, err := ma.ProcessRequest(ctx, req.ID)
	require.ErrorIs(t, err, retention.ErrIncomplete)
	assert.Equal(t, retention.StatusInProgress, res.Request.Status, "a failed vendor erasure is not done")
	assert.Equal(t, 1, res.Receipt.Failed)
	res, err = mb.ProcessRequest(ctx, req.ID)
	require.NoError(t, err)
	assert.Equal(t, retention.StatusCompleted, res.Request.Status, "completed by the other instance")
	assert.Equal(t, 2, res.Receipt.Deleted)
	got, err := mb.Request(ctx, req.ID)
	require.NoError(t, err)
	assert.Equal(t, retention.StatusCompleted, got.Status)
	assert.Len(t, got.Results, 2, "the receipt lines are stored")
}

func testRecordBatch(t *testing.T, s retention.Store) {
	br, ok := s.(retention.BatchRecorder)
	if !ok {
		t.Skip("the store does not implement retention.BatchRecorder")
	}
	ctx := context.Background()
	now := T0.Add(2 * time.Hour)
	put(t, s, item("b1"), item("b2"))
	_, err := s.Claim(ctx, retention.ClaimRequest{Owner: "A", Now: now, LeaseUntil: now.Add(time.Minute), DueBy: now})
	require.NoError(t, err)
	errs, err := br.RecordBatch(ctx, []retention.JournalEntry{
		{ItemID: "b1", Owner: "A", Attempt: 1, Step: retention.StepDeleting, At: now},
		{ItemID: "b2", Owner: "B", Attempt: 1, Step: retention.StepDeleting, At: now},
		{ItemID: "nope", Owner: "A", Attempt: 1, Step: retention.StepDeleting, At: now},
		{ItemID: "b1", Owner: "A", Attempt: 1, Step: retention.StepDeleted, At: now},
	})
	require.NoError(t, err)
	require.Len(t, errs, 4, "one result per entry")
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], retention.ErrConflict, "another owner's entry fails alone")
	assert.ErrorIs(t, errs[2], retention.ErrNotFound)
	assert.NoError(t, errs[3], "entries apply in order: deleting then deleted")
	got, _ := s.GetItem(ctx, "b1")
	assert.Equal(t, retention.StateDeleted, got.State)
	got, _ = s.GetItem(ctx, "b2")
	assert.Equal(t, retention.StateClaimed, got.State, "a failed entry changes nothing")
	j, err := s.JournalOf(ctx, "b2")
	require.NoError(t, err)
	assert.Len(t, j, 1, "only the claim is journaled for b2")
}

// testConcurrentErasure processes one erasure request on two instances at
// once: every item is deleted exactly once and the receipt ends complete.
func testConcurrentErasure(t *testing.T, a, b retention.Store) {
	ctx := context.Background()
	now := T0.Add(time.Minute)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	del := NewDeleter()
	var ms []*retention.Manager
	for i, s := range []retention.Store{a, b} {
		m, err := retention.New(s, &retention.Options{Now: func() time.Time { return now }, Instance: fmt.Sprintf("m%d", i), Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() })
		m.RegisterDeleter("chat", del)
		ms = append(ms, m)
	}
	const n = 12
	for i := range n {
		_, err := ms[0].Track(ctx, retention.Item{ID: fmt.Sprintf("c%02d", i), Category: "conversation", Subject: "s", System: "chat", CreatedAt: T0})
		require.NoError(t, err)
	}
	req, err := ms[0].SubmitRequest(ctx, retention.Request{Type: retention.RequestErasure, Subject: "s", Law: retention.LawGDPR})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.ProcessRequest(ctx, req.ID)
			if err != nil && !errors.Is(err, retention.ErrIncomplete) && !errors.Is(err, retention.ErrRequestState) {
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	got, err := ms[1].Request(ctx, req.ID)
	require.NoError(t, err)
	for i := 0; i < 3 && !got.Status.Final(); i++ {
		res, err := ms[i%2].ProcessRequest(ctx, req.ID)
		if err != nil && !errors.Is(err, retention.ErrIncomplete) {
			require.NoError(t, err)
		}
		got = res.Request
	}
	assert.Equal(t, retention.StatusCompleted, got.Status)
	require.Len(t, got.Results, n)
	for _, l := range got.Results {
		assert.Contains(t, []retention.ResultStatus{retention.ResultDeleted, retention.ResultAlreadyDeleted}, l.Status, l.ItemID)
	}
	for i := range n {
		id := fmt.Sprintf("c%02d", i)
		assert.Equal(t, 1, del.Calls(id), "%s deleted once", id)
	}
}

func testClaimBatch(t *testing.T, s retention.Store) {
	bc, ok := s.(retention.BatchClaimer)
	if !ok {
		t.Skip("the store does not implement retention.BatchClaimer")
	}
	ctx := context.Background()
	now := T0.Add(2 * time.Hour)
	put(t, s, item("k4"), item("k2"), item("k1"), item("k3"))
	var seen []string
	got, errs, err := bc.ClaimBatch(ctx, retention.ClaimRequest{Owner: "A", Now: now, LeaseUntil: now.Add(time.Minute), DueBy: now, Limit: 3},
		func(it retention.Item) retention.JournalEntry {
			seen = append(seen, it.ID)
			e := retention.JournalEntry{ItemID: it.ID, Owner: it.Owner, Attempt: it.Attempts, At: now}
			switch it.ID {
			case "k1":
				e.Step, e.Method, e.LeaseUntil = retention.StepDeleting, retention.MethodAPI, now.Add(2*time.Minute)
			case "k2":
				e.Step, e.NextAttemptAt = retention.StepReleased, now.Add(time.Hour)
			default:
				e.Step = "bogus"
			}
			return e
		})
	require.NoError(t, err)
	assert.Equal(t, []string{"k1", "k2", "k3"}, ids(got), "claimed in ID order, up to the limit")
	assert.Equal(t, []string{"k1", "k2", "k3"}, seen, "first is called once per claimed item, in ID order")
	require.Len(t, errs, 3, "one result per claimed item")
	assert.NoError(t, errs[0])
	assert.NoError(t, errs[1])
	assert.ErrorIs(t, errs[2], retention.ErrInvalid, "a bad first step fails alone")
	for _, it := range got {
		assert.Equal(t, retention.StateClaimed, it.State, "items are returned as claimed")
		assert.Equal(t, 1, it.Attempts)
	}
	tests := []struct {
		id    string
		state retention.ItemState
		steps []retention.Step
	}{
		{"k1", retention.StateDeleting, []retention.Step{retention.StepClaimed, retention.StepDeleting}},
		{"k2", retention.StateActive, []retention.Step{retention.StepClaimed, retention.StepReleased}},
		{"k3", retention.StateClaimed, []retention.Step{retention.StepClaimed}},
		{"k4", retention.StateActive, nil},
	}
	for _, tc := range tests {
		it, err := s.GetItem(ctx, tc.id)
		require.NoError(t, err)
		assert.Equal(t, tc.state, it.State, tc.id)
		j, err := s.JournalOf(ctx, tc.id)
		require.NoError(t, err)
		var steps []retention.Step
		for _, e := range j {
			steps = append(steps, e.Step)
		}
		assert.Equal(t, tc.steps, steps, tc.id)
	}
	k1, _ := s.GetItem(ctx, "k1")
	assert.True(t, k1.LeaseUntil.Equal(now.Add(2*time.Minute)), "the first step renews the lease")
	assert.Equal(t, retention.MethodAPI, k1.Method)
	again, _, err := bc.ClaimBatch(ctx, retention.ClaimRequest{Owner: "B", Now: now, LeaseUntil: now.Add(time.Minute), DueBy: now},
		func(it retention.Item) retention.JournalEntry {
			return retention.JournalEntry{ItemID: it.ID, Owner: it.Owner, Attempt: it.Attempts, Step: retention.StepDeleting, At: now}
		})
	require.NoError(t, err)
	assert.Equal(t, []string{"k4"}, ids(again), "live claims are not claimed again; released k2 waits for its next attempt")
}

// testLargeBatches claims and records batches larger than any statement
// chunk of a SQL store: every item and journal entry is written, in order.
func testLargeBatches(t *testing.T, s retention.Store) {
	ctx := context.Background()
	now := T0.Add(2 * time.Hour)
	const n = 203
	for i := range n {
		put(t, s, item(fmt.Sprintf("L%03d", i)))
	}
	got, err := s.Claim(ctx, retention.ClaimRequest{Owner: "A", Now: now, LeaseUntil: now.Add(time.Minute), DueBy: now, Limit: n})
	require.NoError(t, err)
	require.Len(t, got, n)
	br, ok := s.(retention.BatchRecorder)
	if !ok {
		t.Skip("the store does not implement retention.BatchRecorder")
	}
	var entries []retention.JournalEntry
	for _, it := range got {
		entries = append(entries,
			retention.JournalEntry{ItemID: it.ID, Owner: "A", Attempt: 1, Step: retention.StepDeleting, At: now},
			retention.JournalEntry{ItemID: it.ID, Owner: "A", Attempt: 1, Step: retention.StepDeleted, At: now, Task: "t-" + it.ID})
	}
	errs, err := br.RecordBatch(ctx, entries)
	require.NoError(t, err)
	for i, e := range errs {
		require.NoError(t, e, "entry %d", i)
	}
	for i := range n {
		id := fmt.Sprintf("L%03d", i)
		it, err := s.GetItem(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, retention.StateDeleted, it.State, id)
		assert.Equal(t, "t-"+id, it.Task, id)
		j, err := s.JournalOf(ctx, id)
		require.NoError(t, err)
		require.Len(t, j, 3, id)
		assert.Equal(t, []retention.Step{retention.StepClaimed, retention.StepDeleting, retention.StepDeleted}, []retention.Step{j[0].Step, j[1].Step, j[2].Step}, id)
	}
}
