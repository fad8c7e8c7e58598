// Package auditsql keeps an audit log in SQL: SQLite, the embedded default
// (one file per host), or PostgreSQL, shared by many service instances.
//
// [New] takes a plain *sql.DB opened with privkit.OpenSQLite or
// privkit.OpenPostgres, applies its migrations, and returns a [*Store] for
// [audit.Open]:
//
//	db, err := privkit.OpenSQLite(ctx, "/var/lib/svc/privkit.db")
//	store, err := auditsql.New(ctx, db)
//	log, err := audit.Open(ctx, store, signer, nil)
//
// One database holds one audit log, in tables prefixed audit_ beside the
// other privkit backends' tables.
//
// # Durability and sequencing
//
// Each [audit.Log] batch is one transaction: the entries, their tree hashes
// and the new size commit together or not at all. SQLite runs with
// synchronous=FULL, so a committed batch survives power loss. Every batch
// first locks the single head row (SELECT … FOR UPDATE on PostgreSQL; the
// write transaction begins IMMEDIATE on SQLite), so processes sharing a
// PostgreSQL database append through one sequencer and build one chain and
// one tree.
//
// Entries are indexed by subject, actor and resource (each with the index,
// for paging) and by time, so that [audit.Log.Query] and retention never
// scan the log. Index maintenance is most of the CPU an append costs.
//
// On SQLite each append transaction sets PRAGMA temp_store = MEMORY on its
// connection, so the statement journal of a batch never goes to a
// temporary file.
//
// # Retention
//
// [Store.Strip] nulls an entry's leaf bytes and identity columns and keeps
// its tree hashes. On SQLite, secure_delete overwrites the freed bytes and
// the write-ahead log is checkpointed and truncated afterwards. PostgreSQL
// keeps the old row versions until VACUUM reclaims them (autovacuum, or run
// VACUUM audit_entries after a large strip) and in its WAL until recycled.
package auditsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/sqldb"
)

var migrations = []sqldb.Migration{{
	Version: 1,
	SQL: `CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	size INTEGER NOT NULL
);
INSERT INTO audit_head (id, size) VALUES (1, 0);
CREATE TABLE audit_entries (
	seq INTEGER PRIMARY KEY,
	data BLOB,
	hashes BLOB NOT NULL,
	time_ns INTEGER NOT NULL,
	actor TEXT,
	subject TEXT,
	resource TEXT,
	action TEXT
);
CREATE INDEX audit_entries_subject ON audit_entries (subject, seq);
CREATE INDEX audit_entries_actor ON audit_entries (actor, seq);
CREATE INDEX audit_entries_resource ON audit_entries (resource, seq);
CREATE INDEX audit_entries_time ON audit_entries (time_ns);
CREATE TABLE audit_checkpoints (
	size INTEGER PRIMARY KEY,
	note BLOB NOT NULL
);`,
	Postgres: `CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	size BIGINT NOT NULL
);
INSERT INTO audit_head (id, size) VALUES (1, 0);
CREATE TABLE audit_entries (
	seq BIGINT PRIMARY KEY,
	data BYTEA,
	hashes BYTEA NOT NULL,
	time_ns BIGINT NOT NULL,
	actor TEXT,
	subject TEXT,
	resource TEXT,
	action TEXT
);
CREATE INDEX audit_entries_subject ON audit_entries (subject, seq);
CREATE INDEX audit_entries_actor ON audit_entries (actor, seq);
CREATE INDEX audit_entries_resource ON audit_entries (resource, seq);
CREATE INDEX audit_entries_time ON audit_entries (time_ns);
CREATE TABLE audit_checkpoints (
	size BIGINT PRIMARY KEY,
	note BYTEA NOT NULL
);`,
}}

// Store is an [audit.Store] in a SQL database. It also implements
// [audit.CheckpointStore], [audit.SearchStore] and [audit.StripStore]. It
// is safe for concurrent use, and several Stores (in one process or many)
// may share one database. Use [New].
type Store struct {
	db *sqldb.DB

	mu      sync.Mutex
	inserts [9]*sql.Stmt // INSERTs of 1, 2, 4, … 256 rows, prepared lazily
}

var (
	_ audit.Store           = (*Store)(nil)
	_ audit.CheckpointStore = (*Store)(nil)
	_ audit.SearchStore     = (*Store)(nil)
	_ audit.StripStore      = (*Store)(nil)
)

// New returns a store over db, creating or upgrading its tables. db must
// come from privkit.OpenSQLite or privkit.OpenPostgres (or be opened with
// the same drivers and settings). The caller keeps ownership of db.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	w, err := sqldb.Wrap(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("auditsql: %w", err)
	}
	if err := sqldb.Migrate(ctx, w, "audit", migrations); err != nil {
		return nil, fmt.Errorf("auditsql: %w", err)
	}
	return &Store{db: w}, nil
}

