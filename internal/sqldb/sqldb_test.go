package sqldb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, pg string
	}{
		{"no placeholders", "SELECT 1", "SELECT 1"},
		{"numbered in order", "INSERT INTO t (a, b) VALUES (?, ?)", "INSERT INTO t (a, b) VALUES ($1, $2)"},
		{"question mark in a string literal is data", "SELECT '?' WHERE a = ?", "SELECT '?' WHERE a = $1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.in, sqldb.SQLite.Rebind(c.in), "sqlite keeps ? placeholders")
			assert.Equal(t, c.pg, sqldb.Postgres.Rebind(c.in), "postgres needs $n placeholders")
		})
	}
}

var testMigrations = []sqldb.Migration{
	{Version: 1, SQL: `CREATE TABLE sqldbtest_items (
		id TEXT PRIMARY KEY,
		n INTEGER NOT NULL
	);`},
	{Version: 2, SQL: `ALTER TABLE sqldbtest_items ADD COLUMN data BLOB;`,
		Postgres: `ALTER TABLE sqldbtest_items ADD COLUMN data BYTEA;`},
}

func TestMigrateUpsertReturning(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		require.NoError(t, sqldb.Migrate(ctx, db, "sqldbtest", testMigrations))
		require.NoError(t, sqldb.Migrate(ctx, db, "sqldbtest", testMigrations), "a second migration run must be a no-op")

		var n int
		require.NoError(t, db.QueryRow(ctx, "SELECT COUNT(*) FROM privkit_migrations WHERE component = ?", "sqldbtest").Scan(&n))
		assert.Equal(t, 2, n, "each migration is recorded once")

		upsert := `INSERT INTO sqldbtest_items (id, n, data) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET n = sqldbtest_items.n + excluded.n RETURNING n`
		var got int
		require.NoError(t, db.QueryRow(ctx, upsert, "a", 1, []byte{1}).Scan(&got))
		assert.Equal(t, 1, got)
		require.NoError(t, db.QueryRow(ctx, upsert, "a", 5, []byte{2}).Scan(&got))
		assert.Equal(t, 6, got, "the upsert must update the existing row and return the new value")

		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, "SELECT n FROM sqldbtest_items WHERE id = ?"+db.Dialect.ForUpdate(), "a").Scan(&n); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "UPDATE sqldbtest_items SET n = ? WHERE id = ?", n*2, "a")
			return err
		})
		require.NoError(t, err)
		require.NoError(t, db.QueryRow(ctx, "SELECT n FROM sqldbtest_items WHERE id = ?", "a").Scan(&got))
		assert.Equal(t, 12, got, "the transaction must commit")

		boom := errors.New("boom")
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, "UPDATE sqldbtest_items SET n = 0"); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.NoError(t, db.QueryRow(ctx, "SELECT n FROM sqldbtest_items WHERE id = ?", "a").Scan(&got))
		assert.Equal(t, 12, got, "a failed transaction must roll back")

		w, err := sqldb.Wrap(ctx, db.DB)
		require.NoError(t, err)
		assert.Equal(t, db.Dialect, w.Dialect, "Wrap detects the dialect from the driver")
	})
}

func TestMigrateRejectsBadOrderAndNewerSchema(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		err := sqldb.Migrate(ctx, db, "bad", []sqldb.Migration{{Version: 2, SQL: "SELECT 1"}})
		require.ErrorIs(t, err, sqldb.ErrMigrationOrder)

		require.NoError(t, sqldb.Migrate(ctx, db, "sqldbtest", testMigrations))
		err = sqldb.Migrate(ctx, db, "sqldbtest", testMigrations[:1])
		require.ErrorIs(t, err, sqldb.ErrSchemaTooNew, "an older program must not run on a newer schema")

		err = sqldb.Migrate(ctx, db, "broken", []sqldb.Migration{{Version: 1, SQL: "CREATE TABLE broken_t (id INTEGER);\nTHIS IS NOT SQL;"}})
		require.Error(t, err)
		_, err = db.Exec(ctx, "SELECT * FROM broken_t")
		require.Error(t, err, "a failed migration must leave no half-applied schema")
	})
}

func TestMigratorsRace(t *testing.T) {
	run := func(t *testing.T, open func() *sqldb.DB) {
		ctx := context.Background()
		const racers = 6
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			db := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = sqldb.Migrate(ctx, db, "sqldbtest", testMigrations)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err, "every racing migrator must succeed")
		}
		db := open()
		var n int
		require.NoError(t, db.QueryRow(ctx, "SELECT COUNT(*) FROM privkit_migrations WHERE component = ?", "sqldbtest").Scan(&n))
		assert.Equal(t, 2, n, "each migration must be applied exactly once")
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "race.db")
		run(t, func() *sqldb.DB {
			db, err := sqldb.OpenSQLite(context.Background(), path)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := sqldbtest.PostgresDSN(t)
		run(t, func() *sqldb.DB { return sqldbtest.Open(t, dsn) })
	})
}

func TestSQLiteSettingsAndCheckpoint(t *testing.T) {
	ctx := context.Background()
	db, path := sqldbtest.SQLitePath(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "secure_delete": "1", "foreign_keys": "1", "synchronous": "2", "temp_store": "2"} {
		var got string
		require.NoError(t, db.QueryRow(ctx, "PRAGMA "+pragma).Scan(&got))
		assert.Equal(t, want, got, "pragma %s", pragma)
	}
	secret := []byte("privkit-sqldb-secret-0123456789abcdef")
	_, err := db.Exec(ctx, "CREATE TABLE s (v BLOB)")
	require.NoError(t, err)
	_, err = db.Exec(ctx, "INSERT INTO s (v) VALUES (?)", secret)
	require.NoError(t, err)
	_, err = db.Exec(ctx, "DELETE FROM s")
	require.NoError(t, err)
	require.NoError(t, db.CheckpointTruncate(ctx))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		assert.NotContains(t, string(b), string(secret), "deleted bytes must be in no file of the database (%s)", filepath.Base(path+suffix))
	}
	st, err := os.Stat(path + "-wal")
	if err == nil {
		assert.Zero(t, st.Size(), "the WAL must be truncated")
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := sqldb.OpenSQLite(context.Background(), ":memory:")
	require.Error(t, err, "an in-memory SQLite cannot keep privkit's durability promises")
	_, err = sqldb.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "x.db"))
	require.Error(t, err)
	_, err = sqldb.Wrap(context.Background(), nil)
	require.Error(t, err)
}

func TestCheckpointWaitsForReaders(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	_, err := db.Exec(ctx, "CREATE TABLE r (v INTEGER)")
	require.NoError(t, err)
	_, err = db.Exec(ctx, "INSERT INTO r (v) VALUES (1)")
	require.NoError(t, err)

	// A reader holds an old snapshot while a write lands; the checkpoint
	// must wait for it rather than give up.
	conn, err := db.DB.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN")
	require.NoError(t, err)
	var v int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT v FROM r").Scan(&v))
	_, err = db.Exec(ctx, "INSERT INTO r (v) VALUES (2)")
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- db.CheckpointTruncate(ctx) }()
	_, err = conn.ExecContext(ctx, "COMMIT")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.NoError(t, <-done, "the checkpoint completes once the reader lets go")
}
