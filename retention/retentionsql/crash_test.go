package retentionsql_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentionsql"
)

// The crash test runs a sweep in a child process (this test binary,
// re-executed), kills it with SIGKILL while a deliberately slow deleter
// runs, then resumes in the parent: every due item must end deleted
// exactly once. Deletions are counted in a side table that the deleter
// writes idempotently, keyed by item ID and attempt.

const (
	envCrashKind   = "RETENTION_CRASH_KIND"
	envCrashTarget = "RETENTION_CRASH_TARGET"
	envCrashNow    = "RETENTION_CRASH_NOW"
	envCrashPar    = "RETENTION_CRASH_WORKERS"
	crashItems     = 12
	crashSlowItem  = "item-07"
)

func openCrashDB(ctx context.Context, kind, target string) (*sqldb.DB, error) {
	if kind == "postgres" {
		return sqldb.OpenPostgres(ctx, target)
	}
	return sqldb.OpenSQLite(ctx, target)
}

// sideDeleter records a deletion of (item, attempt) in crash_deletions
// unless the item was deleted before (idempotent), after optional slowness.
func sideDeleter(db *sqldb.DB, slow func(ctx context.Context, it retention.Item) error) retention.Deleter {
	return retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		if slow != nil {
			if err := slow(ctx, it); err != nil {
				return err
			}
		}
		return db.InTx(ctx, func(tx *sqldb.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM crash_deletions WHERE item_id = ?", it.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil // already deleted: deleting again is a no-op
			}
			_, err := tx.Exec(ctx, "INSERT INTO crash_deletions (item_id, attempt) VALUES (?, ?) ON CONFLICT (item_id, attempt) DO NOTHING", it.ID, it.Attempts)
			return err
		})
	})
}

// crashManager sweeps sequentially (workers 1, batches of 3) or with
// workers > 1 in batches of 6, whose outcomes are journaled while the
// next deleters run.
func crashManager(t testing.TB, db *sqldb.DB, now time.Time, instance string, workers int) *retention.Manager {
	store, err := retentionsql.New(context.Background(), db.DB)
	require.NoError(t, err)
	batch := 3
	if workers > 1 {
		batch = 6
	}
	m, err := retention.New(store, &retention.Options{
		Now: func() time.Time { return now }, Instance: instance, Lease: time.Minute, DeleterTimeout: 30 * time.Second,
		BatchSize: batch, SweepWorkers: workers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return m
}

// TestCrashChild is the child's half; it does nothing unless started by
// runCrash.
func TestCrashChild(t *testing.T) {
	kind := os.Getenv(envCrashKind)
	if kind == "" {
		t.Skip("runs only as the child of TestCrashResume")
	}
	ctx := context.Background()
	db, err := openCrashDB(ctx, kind, os.Getenv(envCrashTarget))
	require.NoError(t, err)
	ns, err := strconv.ParseInt(os.Getenv(envCrashNow), 10, 64)
	require.NoError(t, err)
	workers, err := strconv.Atoi(os.Getenv(envCrashPar))
	require.NoError(t, err)
	m := crashManager(t, db, time.Unix(0, ns).UTC(), "child", workers)
	m.RegisterDeleter("workspace", sideDeleter(db, func(ctx context.Context, it retention.Item) error {
		if it.ID != crashSlowItem {
			return nil
		}
		if _, err := db.Exec(ctx, "INSERT INTO crash_state (k) VALUES ('blocked')"); err != nil {
			return err
		}
		<-ctx.Done() // the parent kills us here
		return ctx.Err()
	}))
	_, _ = m.Sweep(ctx, nil)
	t.Fatal("the child was meant to be killed mid-sweep")
}

func TestCrashResume(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("sqlite/workers=%d", workers), func(t *testing.T) {
			t.Parallel()
			db, path := sqldbtest.SQLitePath(t)
			runCrash(t, db, "sqlite", path, workers)
		})
		t.Run(fmt.Sprintf("postgres/workers=%d", workers), func(t *testing.T) {
			t.Parallel()
			dsn := sqldbtest.PostgresDSN(t)
			runCrash(t, sqldbtest.Open(t, dsn), "postgres", dsn, workers)
		})
	}
}

