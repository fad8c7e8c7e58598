package retention_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/retention"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// recAuditor records audit events.
type recAuditor struct {
	mu     sync.Mutex
	events []audit.Event
}

func (a *recAuditor) Record(_ context.Context, e audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

func (a *recAuditor) actions(action string) []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []audit.Event
	for _, e := range a.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// countDeleter counts calls and physical deletions per item; it is
// idempotent like the contract asks.
type countDeleter struct {
	mu      sync.Mutex
	calls   map[string]int
	deleted map[string]int
	fail    func(it retention.Item) error
}

func newCountDeleter() *countDeleter {
	return &countDeleter{calls: map[string]int{}, deleted: map[string]int{}}
}

func (d *countDeleter) Delete(_ context.Context, it retention.Item) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[it.ID]++
	if d.fail != nil {
		if err := d.fail(it); err != nil {
			return err
		}
	}
	d.deleted[it.ID] = 1 // idempotent: deleting twice leaves one deletion
	return nil
}

func (d *countDeleter) callsOf(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[id]
}

func (d *countDeleter) isDeleted(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deleted[id] == 1
}

type env struct {
	m     *retention.Manager
	store retention.Store
	clk   *clock.Fake
	aud   *recAuditor
	del   *countDeleter
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, store retention.Store, opts *retention.Options) *env {
	t.Helper()
	e := &env{store: store, clk: clock.NewFake(t0), aud: &recAuditor{}, del: newCountDeleter()}
	var o retention.Options
	if opts != nil {
		o = *opts
	}
	o.Now = e.clk.Now
	o.Auditor = e.aud
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	m, err := retention.New(store, &o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	e.m = m
	for _, s := range []string{"workspace", "chat", "llm-provider", "logs"} {
		m.RegisterDeleter(s, e.del)
	}
	return e
}

func (e *env) track(t *testing.T, it retention.Item) retention.Item {
	t.Helper()
	got, err := e.m.Track(context.Background(), it)
	require.NoError(t, err)
	return got
}

func (e *env) sweep(t *testing.T) *retention.SweepReport {
	t.Helper()
	rep, err := e.m.Sweep(context.Background(), nil)
	require.NoError(t, err)
	return rep
}

var errBoom = errors.New("boom")
