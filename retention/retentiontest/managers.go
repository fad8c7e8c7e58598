package retentiontest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
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
	var mu sync.Mutex
	calls := map[string]int{}
	del := retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		mu.Lock()
		calls[it.ID]++
		mu.Unlock()
		time.Sleep(time.Millisecond) // widen the race window
		return nil
	})
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
	var keys []string
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	require.Len(t, keys, n)
	for _, k := range keys {
		assert.Equal(t, 1, calls[k], "item %s deleted once", k)
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
