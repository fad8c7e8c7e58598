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
// Searches by subject, actor, resource or time, and retention, never scan
// the log (a filter on the action alone reads entries in order from its
// start), yet an append maintains no per-entry index: each batch adds one
// row to audit_batches (its first and last index, the range of its event
// times, and the earliest time among its unstripped entries) and one
// posting to audit_terms per subject, actor and resource its entries name
// (the term, the batch, and the entries' indexes as varint gaps).
// [Store.Search] follows the postings of a subject, actor or resource, or
// the batches whose time range meets a time-only filter; [Store.Strip]
// visits only the batches holding entries older than the cutoff and
// rewrites their postings. Event times come from callers and need not grow
// with the index: a batch with an outlying time is merely read by more
// time searches.
//
// A row of audit_entries is the index, the leaf, its tree hashes and the
// event time; searches read the other fields from the leaf.
//
// On SQLite each append transaction sets PRAGMA temp_store = MEMORY on its
// connection, so the statement journal of a batch never goes to a
// temporary file.
//
// # Retention
//
// [Store.Strip] nulls an entry's leaf bytes (the only place its actor,
// subject and resource are kept besides the postings), removes it from its
// batch's postings, and keeps its time and tree hashes. On SQLite,
// secure_delete overwrites the freed bytes and the write-ahead log is
// checkpointed and truncated afterwards. PostgreSQL keeps the old row
// versions until VACUUM reclaims them (autovacuum, or run VACUUM
// audit_entries, audit_terms after a large strip) and in its WAL until
// recycled.
package auditsql

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
}, {
	// Version 2 replaces the four per-entry indexes with one row per batch
	// (its index and time range) and one posting per identity and batch
	// (the batch's entries that name it): an append writes a few rows per
	// batch instead of four index entries per entry. Existing entries
	// become batches of one. The identity columns go: they are in the
	// leaf.
	Version: 2,
	SQL: `DROP INDEX audit_entries_subject;
DROP INDEX audit_entries_actor;
DROP INDEX audit_entries_resource;
DROP INDEX audit_entries_time;
CREATE TABLE audit_batches (
	first INTEGER PRIMARY KEY,
	last INTEGER NOT NULL,
	min_ns INTEGER NOT NULL,
	max_ns INTEGER NOT NULL,
	live_ns INTEGER
);
CREATE INDEX audit_batches_max ON audit_batches (max_ns);
CREATE INDEX audit_batches_live ON audit_batches (live_ns);
CREATE TABLE audit_terms (
	term TEXT NOT NULL,
	first INTEGER NOT NULL,
	seqs BLOB NOT NULL,
	PRIMARY KEY (term, first)
) WITHOUT ROWID;
INSERT INTO audit_batches (first, last, min_ns, max_ns, live_ns)
	SELECT seq, seq, time_ns, time_ns, CASE WHEN data IS NULL THEN NULL ELSE time_ns END FROM audit_entries;
INSERT INTO audit_terms (term, first, seqs)
	SELECT 's:' || subject, seq, x'00' FROM audit_entries WHERE subject IS NOT NULL AND data IS NOT NULL;
INSERT INTO audit_terms (term, first, seqs)
	SELECT 'a:' || actor, seq, x'00' FROM audit_entries WHERE actor IS NOT NULL AND data IS NOT NULL;
INSERT INTO audit_terms (term, first, seqs)
	SELECT 'r:' || resource, seq, x'00' FROM audit_entries WHERE resource IS NOT NULL AND data IS NOT NULL;
ALTER TABLE audit_entries DROP COLUMN actor;
ALTER TABLE audit_entries DROP COLUMN subject;
ALTER TABLE audit_entries DROP COLUMN resource;
ALTER TABLE audit_entries DROP COLUMN action;`,
	Postgres: `DROP INDEX audit_entries_subject;
DROP INDEX audit_entries_actor;
DROP INDEX audit_entries_resource;
DROP INDEX audit_entries_time;
CREATE TABLE audit_batches (
	first BIGINT PRIMARY KEY,
	last BIGINT NOT NULL,
	min_ns BIGINT NOT NULL,
	max_ns BIGINT NOT NULL,
	live_ns BIGINT
);
CREATE INDEX audit_batches_max ON audit_batches (max_ns);
CREATE INDEX audit_batches_live ON audit_batches (live_ns);
CREATE TABLE audit_terms (
	term TEXT NOT NULL,
	first BIGINT NOT NULL,
	seqs BYTEA NOT NULL,
	PRIMARY KEY (term, first)
);
INSERT INTO audit_batches (first, last, min_ns, max_ns, live_ns)
	SELECT seq, seq, time_ns, time_ns, CASE WHEN data IS NULL THEN NULL ELSE time_ns END FROM audit_entries;
INSERT INTO audit_terms (term, first, seqs)
	SELECT 's:' || subject, seq, decode('00', 'hex') FROM audit_entries WHERE subject IS NOT NULL AND data IS NOT NULL;
INSERT INTO audit_terms (term, first, seqs)
	SELECT 'a:' || actor, seq, decode('00', 'hex') FROM audit_entries WHERE actor IS NOT NULL AND data IS NOT NULL;
INSERT INTO audit_terms (term, first, seqs)
	SELECT 'r:' || resource, seq, decode('00', 'hex') FROM audit_entries WHERE resource IS NOT NULL AND data IS NOT NULL;
ALTER TABLE audit_entries DROP COLUMN actor;
ALTER TABLE audit_entries DROP COLUMN subject;
ALTER TABLE audit_entries DROP COLUMN resource;
ALTER TABLE audit_entries DROP COLUMN action;`,
}}