// rowsPerInsert bounds the rows of one multi-row INSERT (8 parameters a row;
// SQLite allows 32766 parameters). It is a power of two.
const rowsPerInsert = 256

// insertStmt returns the prepared INSERT of n rows (n a power of two).
func (s *Store) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	k := bits.Len(uint(n)) - 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.inserts[k]; st != nil {
		return st, nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO audit_entries (seq, data, hashes, time_ns, actor, subject, resource, action) VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?,?,?)")
	}
	st, err := s.db.DB.PrepareContext(ctx, s.db.Dialect.Rebind(q.String()))
	if err != nil {
		return nil, fmt.Errorf("auditsql: prepare insert: %w", err)
	}
	s.inserts[k] = st
	return st, nil
}

// Append implements [audit.Store].
func (s *Store) Append(ctx context.Context, fn audit.AppendFunc) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var size int64
		if err := tx.QueryRow(ctx, "SELECT size FROM audit_head WHERE id = 1"+s.db.Dialect.ForUpdate()).Scan(&size); err != nil {
			return fmt.Errorf("auditsql: read head: %w", err)
		}
		if size < 0 {
			return errors.New("auditsql: corrupt head row")
		}
		if s.db.Dialect == sqldb.SQLite {
			// A multi-row INSERT keeps a statement journal; in memory it
			// costs no temporary file and leaves no entry bytes in one.
			if _, err := tx.Exec(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
				return fmt.Errorf("auditsql: %w", err)
			}
		}
		recs, err := fn(uint64(size), hashReader{ctx, tx})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		args := make([]any, 0, 8*min(len(recs), rowsPerInsert))
		for start := 0; start < len(recs); {
			// Insert in chunks of a power of two rows, each a statement
			// prepared once per connection.
			n := 1 << (bits.Len(uint(min(len(recs)-start, rowsPerInsert))) - 1)
			chunk := recs[start : start+n]
			args = args[:0]
			for i := range chunk {
				r := &chunk[i]
				if r.Index != uint64(size)+uint64(start+i) || len(r.Hashes) == 0 {
					return fmt.Errorf("auditsql: record %d does not follow size %d", r.Index, size)
				}
				args = append(args, int64(r.Index), r.Data, packHashes(r.Hashes), r.Time.UnixNano(),
					nullable(r.Actor), nullable(r.Subject), nullable(r.Resource), nullable(r.Action))
			}
			stmt, err := s.insertStmt(ctx, n)
			if err != nil {
				return err
			}
			if _, err := tx.Tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("auditsql: insert entries: %w", err)
			}
			start += n
		}
		if _, err := tx.Exec(ctx, "UPDATE audit_head SET size = ? WHERE id = 1", size+int64(len(recs))); err != nil {
			return fmt.Errorf("auditsql: update head: %w", err)
		}
		return nil
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func packHashes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

func unpackHashes(b []byte) ([]tlog.Hash, error) {
	if len(b) == 0 || len(b)%tlog.HashSize != 0 {
		return nil, fmt.Errorf("auditsql: corrupt hashes column (%d bytes)", len(b))
	}
	hs := make([]tlog.Hash, len(b)/tlog.HashSize)
	for i := range hs {
		copy(hs[i][:], b[i*tlog.HashSize:])
	}
	return hs, nil
}

type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// hashReader reads stored hashes inside an append transaction.
type hashReader struct {
	ctx context.Context
	q   querier
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return readHashes(r.ctx, r.q, indexes)
}

// ReadHashes implements [audit.Store]. The hashes of tree level L, index k
// live in the row of entry (k+1)·2^L − 1, at position L of its hashes.
func (s *Store) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return readHashes(ctx, s.db, indexes)
}

func readHashes(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	type loc struct {
		row   int64
		level int
	}
	locs := make([]loc, len(indexes))
	rows := make(map[int64][]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 {
			return nil, fmt.Errorf("auditsql: negative hash index %d", x)
		}
		level, k := tlog.SplitStoredHashIndex(x)
		if level > 62 || k >= 1<<(62-level) {
			return nil, fmt.Errorf("auditsql: hash index %d out of range", x)
		}
		locs[i] = loc{(k+1)<<level - 1, level}
		rows[locs[i].row] = nil
	}
	keys := make([]int64, 0, len(rows))
	for r := range rows {
		keys = append(keys, r)
	}
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		rs, err := q.Query(ctx, "SELECT seq, hashes FROM audit_entries WHERE seq IN (?"+strings.Repeat(",?", len(chunk)-1)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("auditsql: read hashes: %w", err)
		}
		for rs.Next() {
			var seq int64
			var b []byte
			if err := rs.Scan(&seq, &b); err != nil {
				rs.Close()
				return nil, fmt.Errorf("auditsql: read hashes: %w", err)
			}
			hs, err := unpackHashes(b)
			if err != nil {
				rs.Close()
				return nil, err
			}
			rows[seq] = hs
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return nil, fmt.Errorf("auditsql: read hashes: %w", err)
		}
	}
	out := make([]tlog.Hash, len(indexes))
	for i, l := range locs {
		hs := rows[l.row]
		if l.level >= len(hs) {
			return nil, fmt.Errorf("auditsql: hash %d missing", indexes[i])
		}
		out[i] = hs[l.level]
	}
	return out, nil
}

