package privkit

import (
	"context"
	"database/sql"

	"github.com/inferlabs/privkit/internal/sqldb"
)

// OpenSQLite opens (creating if needed) the embedded default store: one
// SQLite file with write-ahead logging, synchronous commits, foreign keys,
// secure_delete=ON and IMMEDIATE write transactions. Every privkit SQL
// backend accepts the returned handle; several backends may share it.
func OpenSQLite(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sqldb.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	return db.DB, nil
}

// OpenPostgres opens a PostgreSQL database through pgx for state shared by
// many service instances. Every privkit SQL backend accepts the returned
// handle.
func OpenPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sqldb.OpenPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return db.DB, nil
}

// CheckpointSQLite moves SQLite's write-ahead log into the database file and
// truncates it, so that rows deleted with secure_delete=ON leave no copy in
// any file. privkit's backends call it after shredding and erasure; hosts
// call it after deletions of their own. It is a no-op on PostgreSQL.
func CheckpointSQLite(ctx context.Context, db *sql.DB) error {
	w, err := sqldb.Wrap(ctx, db)
	if err != nil {
		return err
	}
	return w.CheckpointTruncate(ctx)
}