// Store is an [audit.Store] in a SQL database. It also implements
// [audit.CheckpointStore], [audit.SearchStore] and [audit.StripStore]. It
// is safe for concurrent use, and several Stores (in one process or many)
// may share one database. Use [New].
type Store struct {
	db *sqldb.DB

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt // prepared once, by query
	inserts map[insertKey]*sql.Stmt

	stripPerTx int // batches stripped per transaction; 0 means 256 (tests set it)
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

// maxRows bounds the rows of one multi-row INSERT. A batch of up to
// maxRows entries is one statement; each row count has its own statement,
// prepared once.
const maxRows = 64

type insertKey struct {
	table string
	rows  int
}

// insert inserts rows of len(cols) values each, given one after the other
// in args, with multi-row INSERTs of at most maxRows rows.
func (s *Store) insert(ctx context.Context, tx *sqldb.Tx, table string, cols []string, args []any) error {
	per := len(cols)
	for len(args) > 0 {
		n := min(len(args)/per, maxRows)
		key := insertKey{table, n}
		s.mu.Lock()
		st := s.inserts[key]
		s.mu.Unlock()
		if st == nil {
			var q strings.Builder
			q.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
			row := "(?" + strings.Repeat(",?", per-1) + ")"
			for i := range n {
				if i > 0 {
					q.WriteByte(',')
				}
				q.WriteString(row)
			}
			var err error
			if st, err = s.prepare(ctx, q.String()); err != nil {
				return err
			}
			s.mu.Lock()
			if s.inserts == nil {
				s.inserts = make(map[insertKey]*sql.Stmt)
			}
			if old := s.inserts[key]; old != nil {
				st.Close()
				st = old
			} else {
				s.inserts[key] = st
			}
			s.mu.Unlock()
		}
		if _, err := tx.Tx.StmtContext(ctx, st).ExecContext(ctx, args[:n*per]...); err != nil {
			return fmt.Errorf("auditsql: insert into %s: %w", table, err)
		}
		args = args[n*per:]
	}
	return nil
}

// prepare prepares q for the dialect.
func (s *Store) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	st, err := s.db.DB.PrepareContext(ctx, s.db.Dialect.Rebind(q))
	if err != nil {
		return nil, fmt.Errorf("auditsql: prepare: %w", err)
	}
	return st, nil
}

