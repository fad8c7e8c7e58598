package retention_test

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentionsql"
	"github.com/inferlabs/privkit/retention/retentiontest"
)

type scenarioFile struct {
	Cases []scenario `json:"cases"`
}

type scenario struct {
	ID   string `json:"id"`
	Item struct {
		Category    string `json:"category"`
		Plan        string `json:"plan"`
		PlanHistory []struct {
			Plan string    `json:"plan"`
			From time.Time `json:"from"`
		} `json:"plan_history"`
		CreatedAt      time.Time `json:"created_at"`
		SentAt         time.Time `json:"sent_at"`
		Vendor         string    `json:"vendor"`
		AlreadyDeleted bool      `json:"already_deleted"`
		Holds          []struct {
			ID         string    `json:"id"`
			PlacedAt   time.Time `json:"placed_at"`
			ReleasedAt time.Time `json:"released_at"`
		} `json:"holds"`
		ExplicitRules []struct {
			Action string `json:"action"`
			TTL    string `json:"ttl"`
			Reason string `json:"reason"`
		} `json:"explicit_rules"`
	} `json:"item"`
	Now   time.Time `json:"now"`
	Event *struct {
		Type string    `json:"type"`
		At   time.Time `json:"at"`
	} `json:"event"`
	DSR *struct {
		Type     string    `json:"type"`
		Received time.Time `json:"received"`
	} `json:"dsr"`
	StoreError string `json:"store_error"`
	Expect     string `json:"expect"`
	Reason     string `json:"reason"`
	Note       string `json:"note"`
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	b, err := os.ReadFile("testdata/retention_scenarios.json")
	require.NoError(t, err)
	var f scenarioFile
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Cases)
	return f.Cases
}

// step is one timed action of a scenario, replayed in time order on a fake
// clock against a Manager over the memory store.
type step struct {
	at time.Time
	do func(t *testing.T, e *env)
}

// TestScenarios replays every case of retention_scenarios.json end to end:
// the item is tracked, plans change, holds are placed and released at
// their times, then the sweeper (or an erasure request) runs at "now".
func TestScenarios(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "sqlite", "postgres"} {
		for _, sc := range loadScenarios(t) {
			t.Run(kind+"/"+sc.ID, func(t *testing.T) {
				t.Parallel()
				runScenario(t, newStoreKind(t, kind), sc)
			})
		}
	}
}

func newStoreKind(t *testing.T, kind string) retention.Store {
	t.Helper()
	if kind == "memory" {
		return retention.NewMemoryStore()
	}
	db := sqldbtest.SQLite
	if kind == "postgres" {
		db = sqldbtest.Postgres // skips, saying why, without PRIVKIT_POSTGRES_DSN
	}
	s, err := retentionsql.New(context.Background(), db(t).DB)
	require.NoError(t, err)
	return s
}