// runCrash: with one worker the crash point is exact (items 00-06 deleted
// and journaled, 07 in its deleter); with several, the outcomes of the
// items around the slow one may or may not be journaled when the child
// dies, and on PostgreSQL the dead child's open transaction may hold row
// locks for a moment, so the restart sweeps until nothing is left.
func runCrash(t *testing.T, db *sqldb.DB, kind, target string, workers int) {
	ctx := context.Background()
	_, err := db.Exec(ctx, "CREATE TABLE crash_deletions (item_id TEXT NOT NULL, attempt INTEGER NOT NULL, PRIMARY KEY (item_id, attempt))")
	require.NoError(t, err)
	_, err = db.Exec(ctx, "CREATE TABLE crash_state (k TEXT NOT NULL)")
	require.NoError(t, err)
	created := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	now := created.Add(2 * time.Hour)
	m := crashManager(t, db, now, "parent-setup", workers)
	for i := range crashItems {
		_, err := m.Track(ctx, retention.Item{ID: fmt.Sprintf("item-%02d", i), Category: retention.CategoryUploadedFile,
			Subject: "s", System: "workspace", Plan: "free", CreatedAt: created})
		require.NoError(t, err)
	}
	require.NoError(t, m.Close())

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), envCrashKind+"="+kind, envCrashTarget+"="+target, envCrashNow+"="+strconv.FormatInt(now.UnixNano(), 10), envCrashPar+"="+strconv.Itoa(workers))
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		require.NoError(t, db.QueryRow(ctx, "SELECT COUNT(*) FROM crash_state").Scan(&n))
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child never reached the slow deleter")
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	var before int
	require.NoError(t, db.QueryRow(ctx, "SELECT COUNT(*) FROM crash_deletions").Scan(&before))
	if workers == 1 {
		assert.Equal(t, 7, before, "the child deleted the items before the slow one, then died")
	} else {
		assert.GreaterOrEqual(t, before, 1, "the child deleted some items, then died")
	}

	// Restart: another instance, after the child's lease lapsed.
	at := now.Add(2 * time.Minute)
	m2 := crashManager(t, db, at, "parent", workers)
	m2.RegisterDeleter("workspace", sideDeleter(db, nil))
	rep, err := m2.Sweep(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, m2.Close())
	if workers == 1 {
		assert.Equal(t, crashItems-7, rep.Deleted, "the resumed sweep deletes the rest, the slow item included")
	}
	left := func() int {
		var n int
		require.NoError(t, db.QueryRow(ctx, "SELECT COUNT(*) FROM retention_items WHERE state <> 'deleted'").Scan(&n))
		return n
	}
	for round := 0; round < 20 && left() > 0; round++ {
		assert.Greater(t, workers, 1, "a sequential sweep resumes in one go")
		at = at.Add(2 * time.Minute)
		m3 := crashManager(t, db, at, "parent", workers)
		m3.RegisterDeleter("workspace", sideDeleter(db, nil))
		rep, err = m3.Sweep(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, m3.Close())
		if rep.Deleted == 0 {
			time.Sleep(50 * time.Millisecond) // a dead backend's locks go
		}
	}

	rows, err := db.Query(ctx, "SELECT item_id, COUNT(*) FROM crash_deletions GROUP BY item_id")
	require.NoError(t, err)
	per := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		per[id] = n
	}
	require.NoError(t, rows.Err())
	rows.Close()
	assert.Len(t, per, crashItems, "no item lost")
	for id, n := range per {
		assert.Equal(t, 1, n, "%s deleted exactly once", id)
	}
	store, err := retentionsql.New(ctx, db.DB)
	require.NoError(t, err)
	for i := range crashItems {
		id := fmt.Sprintf("item-%02d", i)
		it, err := store.GetItem(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, retention.StateDeleted, it.State, id)
		j, err := store.JournalOf(ctx, id)
		require.NoError(t, err)
		deleted := 0
		for _, e := range j {
			if e.Step == retention.StepDeleted {
				deleted++
			}
		}
		assert.Equal(t, 1, deleted, "%s journaled deleted once", id)
	}
	slow, err := store.GetItem(ctx, crashSlowItem)
	require.NoError(t, err)
	if workers == 1 {
		assert.Equal(t, 2, slow.Attempts, "the slow item was claimed by the child, then by the restart")
	}
}
