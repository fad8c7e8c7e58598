// Package consentsql is a [consent.Store] over SQLite or PostgreSQL.
//
// Decisions go to an append-only table, consent_decisions, numbered by a
// store-wide sequence that a one-row counter (consent_head) hands out inside
// the appending transaction: the counter's row lock makes sequence numbers
// follow commit order, which is what lets a [consent.Manager] catch up with
// other instances by reading "everything after the last number I saw". A
// second table, consent_current, is the current-state view: one row per
// (subject, purpose) holding the decision that wins by the precedence rule
// of [consent.Decision] (latest decision time, then sequence).
//
// On PostgreSQL each append also sends a notification (channel
// privkit_consent, payload the subject pseudonym) and the Store's [Watcher]
// listens on a dedicated connection, so Managers of other instances drop a
// changed subject from their caches within milliseconds; their staleness
// bound ([consent.Options].MaxStaleness) covers lost notifications. On
// SQLite only in-process writers through the same *Store are pushed.
//
// Use [New] with a *sql.DB from privkit.OpenSQLite or privkit.OpenPostgres.
// Tables are prefixed consent_ so that other privkit backends can share the
// database. Times are stored as UTC nanoseconds, IP addresses only as the
// Manager truncated them. The Store never updates or deletes a decision:
// consent records are the proof a controller must be able to show, and
// erasing them (if a host's policy asks for it) is a deliberate SQL
// statement of the host's, followed by privkit.CheckpointSQLite on SQLite.
package consentsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/internal/sqldb"
)

// Channel is the PostgreSQL notification channel of new decisions.
const Channel = "privkit_consent"

var migrations = []sqldb.Migration{{
	Version: 1,
	SQL: `CREATE TABLE consent_head (
	id INTEGER PRIMARY KEY,
	seq BIGINT NOT NULL
);
INSERT INTO consent_head (id, seq) VALUES (1, 0);
CREATE TABLE consent_decisions (
	seq BIGINT PRIMARY KEY,
	subject TEXT NOT NULL,
	purpose TEXT NOT NULL,
	granted INTEGER NOT NULL,
	notice_version INTEGER NOT NULL,
	language TEXT NOT NULL,
	method TEXT NOT NULL,
	region TEXT NOT NULL,
	decided_at BIGINT NOT NULL,
	ip TEXT NOT NULL
);
CREATE INDEX consent_decisions_subject ON consent_decisions (subject, seq);
CREATE TABLE consent_current (
	subject TEXT NOT NULL,
	purpose TEXT NOT NULL,
	seq BIGINT NOT NULL,
	decided_at BIGINT NOT NULL,
	granted INTEGER NOT NULL,
	PRIMARY KEY (subject, purpose)
);`,
}}

// Store is a [consent.Store] over a SQL database. It is safe for concurrent
// use. Close it to stop its PostgreSQL listener, if any.
type Store struct {
	db *sqldb.DB

	watch *sqldb.Watchers

	mu     sync.Mutex
	closed bool
}

var (
	_ consent.Store   = (*Store)(nil)
	_ consent.Watcher = (*Store)(nil)
)

// ErrClosed reports a call on a closed Store.
var ErrClosed = errors.New("consentsql: store closed")

// New returns a Store over db (SQLite from privkit.OpenSQLite, or
// PostgreSQL), creating or migrating its tables.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	w, err := sqldb.Wrap(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("consentsql: %w", err)
	}
	if err := sqldb.Migrate(ctx, w, "consent", migrations); err != nil {
		return nil, fmt.Errorf("consentsql: %w", err)
	}
	return &Store{db: w, watch: sqldb.NewWatchers(w, Channel)}, nil
}

const cols = "seq, subject, purpose, granted, notice_version, language, method, region, decided_at, ip"

