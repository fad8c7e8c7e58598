package privkit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
)

func TestOpenSQLiteAndCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "host.db")
	db, err := privkit.OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer db.Close()

	secret := "host-secret-value-7f3a9c"
	_, err = db.ExecContext(ctx, "CREATE TABLE notes (v TEXT)")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO notes (v) VALUES (?)", secret)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "DELETE FROM notes")
	require.NoError(t, err)
	require.NoError(t, privkit.CheckpointSQLite(ctx, db))

	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.NotContains(t, string(b), secret, "a deleted value must be in no file after CheckpointSQLite")
	}
}

func TestOpenPostgres(t *testing.T) {
	dsn := sqldbtest.PostgresDSN(t) // skips, saying why, without PRIVKIT_POSTGRES_DSN
	db, err := privkit.OpenPostgres(context.Background(), dsn)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, privkit.CheckpointSQLite(context.Background(), db), "CheckpointSQLite is a no-op on PostgreSQL")
	_, err = privkit.OpenPostgres(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
}
