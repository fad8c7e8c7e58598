package retentionsql_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentionsql"
	"github.com/inferlabs/privkit/retention/retentiontest"
)

func newStore(t *testing.T, db *sqldb.DB) *retentionsql.Store {
	t.Helper()
	s, err := retentionsql.New(context.Background(), db.DB)
	require.NoError(t, err)
	return s
}

func TestConformanceSQLite(t *testing.T) {
	t.Parallel()
	retentiontest.Run(t, func(t *testing.T) retention.Store { return newStore(t, sqldbtest.SQLite(t)) })
}

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	retentiontest.Run(t, func(t *testing.T) retention.Store { return newStore(t, sqldbtest.Postgres(t)) })
}

// TestSharedSQLite: two handles on one SQLite file, as two processes on
// one host would open it.
func TestSharedSQLite(t *testing.T) {
	t.Parallel()
	retentiontest.RunShared(t, func(t *testing.T) (retention.Store, retention.Store) {
		db, path := sqldbtest.SQLitePath(t)
		db2, err := sqldb.OpenSQLite(context.Background(), path)
		require.NoError(t, err)
		t.Cleanup(func() { db2.Close() })
		return newStore(t, db), newStore(t, db2)
	})
}

// TestSharedPostgres: two instances on one PostgreSQL inventory must never
// claim or delete an item twice (FOR UPDATE SKIP LOCKED).
func TestSharedPostgres(t *testing.T) {
	t.Parallel()
	retentiontest.RunShared(t, func(t *testing.T) (retention.Store, retention.Store) {
		dsn := sqldbtest.PostgresDSN(t)
		return newStore(t, sqldbtest.Open(t, dsn)), newStore(t, sqldbtest.Open(t, dsn))
	})
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		newStore(t, db)
		newStore(t, db) // idempotent
	})
}