// stmt returns q prepared once (for the dialect) and bound to tx.
func (s *Store) stmt(ctx context.Context, tx *sqldb.Tx, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	st := s.stmts[q]
	if st == nil {
		var err error
		if st, err = s.prepare(ctx, q); err != nil {
			s.mu.Unlock()
			return nil, err
		}
		if s.stmts == nil {
			s.stmts = make(map[string]*sql.Stmt)
		}
		s.stmts[q] = st
	}
	s.mu.Unlock()
	return tx.Tx.StmtContext(ctx, st), nil
}

// Append implements [audit.Store].
func (s *Store) Append(ctx context.Context, fn audit.AppendFunc) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var size int64
		head, err := s.stmt(ctx, tx, "SELECT size FROM audit_head WHERE id = 1"+s.db.Dialect.ForUpdate())
		if err != nil {
			return err
		}
		if err := head.QueryRowContext(ctx).Scan(&size); err != nil {
			return fmt.Errorf("auditsql: read head: %w", err)
		}
		if size < 0 {
			return errors.New("auditsql: corrupt head row")
		}
		if s.db.Dialect == sqldb.SQLite {
			// A multi-row INSERT keeps a statement journal; in memory it
			// costs no temporary file and leaves no entry bytes in one.
			pragma, err := s.stmt(ctx, tx, "PRAGMA temp_store = MEMORY")
			if err != nil {
				return err
			}
			if _, err := pragma.ExecContext(ctx); err != nil {
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
		args := make([]any, 0, len(entryColumns)*len(recs))
		post := postings{first: size}
		minNs, maxNs := recs[0].Time.UnixNano(), recs[0].Time.UnixNano()
		for i := range recs {
			r := &recs[i]
			if r.Index != uint64(size)+uint64(i) || len(r.Hashes) == 0 || r.Data == nil {
				return fmt.Errorf("auditsql: record %d does not follow size %d", r.Index, size)
			}
			ns := r.Time.UnixNano()
			minNs, maxNs = min(minNs, ns), max(maxNs, ns)
			args = append(args, int64(r.Index), r.Data, packHashes(r.Hashes), ns)
			post.add(int64(r.Index), r.Subject, r.Actor, r.Resource)
		}
		if err := s.insert(ctx, tx, "audit_entries", entryColumns, args); err != nil {
			return err
		}
		if err := s.insert(ctx, tx, "audit_terms", termColumns, post.args()); err != nil {
			return err
		}
		last := size + int64(len(recs)) - 1
		if err := s.insert(ctx, tx, "audit_batches", batchColumns, []any{size, last, minNs, maxNs, minNs}); err != nil {
			return err
		}
		update, err := s.stmt(ctx, tx, "UPDATE audit_head SET size = ? WHERE id = 1")
		if err != nil {
			return err
		}
		if _, err := update.ExecContext(ctx, size+int64(len(recs))); err != nil {
			return fmt.Errorf("auditsql: update head: %w", err)
		}
		return nil
	})
}

var (
	entryColumns = []string{"seq", "data", "hashes", "time_ns"}
	termColumns  = []string{"term", "first", "seqs"}
	batchColumns = []string{"first", "last", "min_ns", "max_ns", "live_ns"}
)

// postings collects, for one batch, the entries that name each identity.
// A term is "s:" + subject, "a:" + actor or "r:" + resource; its posting
// lists the entries' indexes as uvarint gaps from the batch's first index.
type postings struct {
	first int64
	terms []string
	lists map[string][]byte
	prev  map[string]int64
}

func (p *postings) add(seq int64, subject, actor, resource string) {
	if p.lists == nil {
		p.lists, p.prev = make(map[string][]byte), make(map[string]int64)
	}
	for _, t := range [...]struct{ kind, v string }{{"s:", subject}, {"a:", actor}, {"r:", resource}} {
		if t.v == "" {
			continue
		}
		term := t.kind + t.v
		l, ok := p.lists[term]
		prev := p.first
		if ok {
			prev = p.prev[term]
		} else {
			p.terms = append(p.terms, term)
		}
		p.lists[term] = binary.AppendUvarint(l, uint64(seq-prev))
		p.prev[term] = seq
	}
}

