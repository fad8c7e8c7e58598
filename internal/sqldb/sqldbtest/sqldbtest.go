// Package sqldbtest opens throw-away databases for tests of privkit's SQL
// backends: a SQLite file in the test's temporary directory, and a fresh
// PostgreSQL schema in the database named by PRIVKIT_POSTGRES_DSN.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferlabs/privkit/internal/sqldb"
)

// EnvPostgresDSN names the environment variable that points tests at a
// PostgreSQL database. When it is unset, PostgreSQL tests skip and say so.
const EnvPostgresDSN = "PRIVKIT_POSTGRES_DSN"

// SQLite opens a new SQLite database in a temporary directory; it is closed
// when the test ends. The file's path is db's "path" for tests that read the
// files byte for byte: see [SQLitePath].
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, _ := SQLitePath(t)
	return db
}

// SQLitePath is [SQLite] that also returns the database file's path.
func SQLitePath(t testing.TB) (*sqldb.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "privkit.db")
	db, err := sqldb.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatalf("sqldbtest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// PostgresDSN creates a fresh schema in the database named by
// PRIVKIT_POSTGRES_DSN and returns a DSN whose search_path is that schema,
// so that every connection opened with it, from this process or another,
// sees the same empty database. The schema is dropped when the test ends.
// Without PRIVKIT_POSTGRES_DSN the test is skipped, saying why.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		t.Skipf("sqldbtest: %s is not set; skipping the PostgreSQL test (e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvPostgresDSN, EnvPostgresDSN)
	}
	ctx := context.Background()
	admin, err := sqldb.OpenPostgres(ctx, base)
	if err != nil {
		t.Fatalf("sqldbtest: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("sqldbtest: %v", err)
	}
	schema := "privkit_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("sqldbtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sqldb.OpenPostgres(context.Background(), base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	return withSearchPath(t, base, schema)
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("sqldbtest: %s is not a valid URL", EnvPostgresDSN)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Postgres opens the fresh schema of [PostgresDSN]; it is closed when the
// test ends.
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	return Open(t, PostgresDSN(t))
}

// Open opens another handle on a DSN from [PostgresDSN], as a second service
// instance would; it is closed when the test ends.
func Open(t testing.TB, dsn string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatalf("sqldbtest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Each runs fn as the subtests "sqlite" and "postgres", each on a fresh
// database. The PostgreSQL subtest skips, saying why, without
// PRIVKIT_POSTGRES_DSN.
func Each(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}
