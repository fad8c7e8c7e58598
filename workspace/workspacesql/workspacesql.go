// Package workspacesql stores workspace records in SQLite or PostgreSQL.
//
// It implements [workspace.Store] over a *sql.DB opened with
// privkit.OpenSQLite (the embedded default, one file per host) or
// privkit.OpenPostgres (records shared by a fleet of service instances).
// Its one table, workspace_workspaces, holds per workspace only the user's
// pseudonym, opaque IDs, the node name and times: file names and sizes live
// in each workspace's encrypted manifest on its node's disk, never here.
//
// Several managers may share one PostgreSQL database: Put is a
// read-modify-write in a transaction holding the row lock, so racing
// creators agree on one workspace and last-activity times never move
// backwards.
//
// # What deletion leaves
//
// On SQLite (secure_delete=ON), Delete overwrites the row and truncates the
// write-ahead log, so a deleted record leaves no copy in the database files.
// PostgreSQL keeps dead row versions until VACUUM reclaims them and WAL
// segments until they are recycled; what remains is the user's pseudonym,
// the opaque workspace ID, the node name and times — never a file name or
// content — and autovacuum removes it in the ordinary course.
package workspacesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/workspace"
)

var migrations = []sqldb.Migration{{
	Version: 1,
	SQL: `CREATE TABLE IF NOT EXISTS workspace_workspaces (
	user_id TEXT NOT NULL PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	node TEXT NOT NULL,
	created_ns BIGINT NOT NULL,
	active_ns BIGINT NOT NULL,
	oldest_ns BIGINT NOT NULL,
	deleting INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS workspace_workspaces_node ON workspace_workspaces (node);`,
}}

// Store is a [workspace.Store] in SQL. It is safe for concurrent use, also
// by several processes sharing the database.
type Store struct {
	db *sqldb.DB
}

var _ workspace.Store = (*Store)(nil)

// New returns a Store over db, creating or migrating its table. db comes
// from privkit.OpenSQLite or privkit.OpenPostgres; it may be shared with
// other privkit backends. The caller keeps ownership of db.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	w, err := sqldb.Wrap(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("workspacesql: %w", err)
	}
	if err := sqldb.Migrate(ctx, w, "workspace", migrations); err != nil {
		return nil, fmt.Errorf("workspacesql: %w", err)
	}
	return &Store{db: w}, nil
}

func toNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

const columns = "user_id, id, node, created_ns, active_ns, oldest_ns, deleting"

type scanner interface{ Scan(...any) error }

func scan(row scanner) (workspace.Record, error) {
	var r workspace.Record
	var created, active, oldest, deleting int64
	if err := row.Scan(&r.User, &r.ID, &r.Node, &created, &active, &oldest, &deleting); err != nil {
		return workspace.Record{}, err
	}
	r.Created, r.LastActive, r.OldestFile, r.Deleting = fromNS(created), fromNS(active), fromNS(oldest), deleting != 0
	return r, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Get implements [workspace.Store].
func (s *Store) Get(ctx context.Context, user string) (workspace.Record, error) {
	r, err := scan(s.db.QueryRow(ctx, "SELECT "+columns+" FROM workspace_workspaces WHERE user_id = ?", user))
	if errors.Is(err, sql.ErrNoRows) {
		return workspace.Record{}, workspace.ErrNotFound
	}
	if err != nil {
		return workspace.Record{}, fmt.Errorf("workspacesql: get: %w", err)
	}
	return r, nil
}

// Put implements [workspace.Store].
func (s *Store) Put(ctx context.Context, rec workspace.Record) (workspace.Record, error) {
	var out workspace.Record
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		sel := "SELECT " + columns + " FROM workspace_workspaces WHERE user_id = ?" + tx.Dialect.ForUpdate()
		cur, err := scan(tx.QueryRow(ctx, sel, rec.User))
		if errors.Is(err, sql.ErrNoRows) {
			res, xerr := tx.Exec(ctx, "INSERT INTO workspace_workspaces ("+columns+") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
				rec.User, rec.ID, rec.Node, toNS(rec.Created), toNS(rec.LastActive), toNS(rec.OldestFile), boolInt(rec.Deleting))
			if xerr != nil {
				return xerr
			}
			if n, nerr := res.RowsAffected(); nerr == nil && n == 1 {
				out = rec
				return nil
			}
			// Another creator won the race (PostgreSQL: its insert
			// committed while ours waited); report its record, which this
			// statement's fresh snapshot sees.
			cur, err = scan(tx.QueryRow(ctx, sel, rec.User))
			if errors.Is(err, sql.ErrNoRows) {
				return errors.New("workspace ID already in use")
			}
		}
		if err != nil {
			return err
		}
		if cur.ID != rec.ID {
			out = cur
			return nil
		}
		out = workspace.MergeRecord(cur, rec)
		_, err = tx.Exec(ctx, "UPDATE workspace_workspaces SET node = ?, active_ns = ?, oldest_ns = ?, deleting = ? WHERE user_id = ? AND id = ?",
			out.Node, toNS(out.LastActive), toNS(out.OldestFile), boolInt(out.Deleting), out.User, out.ID)
		return err
	})
	if err != nil {
		return workspace.Record{}, fmt.Errorf("workspacesql: put: %w", err)
	}
	return out, nil
}

// Delete implements [workspace.Store]. On SQLite it then truncates the
// write-ahead log, so the deleted row leaves no copy in any file.
func (s *Store) Delete(ctx context.Context, user, id string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM workspace_workspaces WHERE user_id = ? AND id = ?", user, id); err != nil {
		return fmt.Errorf("workspacesql: delete: %w", err)
	}
	// A busy database keeps the log until the next checkpoint; the
	// deletion itself has committed, so a failed checkpoint is no error.
	_ = s.db.CheckpointTruncate(ctx)
	return nil
}

// List implements [workspace.Store].
func (s *Store) List(ctx context.Context, node string) ([]workspace.Record, error) {
	rows, err := s.db.Query(ctx, "SELECT "+columns+" FROM workspace_workspaces WHERE node = ? ORDER BY id", node)
	if err != nil {
		return nil, fmt.Errorf("workspacesql: list: %w", err)
	}
	defer rows.Close()
	var out []workspace.Record
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("workspacesql: list: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("workspacesql: list: %w", err)
	}
	return out, nil
}