func (p *postings) args() []any {
	args := make([]any, 0, 3*len(p.terms))
	for _, t := range p.terms {
		args = append(args, t, p.first, p.lists[t])
	}
	return args
}

// decodePosting returns the indexes of a posting of the batch at first.
func decodePosting(first int64, b []byte) ([]int64, error) {
	if first < 0 {
		return nil, errors.New("auditsql: corrupt posting")
	}
	var out []int64
	seq := first
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || d > math.MaxInt64-uint64(seq) || (len(out) > 0 && d == 0) {
			return nil, errors.New("auditsql: corrupt posting")
		}
		seq += int64(d)
		out = append(out, seq)
		b = b[n:]
	}
	return out, nil
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

const recordColumns = "seq, data, hashes, time_ns"

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
		if err := rs.Scan(&seq, &r.Data, &hashes, &ns); err != nil {
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
		if r.Data != nil {
			r.Actor, r.Action, r.Resource, r.Subject = leafIdentity(r.Data)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("auditsql: read entries: %w", err)
	}
	return out, nil
}

// Search implements [audit.SearchStore]. A filter with a subject, actor or
// resource reads that identity's postings; one with only a time range reads
// the batches whose time range meets it; any other reads entries in order.
func (s *Store) Search(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	if f.Start >= 1<<63 {
		return nil, nil
	}
	limit := max(f.Limit, 1)
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.Since.IsZero() {
		since = f.Since.UnixNano()
	}
	if !f.Until.IsZero() {
		until = f.Until.UnixNano()
	}
	// Rows are read with the time bounds in SQL and matched on the
	// identity fields, which live in the leaf, here.
	const when = " AND data IS NOT NULL AND time_ns >= ? AND time_ns < ? ORDER BY seq"
	var out []audit.Record
	keep := func(recs []audit.Record) {
		for i := range recs {
			r := &recs[i]
			if len(out) < limit && (f.Subject == "" || r.Subject == f.Subject) && (f.Actor == "" || r.Actor == f.Actor) &&
				(f.Resource == "" || r.Resource == f.Resource) && (f.Action == "" || r.Action == f.Action) {
				out = append(out, *r)
			}
		}
	}
	start := int64(f.Start)
	var term string
	switch {
	case f.Subject != "":
		term = "s:" + f.Subject
	case f.Actor != "":
		term = "a:" + f.Actor
	case f.Resource != "":
		term = "r:" + f.Resource
	case f.Since.IsZero() && f.Until.IsZero():
		const page = 256
		for len(out) < limit {
			recs, err := s.records(ctx, "SELECT "+recordColumns+" FROM audit_entries WHERE seq >= ?"+when+" LIMIT ?", start, since, until, page)
			if err != nil {
				return nil, err
			}
			keep(recs)
			if len(recs) < page {
				break
			}
			start = int64(recs[len(recs)-1].Index) + 1
		}
		return out, nil
	}
	// The batch that holds f.Start, where postings and batch ranges begin.
	from := int64(0)
	err := s.db.QueryRow(ctx, "SELECT first FROM audit_batches WHERE first <= ? ORDER BY first DESC LIMIT 1", start).Scan(&from)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("auditsql: search: %w", err)
	}
	if term != "" {
		for len(out) < limit {
			seqs, next, err := s.postings(ctx, term, from, start)
			if err != nil {
				return nil, err
			}
			for len(seqs) > 0 && len(out) < limit {
				chunk := seqs[:min(len(seqs), 500)]
				seqs = seqs[len(chunk):]
				args := make([]any, 0, len(chunk)+2)
				for _, q := range chunk {
					args = append(args, q)
				}
				recs, err := s.records(ctx, "SELECT "+recordColumns+" FROM audit_entries WHERE seq IN (?"+
					strings.Repeat(",?", len(chunk)-1)+")"+when, append(args, since, until)...)
				if err != nil {
					return nil, err
				}
				keep(recs)
			}
			if next < 0 {
				break
			}
			from = next
		}
		return out, nil
	}
	// A time range alone: the batches whose entries' times meet it.
	if !f.Since.IsZero() {
		var first sql.NullInt64
		if err := s.db.QueryRow(ctx, "SELECT MIN(first) FROM audit_batches WHERE max_ns >= ?", since).Scan(&first); err != nil {
			return nil, fmt.Errorf("auditsql: search: %w", err)
		}
		if !first.Valid {
			return nil, nil
		}
		from = max(from, first.Int64)
	}
	for len(out) < limit {
		spans, err := batchSpans(ctx, s.db, "SELECT first, last FROM audit_batches WHERE first >= ? AND max_ns >= ? AND min_ns < ? AND live_ns IS NOT NULL ORDER BY first LIMIT 64", from, since, until)
		if err != nil {
			return nil, fmt.Errorf("auditsql: search: %w", err)
		}
		for _, sp := range spans {
			if len(out) >= limit {
				break
			}
			recs, err := s.records(ctx, "SELECT "+recordColumns+" FROM audit_entries WHERE seq >= ? AND seq <= ?"+when, max(sp.first, start), sp.last, since, until)
			if err != nil {
				return nil, err
			}
			keep(recs)
		}
		if len(spans) < 64 {
			break
		}
		from = spans[len(spans)-1].first + 1
	}
	return out, nil
}

