// Package sqldb is the SQL plumbing every privkit SQL backend stands on: it
// opens the embedded SQLite default and shared PostgreSQL with the settings
// privkit relies on, hides the few dialect differences backends meet, applies
// numbered migrations, and truncates SQLite's write-ahead log after deletions.
//
// A backend takes a [*DB] and writes its queries with `?` placeholders, which
// [DB.Rebind] (called by the query helpers) turns into `$n` for PostgreSQL.
// Upserts (`INSERT … ON CONFLICT … DO UPDATE`) and `RETURNING` are written
// once: both databases accept the same syntax.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names a SQL database family.
type Dialect uint8

// The dialects privkit speaks.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// Rebind rewrites `?` placeholders as `$1`, `$2`, … for PostgreSQL and
// returns q unchanged for SQLite. A `?` inside a single-quoted string literal
// is left alone.
func (d Dialect) Rebind(q string) string {
	if d != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n, inStr := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ForUpdateSkipLocked returns the row-locking clause to append to a SELECT
// that claims rows other instances must not claim too: " FOR UPDATE SKIP
// LOCKED" on PostgreSQL; "" on SQLite, whose write transactions (opened
// BEGIN IMMEDIATE by [OpenSQLite]) already exclude each other.
func (d Dialect) ForUpdateSkipLocked() string {
	if d == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// ForUpdate returns " FOR UPDATE" on PostgreSQL and "" on SQLite.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// BlobType returns the column type for bytes: BLOB or BYTEA.
func (d Dialect) BlobType() string {
	if d == Postgres {
		return "BYTEA"
	}
	return "BLOB"
}

// DB is a database handle with its dialect. It is safe for concurrent use.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// OpenSQLite opens (creating if needed) the SQLite database file at path with
// write-ahead logging, synchronous=FULL (a committed transaction survives a
// crash), foreign keys on, a 10 s busy timeout, secure_delete=ON (deleted
// content is overwritten with zeros) and write transactions that begin
// IMMEDIATE, so concurrent writers queue instead of failing. Temporary
// tables and sort spills stay in memory (temp_store=MEMORY), so no
// plaintext lands in temporary files.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" {
		return nil, errors.New("sqldb: sqlite needs a file path")
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "secure_delete(1)", "temp_store(2)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open sqlite: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: open sqlite: %w", err)
	}
	return &DB{DB: db, Dialect: SQLite}, nil
}

// OpenPostgres opens a PostgreSQL database through pgx's database/sql driver.
// dsn is a URL or key=value connection string; unknown URL parameters such
// as search_path become run-time parameters.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open postgres: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: open postgres: %w", err)
	}
	return &DB{DB: db, Dialect: Postgres}, nil
}

// ErrUnsupportedDriver reports a *sql.DB whose driver is neither
// modernc.org/sqlite nor pgx's stdlib driver.
var ErrUnsupportedDriver = errors.New("sqldb: unsupported database driver (want modernc.org/sqlite or github.com/jackc/pgx/v5/stdlib)")

// ErrSQLiteSettings reports a SQLite database opened without the settings
// privkit's guarantees need; open it with [OpenSQLite].
var ErrSQLiteSettings = errors.New("sqldb: sqlite opened without privkit's settings (journal_mode=wal, secure_delete=on, foreign_keys=on); open it with privkit.OpenSQLite")

// Wrap returns db with its dialect, detected from its driver. Backends'
// constructors take a plain *sql.DB and call Wrap. For SQLite it checks that
// the connection runs with write-ahead logging, secure_delete and foreign
// keys, because "deleted means deleted" depends on them.
func Wrap(ctx context.Context, db *sql.DB) (*DB, error) {
	if db == nil {
		return nil, errors.New("sqldb: nil *sql.DB")
	}
	switch db.Driver().(type) {
	case *stdlib.Driver:
		return &DB{DB: db, Dialect: Postgres}, nil
	case *sqlite.Driver:
		var mode string
		var secure, fk int
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return nil, fmt.Errorf("sqldb: %w", err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&secure); err != nil {
			return nil, fmt.Errorf("sqldb: %w", err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			return nil, fmt.Errorf("sqldb: %w", err)
		}
		if !strings.EqualFold(mode, "wal") || secure != 1 || fk != 1 {
			return nil, ErrSQLiteSettings
		}
		return &DB{DB: db, Dialect: SQLite}, nil
	}
	return nil, ErrUnsupportedDriver
}

// Exec runs q, rebound for the dialect.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.Dialect.Rebind(q), args...)
}

// Query runs q, rebound for the dialect.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.Dialect.Rebind(q), args...)
}

// QueryRow runs q, rebound for the dialect.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.Dialect.Rebind(q), args...)
}

// Tx is a transaction with its dialect.
type Tx struct {
	*sql.Tx
	Dialect Dialect
}

// Exec runs q inside the transaction, rebound for the dialect.
func (tx *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.Dialect.Rebind(q), args...)
}

// Query runs q inside the transaction, rebound for the dialect.
func (tx *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.Dialect.Rebind(q), args...)
}

// QueryRow runs q inside the transaction, rebound for the dialect.
func (tx *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.Dialect.Rebind(q), args...)
}

// InTx runs fn in a transaction, committing if fn returns nil and rolling
// back otherwise. On SQLite the transaction holds the write lock from its
// start.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqldb: begin: %w", err)
	}
	if err := fn(&Tx{Tx: stx, Dialect: db.Dialect}); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	return nil
}

// CheckpointTruncate copies SQLite's write-ahead log into the main database
// file and truncates the log to zero bytes, so content deleted with
// secure_delete=ON is gone from every file of the database. Call it after a
// deletion that must leave no trace. It is a no-op on PostgreSQL.
func (db *DB) CheckpointTruncate(ctx context.Context) error {
	if db.Dialect != SQLite {
		return nil
	}
	// A checkpoint cannot finish while another connection is reading an
	// older snapshot or writing; it then reports busy. Such moments are
	// short, so try again for a while before giving up.
	wait := time.Millisecond
	deadline := time.Now().Add(5 * time.Second)
	for {
		var busy, logFrames, checkpointed int
		if err := db.DB.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
			return fmt.Errorf("sqldb: wal checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrCheckpointBusy
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sqldb: wal checkpoint: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// ErrCheckpointBusy reports a WAL checkpoint that other connections kept
// from finishing; the deleted content may still be in the write-ahead log.
var ErrCheckpointBusy = errors.New("sqldb: wal checkpoint: database busy, log not truncated")