func runScenario(t *testing.T, store retention.Store, sc scenario) {
	e := newEnv(t, store, &retention.Options{Grace: time.Hour, RetryBackoff: time.Minute})
	ctx := context.Background()
	if sc.Item.Vendor != "" {
		// The vendor deletes on its own after 30 days (scenario
		// vendor-data-30d's note): evidence instead of a call.
		e.m.RegisterDeleter(sc.Item.Vendor, retention.VendorAutoDeletion(30*24*time.Hour))
	}
	if sc.StoreError != "" {
		e.del.Fail = func(retention.Item) error { return context.DeadlineExceeded }
	}
	created := sc.Item.CreatedAt
	if created.IsZero() {
		created = sc.Item.SentAt
	}
	if created.IsZero() {
		created = time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	}
	plan := sc.Item.Plan
	var steps []step
	for _, ph := range sc.Item.PlanHistory {
		if !ph.From.After(created) {
			plan = ph.Plan
			continue
		}
		ph := ph
		steps = append(steps, step{ph.From, func(t *testing.T, e *env) {
			_, err := e.m.SetPlan(ctx, "subj", ph.Plan)
			require.NoError(t, err)
		}})
	}
	item := retention.Item{ID: "item-1", Category: sc.Item.Category, Subject: "subj", Plan: plan,
		System: "workspace", CreatedAt: created, SentAt: sc.Item.SentAt, Vendor: sc.Item.Vendor}
	switch {
	case sc.Item.Vendor != "":
		item.System = sc.Item.Vendor
	case sc.Item.Category == retention.CategoryConversation:
		item.System = "chat"
	}
	for _, r := range sc.Item.ExplicitRules {
		ttl, err := time.ParseDuration(r.TTL)
		require.NoError(t, err)
		item.Labels = append(item.Labels, retention.Rule{Category: item.Category, Action: retention.Action(r.Action),
			Anchor: retention.AnchorCreated, TTL: ttl, Reason: r.Reason})
	}
	steps = append(steps, step{created, func(t *testing.T, e *env) { e.track(t, item) }})
	for _, h := range sc.Item.Holds {
		h := h
		steps = append(steps, step{h.PlacedAt, func(t *testing.T, e *env) {
			_, err := e.m.PlaceHold(ctx, retention.Hold{ID: h.ID, Scope: retention.HoldItem, Target: "item-1",
				Reason: "litigation", PlacedBy: "employee:legal"})
			require.NoError(t, err)
		}})
		if !h.ReleasedAt.IsZero() {
			steps = append(steps, step{h.ReleasedAt, func(t *testing.T, e *env) {
				_, err := e.m.ReleaseHold(ctx, h.ID, "employee:legal", "case closed")
				require.NoError(t, err)
			}})
		}
	}
	if sc.Event != nil {
		steps = append(steps, step{sc.Event.At, func(t *testing.T, e *env) {
			_, err := e.m.UserDeleted(ctx, "item-1")
			require.NoError(t, err)
		}})
	}
	if sc.Item.AlreadyDeleted {
		// Deleted by an earlier sweep right when due.
		steps = append(steps, step{created.Add(time.Hour), func(t *testing.T, e *env) { e.sweep(t) }})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Before(steps[j].at) })
	for _, s := range steps {
		e.clk.Set(s.at)
		s.do(t, e)
	}
	now := sc.Now
	if sc.DSR != nil {
		now = sc.DSR.Received
	}
	e.clk.Set(now)

	if sc.DSR != nil {
		req, err := e.m.SubmitRequest(ctx, retention.Request{Type: retention.RequestType(sc.DSR.Type), Subject: "subj", Law: retention.LawGDPR})
		require.NoError(t, err)
		res, err := e.m.ProcessRequest(ctx, req.ID)
		require.NoError(t, err)
		require.Equal(t, "partial_denial", sc.Expect)
		assert.Equal(t, retention.StatusPartiallyCompleted, res.Request.Status, "a held item makes the erasure partial")
		require.Len(t, res.Receipt.Lines, 1)
		assert.Equal(t, retention.ResultHeld, res.Receipt.Lines[0].Status)
		assert.Contains(t, res.Receipt.Lines[0].Holds[0], "litigation", "the receipt gives the hold's reason")
		assert.False(t, e.del.Deleted("item-1"), "a held item is never deleted by an erasure request")
		return
	}

	callsBefore := e.del.Calls("item-1")
	journalBefore, err := e.m.Journal(ctx, "item-1")
	require.NoError(t, err)
	rep := e.sweep(t)
	got, err := e.m.Item(ctx, "item-1")
	require.NoError(t, err)
	switch sc.Expect {
	case "keep":
		assert.NotEqual(t, retention.StateDeleted, got.State, "%s: %s", sc.Reason, sc.Note)
		assert.Zero(t, rep.Deleted)
	case "delete", "delete_or_already_deleted", "delete_including_derived":
		assert.Equal(t, retention.StateDeleted, got.State, "%s (last error %q)", sc.Note, got.LastError)
		assert.True(t, e.del.Deleted("item-1"))
	case "delete_at_vendor":
		assert.Equal(t, retention.StateDeleted, got.State)
		assert.Equal(t, retention.MethodVendorAuto, got.Method, "the vendor's own deletion is recorded as evidence")
	case "noop_with_receipt_unchanged":
		assert.Equal(t, retention.StateDeleted, got.State)
		assert.Equal(t, callsBefore, e.del.Calls("item-1"), "a deleted item is not deleted again")
		journalAfter, err := e.m.Journal(ctx, "item-1")
		require.NoError(t, err)
		assert.Equal(t, journalBefore, journalAfter, "the journal is unchanged")
		assert.Zero(t, rep.Deleted)
	case "retry_then_overdue_alert":
		assert.Equal(t, retention.StateFailed, got.State, "a failing delete leaves the item tracked")
		assert.Equal(t, 1, rep.Failed)
		assert.Empty(t, rep.Overdue, "not yet past the grace period")
		for range 3 {
			e.clk.Advance(30 * time.Minute)
			e.sweep(t)
		}
		assert.Greater(t, e.del.Calls("item-1"), 1, "the item is retried")
		e.clk.Advance(time.Hour)
		rep = e.sweep(t)
		require.Len(t, rep.Overdue, 1, "past due plus grace it is reported, never silently dropped")
		assert.Equal(t, "item-1", rep.Overdue[0].ID)
		assert.NotEmpty(t, e.aud.Events("retention.overdue"), "the alarm is an audit event too")
	default:
		t.Fatalf("unhandled expectation %q", sc.Expect)
	}
}

// TestUserDeleteCascades: deleting a conversation deletes what was derived
// from it (embeddings, vendor copies), transitively.
func TestUserDeleteCascades(t *testing.T) {
	t.Parallel()
	aud := &retentiontest.Auditor{}
	e := newEnv(t, retention.NewMemoryStore(), nil)
	m, err := retention.New(e.store, &retention.Options{Now: e.clk.Now, Auditor: aud, Logger: quietLogger()})
	require.NoError(t, err)
	defer m.Close()
	fake := retentiontest.NewDeleter()
	m.RegisterDeleter("chat", fake)
	e.m = m
	ctx := context.Background()
	e.track(t, retention.Item{ID: "conv", Category: retention.CategoryConversation, Subject: "s", System: "chat"})
	e.track(t, retention.Item{ID: "emb", Category: retention.CategoryDerived, Subject: "s", System: "chat", Parent: "conv"})
	e.track(t, retention.Item{ID: "emb-cache", Category: retention.CategoryDerived, Subject: "s", System: "chat", Parent: "emb"})
	e.track(t, retention.Item{ID: "other", Category: retention.CategoryConversation, Subject: "s", System: "chat"})
	n, err := e.m.UserDeleted(ctx, "conv")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	rep := e.sweep(t)
	assert.Equal(t, 3, rep.Deleted)
	assert.Equal(t, []string{"conv", "emb", "emb-cache"}, fake.DeletedIDs(), "an unrelated conversation stays")
	assert.Equal(t, 1, fake.Calls("emb-cache"))
	assert.Len(t, aud.Events("retention.item.deleted"), 3, "each deletion audited")
}
