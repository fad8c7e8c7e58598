package audit_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/auditsql"
	"github.com/inferlabs/privkit/audit/audittest"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
)

// benchEvent is an event whose leaf is about 256 bytes, the size the
// raw-sha256 baseline hashes.
func benchEvent(i int) audit.Event {
	return audit.Event{
		Time:     time.Date(2026, 3, 1, 12, 0, 0, i, time.UTC),
		Actor:    "employee:e_17",
		Action:   "workspace.file.read",
		Resource: "workspace/ws_9a3f/file/1234",
		Subject:  "user:u_3f9c2b",
		Purpose:  "resolve_issue",
		Outcome:  audit.Success,
		Service:  "api",
		IP:       "192.0.2.0/24",
		Attrs:    []audit.Attr{audit.Int("bytes", int64(i)), audit.String("ticket", "SUP-4242")},
	}
}

func BenchmarkAppend(b *testing.B) {
	b.Run("raw-sha256", func(b *testing.B) {
		b.ReportAllocs()
		var rec [256]byte
		var sink [32]byte
		for i := 0; b.Loop(); i++ {
			rec[0] = byte(i)
			sink = sha256.Sum256(rec[:])
		}
		_ = sink
	})
	b.Run("memory", func(b *testing.B) {
		k := audittest.NewKeys(b, "bench")
		ctx := context.Background()
		open := func() *audit.Log {
			l, err := audit.Open(ctx, audit.NewMemoryStore(), k.Signer, nil)
			if err != nil {
				b.Fatal(err)
			}
			return l
		}
		// A fresh log every 1<<16 entries keeps the benchmark's memory
		// bounded (about 30 MiB) however large b.N grows.
		l := open()
		ev := benchEvent(0)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if i%(1<<16) == 0 && i > 0 {
				b.StopTimer()
				l.Close()
				l = open()
				b.StartTimer()
			}
			if _, err := l.Append(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
		l.Close()
	})
	b.Run("sqlite-durable-64writers", func(b *testing.B) {
		benchmarkSQLite(b, 64)
	})
}

// benchmarkSQLite appends b.N events from the given number of goroutines to
// a SQLite log (WAL, synchronous=FULL): every acknowledged append is durable.
func benchmarkSQLite(b *testing.B, writers int) {
	ctx := context.Background()
	store, err := auditsql.New(ctx, sqldbtest.SQLite(b).DB)
	if err != nil {
		b.Fatal(err)
	}
	k := audittest.NewKeys(b, "bench")
	l, err := audit.Open(ctx, store, k.Signer, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				if _, err := l.Append(ctx, benchEvent(int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}

func BenchmarkVerify(b *testing.B) {
	b.Run("raw-sha256", func(b *testing.B) {
		b.ReportAllocs()
		var rec [256]byte
		var sink [32]byte
		for i := 0; b.Loop(); i++ {
			rec[0] = byte(i)
			sink = sha256.Sum256(rec[:])
		}
		_ = sink
	})
	b.Run("verify", func(b *testing.B) {
		ctx := context.Background()
		k := audittest.NewKeys(b, "bench")
		store := audit.NewMemoryStore()
		l, err := audit.Open(ctx, store, k.Signer, &audit.Options{MaxBatch: 4096})
		if err != nil {
			b.Fatal(err)
		}
		const n = 1 << 14
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 16 {
					if _, err := l.Append(ctx, benchEvent(i)); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if _, err := l.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
		l.Close()
		opts := &audit.VerifyOptions{Verifier: k.Verifier}
		b.ReportAllocs()
		b.ResetTimer()
		// One op is one entry: verify the whole log every n ops.
		for done := 0; done < b.N; done += n {
			if _, err := audit.Verify(ctx, store, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