// Size implements [audit.Store].
func (s *Store) Size(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.db.QueryRow(ctx, "SELECT size FROM audit_head WHERE id = 1").Scan(&n); err != nil {
		return 0, fmt.Errorf("auditsql: read size: %w", err)
	}
	if n < 0 {
		return 0, errors.New("auditsql: corrupt head row")
	}
	return uint64(n), nil
}

const recordColumns = "seq, data, hashes, time_ns, actor, subject, resource, action"

// ReadRecords implements [audit.Store].
func (s *Store) ReadRecords(ctx context.Context, start, end uint64) ([]audit.Record, error) {
	if start >= end || start >= 1<<63 {
		return nil, nil
	}
	end = min(end, 1<<63-1)
	return s.records(ctx, "SELECT "+recordColumns+" FROM audit_entries WHERE seq >= ? AND seq < ? ORDER BY seq", int64(start), int64(end))
}

func (s *Store) records(ctx context.Context, q string, args ...any) ([]audit.Record, error) {
	rs, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("auditsql: read entries: %w", err)
	}
	defer rs.Close()
	var out []audit.Record
	for rs.Next() {
		var r audit.Record
		var seq, ns int64
		var hashes []byte
		var actor, subject, resource, action sql.NullString
		if err := rs.Scan(&seq, &r.Data, &hashes, &ns, &actor, &subject, &resource, &action); err != nil {
			return nil, fmt.Errorf("auditsql: read entries: %w", err)
		}
		if seq < 0 {
			return nil, fmt.Errorf("auditsql: corrupt row: negative index")
		}
		r.Index = uint64(seq)
		if r.Hashes, err = unpackHashes(hashes); err != nil {
			return nil, fmt.Errorf("auditsql: entry %d: %w", seq, err)
		}
		r.Time = time.Unix(0, ns).UTC()
		r.Actor, r.Subject, r.Resource, r.Action = actor.String, subject.String, resource.String, action.String
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("auditsql: read entries: %w", err)
	}
	return out, nil
}

// Search implements [audit.SearchStore].
func (s *Store) Search(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	if f.Start >= 1<<63 {
		return nil, nil
	}
	q := "SELECT " + recordColumns + " FROM audit_entries WHERE data IS NOT NULL AND seq >= ?"
	args := []any{int64(f.Start)}
	for _, c := range []struct{ col, v string }{{"subject", f.Subject}, {"actor", f.Actor}, {"resource", f.Resource}, {"action", f.Action}} {
		if c.v != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		q += " AND time_ns >= ?"
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		q += " AND time_ns < ?"
		args = append(args, f.Until.UnixNano())
	}
	q += " ORDER BY seq LIMIT ?"
	args = append(args, max(f.Limit, 1))
	return s.records(ctx, q, args...)
}

// Strip implements [audit.StripStore].
func (s *Store) Strip(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.Exec(ctx, "UPDATE audit_entries SET data = NULL, actor = NULL, subject = NULL, resource = NULL, action = NULL WHERE time_ns < ? AND data IS NOT NULL", cutoff.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("auditsql: strip: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("auditsql: strip: %w", err)
	}
	if n > 0 {
		// Readers can keep the WAL busy for a moment; retry briefly.
		var err error
		for attempt := range 5 {
			if err = s.db.CheckpointTruncate(ctx); err == nil {
				break
			}
			t := time.NewTimer(time.Duration(attempt+1) * 20 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return int(n), fmt.Errorf("auditsql: stripped %d entries but could not truncate the WAL: %w", n, ctx.Err())
			case <-t.C:
			}
		}
		if err != nil {
			return int(n), fmt.Errorf("auditsql: stripped %d entries but could not truncate the WAL: %w", n, err)
		}
	}
	return int(n), nil
}

// SaveCheckpoint implements [audit.CheckpointStore].
func (s *Store) SaveCheckpoint(ctx context.Context, size uint64, note []byte) error {
	if size >= 1<<63 {
		return errors.New("auditsql: checkpoint size out of range")
	}
	if _, err := s.db.Exec(ctx, "INSERT INTO audit_checkpoints (size, note) VALUES (?, ?) ON CONFLICT (size) DO NOTHING", int64(size), note); err != nil {
		return fmt.Errorf("auditsql: save checkpoint: %w", err)
	}
	return nil
}

// LatestCheckpoint implements [audit.CheckpointStore].
func (s *Store) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	err := s.db.QueryRow(ctx, "SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1").Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auditsql: latest checkpoint: %w", err)
	}
	return note, nil
}