// Append implements [consent.Store].
func (s *Store) Append(ctx context.Context, d consent.Decision) (consent.Decision, error) {
	if s.isClosed() {
		return consent.Decision{}, ErrClosed
	}
	at := d.Time.UTC().UnixNano()
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// The counter row stays locked until commit, so sequence numbers
		// are handed out in commit order.
		if err := tx.QueryRow(ctx, "UPDATE consent_head SET seq = seq + 1 WHERE id = 1 RETURNING seq").Scan(&d.Seq); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO consent_decisions ("+cols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			d.Seq, d.Subject, d.Purpose, b2i(d.Granted), d.NoticeVersion, d.Language, string(d.Method), d.Region, at, d.IP); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO consent_current (subject, purpose, seq, decided_at, granted) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (subject, purpose) DO UPDATE SET seq = excluded.seq, decided_at = excluded.decided_at, granted = excluded.granted
WHERE excluded.decided_at > consent_current.decided_at
   OR (excluded.decided_at = consent_current.decided_at AND excluded.seq > consent_current.seq)`,
			d.Subject, d.Purpose, d.Seq, at, b2i(d.Granted)); err != nil {
			return err
		}
		// A subject too long for NOTIFY goes as "": listeners resync.
		return s.watch.NotifyTx(ctx, tx, d.Subject)
	})
	if err != nil {
		return consent.Decision{}, fmt.Errorf("consentsql: append: %w", err)
	}
	d.Time = time.Unix(0, at).UTC()
	s.watch.Notify(d.Subject)
	return d, nil
}

// History implements [consent.Store].
func (s *Store) History(ctx context.Context, subject string) ([]consent.Decision, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.db.Query(ctx, "SELECT "+cols+" FROM consent_decisions WHERE subject = ? ORDER BY seq", subject)
	if err != nil {
		return nil, fmt.Errorf("consentsql: history: %w", err)
	}
	return scanAll(rows, "history")
}

// Changes implements [consent.Store].
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]consent.Decision, int64, error) {
	if s.isClosed() {
		return nil, 0, ErrClosed
	}
	var head int64
	if err := s.db.QueryRow(ctx, "SELECT seq FROM consent_head WHERE id = 1").Scan(&head); err != nil {
		return nil, 0, fmt.Errorf("consentsql: changes: %w", err)
	}
	if limit <= 0 || after >= head {
		return nil, head, nil
	}
	// Rows up to head only: a row committed after the head was read would
	// otherwise slip in with a head that does not cover it.
	rows, err := s.db.Query(ctx, "SELECT "+cols+" FROM consent_decisions WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?", after, head, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("consentsql: changes: %w", err)
	}
	ds, err := scanAll(rows, "changes")
	return ds, head, err
}

// Current returns the subject's current-state view: for each purpose with
// a decision, the decision that wins by precedence, ordered by purpose.
func (s *Store) Current(ctx context.Context, subject string) ([]consent.Decision, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.db.Query(ctx, `SELECT d.seq, d.subject, d.purpose, d.granted, d.notice_version, d.language, d.method, d.region, d.decided_at, d.ip
FROM consent_current c JOIN consent_decisions d ON d.seq = c.seq
WHERE c.subject = ? ORDER BY c.purpose`, subject)
	if err != nil {
		return nil, fmt.Errorf("consentsql: current: %w", err)
	}
	return scanAll(rows, "current")
}

func scanAll(rows *sql.Rows, op string) ([]consent.Decision, error) {
	defer rows.Close()
	out := []consent.Decision{}
	for rows.Next() {
		var d consent.Decision
		var granted int
		var method string
		var at int64
		if err := rows.Scan(&d.Seq, &d.Subject, &d.Purpose, &granted, &d.NoticeVersion, &d.Language, &method, &d.Region, &at, &d.IP); err != nil {
			return nil, fmt.Errorf("consentsql: %s: %w", op, err)
		}
		d.Granted, d.Method, d.Time = granted != 0, consent.Method(method), time.Unix(0, at).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consentsql: %s: %w", op, err)
	}
	return out, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the PostgreSQL listener and makes later calls fail with
// [ErrClosed]. It does not close the *sql.DB. It is safe to call more than
// once.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.watch.Close()
	return nil
}