// span is a batch's first and last index.
type span struct{ first, last int64 }

// batchSpans returns the batches that query, a SELECT of first and last
// from audit_batches, lists.
func batchSpans(ctx context.Context, q querier, query string, args ...any) ([]span, error) {
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []span
	for rs.Next() {
		var sp span
		if err := rs.Scan(&sp.first, &sp.last); err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rs.Err()
}

// leafIdentity returns the actor, action, resource and subject of a leaf
// in the version 1 format (see package audit), or empty strings for bytes
// too short to hold them; [audit.Verify] reports malformed leaves.
func leafIdentity(data []byte) (actor, action, resource, subject string) {
	const fields = 1 + 8 + 32 + 8 // version, index, prev, time
	if len(data) < fields || data[0] != audit.LeafVersion {
		return "", "", "", ""
	}
	d := data[fields:]
	var f [5]string // actor, on-behalf-of, action, resource, subject
	for k := range f {
		if len(d) < 2 || len(d) < 2+int(binary.BigEndian.Uint16(d)) {
			return "", "", "", ""
		}
		n := 2 + int(binary.BigEndian.Uint16(d))
		f[k] = string(d[2:n])
		d = d[n:]
	}
	return f[0], f[2], f[3], f[4]
}

// postings returns the indexes at or after start that a page of term's
// postings lists, from the batch at from on, and where the next page
// begins (-1 after the last).
func (s *Store) postings(ctx context.Context, term string, from, start int64) ([]int64, int64, error) {
	const page = 64
	rs, err := s.db.Query(ctx, "SELECT first, seqs FROM audit_terms WHERE term = ? AND first >= ? ORDER BY first LIMIT ?", term, from, page)
	if err != nil {
		return nil, 0, fmt.Errorf("auditsql: search: %w", err)
	}
	defer rs.Close()
	var out []int64
	n, last := 0, int64(0)
	for rs.Next() {
		var b []byte
		if err := rs.Scan(&last, &b); err != nil {
			return nil, 0, fmt.Errorf("auditsql: search: %w", err)
		}
		n++
		seqs, err := decodePosting(last, b)
		if err != nil {
			return nil, 0, err
		}
		for _, q := range seqs {
			if q >= start {
				out = append(out, q)
			}
		}
	}
	if err := rs.Err(); err != nil {
		return nil, 0, fmt.Errorf("auditsql: search: %w", err)
	}
	if n < page {
		return out, -1, nil
	}
	return out, last + 1, nil
}

// Strip implements [audit.StripStore]. It strips batch by batch, rewriting
// each batch's postings to list only the entries it keeps, in transactions
// of a few hundred batches; after an error, the entries it reports are
// stripped and a later Strip finishes the rest.
func (s *Store) Strip(ctx context.Context, cutoff time.Time) (int, error) {
	// Batches are stripped a few hundred per transaction, so that appends
	// never wait long for the write lock. A stripped batch's live_ns is
	// at or after the cutoff (or NULL), so each round makes progress, and
	// a strip cut short by a crash is finished by the next.
	perTx := 256
	if s.stripPerTx > 0 {
		perTx = s.stripPerTx
	}
	total := 0
	for more := true; more; {
		stripped := 0
		err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			spans, err := batchSpans(ctx, tx, "SELECT first, last FROM audit_batches WHERE live_ns < ? ORDER BY first LIMIT ?", cutoff.UnixNano(), perTx)
			if err != nil {
				return err
			}
			more = len(spans) == perTx
			n := 0
			for _, sp := range spans {
				k, err := s.stripBatch(ctx, tx, sp.first, sp.last, cutoff.UnixNano())
				if err != nil {
					return err
				}
				n += k
			}
			stripped = n
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("auditsql: strip: %w", err)
		}
		total += stripped
	}
	if total > 0 {
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
				return total, fmt.Errorf("auditsql: stripped %d entries but could not truncate the WAL: %w", total, ctx.Err())
			case <-t.C:
			}
		}
		if err != nil {
			return total, fmt.Errorf("auditsql: stripped %d entries but could not truncate the WAL: %w", total, err)
		}
	}
	return total, nil
}

