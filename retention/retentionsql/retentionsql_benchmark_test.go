package retentionsql_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentionsql"
)

// BenchmarkSweep measures sweep throughput with no-op deleters and the
// default Options (BatchSize 1000, SweepWorkers 8): b.N due items are
// swept once. "memory" is the baseline (journal in memory, no I/O);
// "sqlite" journals every step durably (synchronous=FULL); "postgres" runs
// when PRIVKIT_POSTGRES_DSN is set. The metric that counts is items/s.
// Each batch costs a few commits (claim with first steps, outcomes), so
// use at least a few thousand items (-benchtime 5000x) for a stable rate.
func BenchmarkSweep(b *testing.B) {
	created := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	now := created.Add(2 * time.Hour)
	noop := retention.DeleterFunc(func(context.Context, retention.Item) error { return nil })
	for _, bc := range []struct {
		name  string
		store func(b *testing.B) retention.Store
	}{
		{"memory", func(*testing.B) retention.Store { return retention.NewMemoryStore() }},
		{"sqlite", func(b *testing.B) retention.Store {
			s, err := retentionsql.New(context.Background(), sqldbtest.SQLite(b).DB)
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres", func(b *testing.B) retention.Store {
			s, err := retentionsql.New(context.Background(), sqldbtest.Postgres(b).DB) // skips without PRIVKIT_POSTGRES_DSN
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			store := bc.store(b)
			m, err := retention.New(store, &retention.Options{Now: func() time.Time { return now },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			m.RegisterDeleter("workspace", noop)
			p := retention.DefaultPolicy()
			for i := range b.N {
				it := retention.Item{ID: fmt.Sprintf("item-%09d", i), Category: retention.CategoryUploadedFile,
					Subject: "s", System: "workspace", Plan: "free", CreatedAt: created}
				it.DueAt, _ = p.DueAt(it)
				if err := store.PutItem(ctx, it); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			rep, err := m.Sweep(ctx, nil)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if rep.Deleted != b.N {
				b.Fatalf("deleted %d of %d", rep.Deleted, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
