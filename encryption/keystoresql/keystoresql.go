package keystoresql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/internal/sqldb"
)

// Store is an [encryption.KeyStore] and [encryption.KeyLister] in a SQL
// database. It is safe for concurrent use, also by many processes sharing
// one PostgreSQL database.
type Store struct {
	db    *sqldb.DB
	now   func() time.Time
	watch *sqldb.Watchers
}

var (
	_ encryption.KeyStore   = (*Store)(nil)
	_ encryption.KeyLister  = (*Store)(nil)
	_ encryption.KeyWatcher = (*Store)(nil)
)

// Channel is the PostgreSQL notification channel on which a Store announces
// changed keysets; the payload is the source ID.
const Channel = "privkit_keys"

// Options configure a [Store]. A nil *Options means all defaults.
type Options struct {
	// Now stamps tombstones with the time of the shred; nil means time.Now.
	Now func() time.Time
}

const component = "encryption/keystoresql"

var migrations = []sqldb.Migration{
	{
		Version: 1,
		SQL: `CREATE TABLE IF NOT EXISTS encryption_keysets (
	source_id TEXT NOT NULL PRIMARY KEY,
	version INTEGER NOT NULL,
	wrapped BLOB,
	shredded_at INTEGER
);`,
		// COLLATE "C": source IDs order by bytes, as KeyLister promises.
		Postgres: `CREATE TABLE IF NOT EXISTS encryption_keysets (
	source_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	version BIGINT NOT NULL,
	wrapped BYTEA,
	shredded_at BIGINT
);`,
	},
}

// New returns a Store over db, a handle from privkit.OpenSQLite or
// privkit.OpenPostgres, creating or upgrading its table.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	return NewWithOptions(ctx, db, nil)
}

// NewWithOptions is [New] with options; opts may be nil.
func NewWithOptions(ctx context.Context, db *sql.DB, opts *Options) (*Store, error) {
	w, err := sqldb.Wrap(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("keystoresql: %w", err)
	}
	if err := sqldb.Migrate(ctx, w, component, migrations); err != nil {
		return nil, fmt.Errorf("keystoresql: %w", err)
	}
	if opts == nil {
		opts = &Options{}
	}
	return &Store{db: w, now: clock.NowFunc(opts.Now), watch: sqldb.NewWatchers(w, Channel)}, nil
}

// Get implements [encryption.KeyStore].
func (s *Store) Get(ctx context.Context, sourceID string) ([]byte, int64, error) {
	var version int64
	var wrapped []byte
	var shredded sql.NullInt64
	err := s.db.QueryRow(ctx, "SELECT version, wrapped, shredded_at FROM encryption_keysets WHERE source_id = ?", sourceID).
		Scan(&version, &wrapped, &shredded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, 0, encryption.ErrUnknownSource
	case err != nil:
		return nil, 0, fmt.Errorf("keystoresql: get: %w", err)
	case shredded.Valid:
		return nil, 0, encryption.ErrShredded
	case len(wrapped) == 0:
		return nil, 0, errors.New("keystoresql: get: live row without a keyset")
	}
	return wrapped, version, nil
}

// Put implements [encryption.KeyStore].
func (s *Store) Put(ctx context.Context, sourceID string, prev int64, wrapped []byte) error {
	if len(wrapped) == 0 {
		return errors.New("keystoresql: put: empty keyset")
	}
	var n int64
	var err error
	if prev == 0 {
		var res sql.Result
		res, err = s.db.Exec(ctx, `INSERT INTO encryption_keysets (source_id, version, wrapped) VALUES (?, 1, ?)
			ON CONFLICT (source_id) DO NOTHING`, sourceID, wrapped)
		if err == nil {
			n, err = res.RowsAffected()
		}
	} else {
		// A changed keyset is announced to other instances at commit.
		err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			res, err := tx.Exec(ctx, `UPDATE encryption_keysets SET wrapped = ?, version = version + 1
			WHERE source_id = ? AND version = ? AND shredded_at IS NULL`, wrapped, sourceID, prev)
			if err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil || n != 1 {
				return err
			}
			return s.watch.NotifyTx(ctx, tx, sourceID)
		})
	}
	if err != nil {
		return fmt.Errorf("keystoresql: put: %w", err)
	}
	if n == 1 {
		if prev != 0 {
			s.watch.Notify(sourceID)
		}
		return nil
	}
	// Lost: tell a shredded source from a concurrent writer.
	var shredded sql.NullInt64
	err = s.db.QueryRow(ctx, "SELECT shredded_at FROM encryption_keysets WHERE source_id = ?", sourceID).Scan(&shredded)
	switch {
	case err == nil && shredded.Valid:
		return encryption.ErrShredded
	case err == nil || errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: stored version is not %d", encryption.ErrConflict, prev)
	default:
		return fmt.Errorf("keystoresql: put: %w", err)
	}
}

// Shred implements [encryption.KeyStore]. It deletes the row and writes a
// tombstone in one transaction, then on SQLite checkpoints and truncates the
// write-ahead log, and on PostgreSQL vacuums the table. If that last step
// fails, the shred has taken effect but its traces may remain: Shred
// returns the error, and calling it again retries the cleanup.
func (s *Store) Shred(ctx context.Context, sourceID string) error {
	at := s.now().UnixNano()
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM encryption_keysets WHERE source_id = ?", sourceID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO encryption_keysets (source_id, version, wrapped, shredded_at) VALUES (?, 0, NULL, ?)
			ON CONFLICT (source_id) DO UPDATE SET wrapped = NULL, version = 0,
				shredded_at = COALESCE(encryption_keysets.shredded_at, excluded.shredded_at)`, sourceID, at)
		if err != nil {
			return err
		}
		return s.watch.NotifyTx(ctx, tx, sourceID)
	})
	if err != nil {
		return fmt.Errorf("keystoresql: shred: %w", err)
	}
	s.watch.Notify(sourceID)
	switch s.db.Dialect {
	case sqldb.SQLite:
		if err := s.db.CheckpointTruncate(ctx); err != nil {
			return fmt.Errorf("keystoresql: shred recorded, but the write-ahead log still holds the keyset: %w", err)
		}
	case sqldb.Postgres:
		if _, err := s.db.Exec(ctx, "VACUUM encryption_keysets"); err != nil {
			return fmt.Errorf("keystoresql: shred recorded, but VACUUM failed: %w", err)
		}
	}
	return nil
}

// List implements [encryption.KeyLister].
func (s *Store) List(ctx context.Context, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT source_id FROM encryption_keysets
		WHERE shredded_at IS NULL AND source_id > ? ORDER BY source_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("keystoresql: list: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("keystoresql: list: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keystoresql: list: %w", err)
	}
	return ids, nil
}

// Watch implements [encryption.KeyWatcher]: fn hears of every keyset
// changed (rotated, rewrapped, shredded) through this Store before the call
// returns, and on PostgreSQL of those changed by any instance as soon as
// the notification arrives, through a dedicated listening connection that
// runs while anyone watches (fn("") after that connection was lost).
func (s *Store) Watch(fn func(sourceID string)) (stop func()) {
	return s.watch.Watch(fn)
}

// WaitListening blocks until the PostgreSQL listener has subscribed (or ctx
// ends). It returns at once on SQLite or when nothing is watched. Low-level:
// for tests that must not race the first notification.
func (s *Store) WaitListening(ctx context.Context) error {
	return s.watch.WaitListening(ctx)
}