// stripBatch strips the entries of one batch older than cutoff and returns
// how many it stripped.
func (s *Store) stripBatch(ctx context.Context, tx *sqldb.Tx, first, last, cutoff int64) (int, error) {
	type live struct {
		seq, ns                  int64
		actor, subject, resource string
	}
	var rows []live
	rs, err := tx.Query(ctx, "SELECT seq, time_ns, data FROM audit_entries WHERE seq >= ? AND seq <= ? AND data IS NOT NULL ORDER BY seq", first, last)
	if err != nil {
		return 0, err
	}
	for rs.Next() {
		var r live
		var data []byte
		if err := rs.Scan(&r.seq, &r.ns, &data); err != nil {
			rs.Close()
			return 0, err
		}
		r.actor, _, r.resource, r.subject = leafIdentity(data)
		rows = append(rows, r)
	}
	err = rs.Err()
	rs.Close()
	if err != nil {
		return 0, err
	}
	// Drop every posting of the batch, then write back those of the kept
	// entries.
	kept := postings{first: first}
	seen := make(map[string]bool)
	n := 0
	liveNs := sql.NullInt64{}
	for _, r := range rows {
		for _, t := range [...]string{"s:" + r.subject, "a:" + r.actor, "r:" + r.resource} {
			if len(t) > 2 && !seen[t] {
				seen[t] = true
				if _, err := tx.Exec(ctx, "DELETE FROM audit_terms WHERE term = ? AND first = ?", t, first); err != nil {
					return 0, err
				}
			}
		}
		if r.ns < cutoff {
			n++
			continue
		}
		kept.add(r.seq, r.subject, r.actor, r.resource)
		if !liveNs.Valid || r.ns < liveNs.Int64 {
			liveNs = sql.NullInt64{Int64: r.ns, Valid: true}
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE audit_entries SET data = NULL WHERE seq >= ? AND seq <= ? AND time_ns < ? AND data IS NOT NULL", first, last, cutoff); err != nil {
		return 0, err
	}
	if err := s.insert(ctx, tx, "audit_terms", termColumns, kept.args()); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, "UPDATE audit_batches SET live_ns = ? WHERE first = ?", liveNs, first); err != nil {
		return 0, err
	}
	return n, nil
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
