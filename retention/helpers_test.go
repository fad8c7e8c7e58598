package retention_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentiontest"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

type env struct {
	m     *retention.Manager
	store retention.Store
	clk   *clock.Fake
	aud   *retentiontest.Auditor
	del   *retentiontest.Deleter
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, store retention.Store, opts *retention.Options) *env {
	t.Helper()
	e := &env{store: store, clk: clock.NewFake(t0), aud: &retentiontest.Auditor{}, del: retentiontest.NewDeleter()}
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
