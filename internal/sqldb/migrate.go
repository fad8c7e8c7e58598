package sqldb

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
)

// Migration is one numbered schema change of a component. Versions start at
// 1 and increase by one. A migration is applied once, inside a transaction,
// and recorded in the privkit_migrations table.
type Migration struct {
	Version int
	// SQL runs on both dialects unless Postgres is set. Statements are
	// separated by semicolons at line ends.
	SQL string
	// Postgres, when set, runs instead of SQL on PostgreSQL.
	Postgres string
}

// ErrMigrationOrder reports a migration list whose versions do not run 1, 2, 3….
var ErrMigrationOrder = errors.New("sqldb: migrations must be numbered 1, 2, 3, …")

// ErrSchemaTooNew reports a database migrated by a newer privkit than this one.
var ErrSchemaTooNew = errors.New("sqldb: database schema is newer than this program knows")

// Migrate applies to db the migrations of component that it has not applied
// yet. It is idempotent, and safe to call from several processes at once:
// on PostgreSQL the migrators serialise on an advisory lock derived from the
// component name, on SQLite on the database's write lock.
func Migrate(ctx context.Context, db *DB, component string, migrations []Migration) error {
	for i, m := range migrations {
		if m.Version != i+1 {
			return fmt.Errorf("%w: %s has version %d at position %d", ErrMigrationOrder, component, m.Version, i+1)
		}
	}
	create := `CREATE TABLE IF NOT EXISTS privkit_migrations (
		component TEXT NOT NULL,
		version INTEGER NOT NULL,
		PRIMARY KEY (component, version))`
	return db.InTx(ctx, func(tx *Tx) error {
		if db.Dialect == Postgres {
			h := fnv.New64a()
			h.Write([]byte("privkit_migrations/" + component))
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())); err != nil {
				return fmt.Errorf("sqldb: migrate %s: lock: %w", component, err)
			}
			// CREATE TABLE IF NOT EXISTS races between first migrators of
			// different components; serialise it on one well-known lock.
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(0x7072_6976_6b69_7400)); err != nil {
				return fmt.Errorf("sqldb: migrate %s: lock: %w", component, err)
			}
		}
		if _, err := tx.Exec(ctx, create); err != nil {
			return fmt.Errorf("sqldb: migrate %s: %w", component, err)
		}
		var current int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM privkit_migrations WHERE component = ?", component).Scan(&current); err != nil {
			return fmt.Errorf("sqldb: migrate %s: %w", component, err)
		}
		if current > len(migrations) {
			return fmt.Errorf("%w: %s is at version %d, this program knows %d", ErrSchemaTooNew, component, current, len(migrations))
		}
		for _, m := range migrations[current:] {
			src := m.SQL
			if db.Dialect == Postgres && m.Postgres != "" {
				src = m.Postgres
			}
			for _, stmt := range splitStatements(src) {
				if _, err := tx.Tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("sqldb: migrate %s to version %d: %w", component, m.Version, err)
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO privkit_migrations (component, version) VALUES (?, ?)", component, m.Version); err != nil {
				return fmt.Errorf("sqldb: migrate %s to version %d: %w", component, m.Version, err)
			}
		}
		return nil
	})
}

// splitStatements splits a migration at semicolons that end a line.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSpace(cur.String()); s != ";" {
				out = append(out, strings.TrimSuffix(s, ";"))
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
