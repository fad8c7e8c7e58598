package retentionsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/retention"
)

// Store is a [retention.Store] over a SQL database. It is safe for
// concurrent use, also by several processes sharing the database. Use
// [New].
type Store struct {
	db *sqldb.DB
}

var _ retention.Store = (*Store)(nil)

const schema = `CREATE TABLE retention_items (
	id TEXT{C} PRIMARY KEY,
	category TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	system TEXT NOT NULL,
	location TEXT NOT NULL DEFAULT '',
	purpose TEXT NOT NULL DEFAULT '',
	legal_basis TEXT NOT NULL DEFAULT '',
	vendor TEXT NOT NULL DEFAULT '',
	plan TEXT NOT NULL DEFAULT '',
	region TEXT NOT NULL DEFAULT '',
	parent TEXT NOT NULL DEFAULT '',
	labels TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL DEFAULT 0,
	last_activity_at BIGINT NOT NULL DEFAULT 0,
	sent_at BIGINT NOT NULL DEFAULT 0,
	user_deleted_at BIGINT NOT NULL DEFAULT 0,
	due_at BIGINT NOT NULL DEFAULT 0,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	task TEXT NOT NULL DEFAULT '',
	deleted_at BIGINT NOT NULL DEFAULT 0,
	method TEXT NOT NULL DEFAULT ''
);
CREATE INDEX retention_items_due ON retention_items (due_at) WHERE state <> 'deleted';
CREATE INDEX retention_items_subject ON retention_items (subject);
CREATE INDEX retention_items_parent ON retention_items (parent) WHERE parent <> '';
CREATE INDEX retention_items_deleted ON retention_items (deleted_at) WHERE state = 'deleted';
CREATE TABLE retention_journal (
	seq {SERIAL},
	item_id TEXT{C} NOT NULL,
	attempt INTEGER NOT NULL,
	owner TEXT NOT NULL,
	step TEXT NOT NULL,
	at BIGINT NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	method TEXT NOT NULL DEFAULT '',
	task TEXT NOT NULL DEFAULT '',
	next_attempt_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX retention_journal_item ON retention_journal (item_id, seq);
CREATE TABLE retention_holds (
	id TEXT{C} PRIMARY KEY,
	scope TEXT NOT NULL,
	target TEXT NOT NULL,
	reason TEXT NOT NULL,
	placed_by TEXT NOT NULL,
	placed_at BIGINT NOT NULL,
	released_by TEXT NOT NULL DEFAULT '',
	released_at BIGINT NOT NULL DEFAULT 0,
	release_reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE retention_requests (
	id TEXT{C} PRIMARY KEY,
	subject TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	version BIGINT NOT NULL,
	body TEXT NOT NULL
);
CREATE INDEX retention_requests_received ON retention_requests (received_at);
CREATE TABLE retention_incidents (
	id TEXT{C} PRIMARY KEY,
	detected_at BIGINT NOT NULL,
	body TEXT NOT NULL
);
`

func migrations() []sqldb.Migration {
	lite := strings.NewReplacer("{C}", "", "{SERIAL}", "INTEGER PRIMARY KEY AUTOINCREMENT").Replace(schema)
	pg := strings.NewReplacer("{C}", ` COLLATE "C"`, "{SERIAL}", "BIGSERIAL PRIMARY KEY").Replace(schema)
	return []sqldb.Migration{{Version: 1, SQL: lite, Postgres: pg}}
}

// New returns a Store over db, a handle from privkit.OpenSQLite or
// privkit.OpenPostgres, after applying the schema migrations
// (idempotent; safe to run from several instances at once).
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	w, err := sqldb.Wrap(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("retentionsql: %w", err)
	}
	if err := sqldb.Migrate(ctx, w, "retention", migrations()); err != nil {
		return nil, fmt.Errorf("retentionsql: %w", err)
	}
	return &Store{db: w}, nil
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

const itemCols = `id, category, subject, system, location, purpose, legal_basis, vendor, plan, region, parent, labels,
	created_at, last_activity_at, sent_at, user_deleted_at, due_at, state, attempts, owner, lease_until,
	next_attempt_at, last_error, task, deleted_at, method`

type scanner interface{ Scan(dest ...any) error }

// collect returns every row of a query (rows and err are its results), each
// read by scan, and closes rows.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanItem(s scanner) (retention.Item, error) {
	var it retention.Item
	var labels, state, method string
	var created, last, sent, udel, due, lease, next, deleted int64
	if err := s.Scan(&it.ID, &it.Category, &it.Subject, &it.System, &it.Location, &it.Purpose, &it.LegalBasis,
		&it.Vendor, &it.Plan, &it.Region, &it.Parent, &labels, &created, &last, &sent, &udel, &due, &state,
		&it.Attempts, &it.Owner, &lease, &next, &it.LastError, &it.Task, &deleted, &method); err != nil {
		return it, err
	}
	if labels != "" {
		if err := json.Unmarshal([]byte(labels), &it.Labels); err != nil {
			return it, fmt.Errorf("retentionsql: item labels: %w", err)
		}
	}
	it.CreatedAt, it.LastActivityAt, it.SentAt, it.UserDeletedAt = tm(created), tm(last), tm(sent), tm(udel)
	it.DueAt, it.LeaseUntil, it.NextAttemptAt, it.DeletedAt = tm(due), tm(lease), tm(next), tm(deleted)
	it.State, it.Method = retention.ItemState(state), retention.ErasureMethod(method)
	return it, nil
}

// managedCols are the columns a journal step reads and writes
// ([retention.ApplyStep]); RecordBatch reads only these.
const managedCols = `id, state, attempts, owner, lease_until, next_attempt_at, last_error, task, deleted_at, method`

func scanManaged(s scanner) (retention.Item, error) {
	var it retention.Item
	var state, method string
	var lease, next, deleted int64
	if err := s.Scan(&it.ID, &state, &it.Attempts, &it.Owner, &lease, &next, &it.LastError, &it.Task, &deleted, &method); err != nil {
		return it, err
	}
	it.LeaseUntil, it.NextAttemptAt, it.DeletedAt = tm(lease), tm(next), tm(deleted)
	it.State, it.Method = retention.ItemState(state), retention.ErasureMethod(method)
	return it, nil
}

func labelsJSON(it retention.Item) (string, error) {
	if len(it.Labels) == 0 {
		return "", nil
	}
	b, err := json.Marshal(it.Labels)
	return string(b), err
}

// PutItem implements [retention.Inventory].
func (s *Store) PutItem(ctx context.Context, it retention.Item) error {
	labels, err := labelsJSON(it)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO retention_items (id, category, subject, system, location, purpose, legal_basis,
		vendor, plan, region, parent, labels, created_at, last_activity_at, sent_at, user_deleted_at, due_at, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')
		ON CONFLICT (id) DO UPDATE SET category = excluded.category, subject = excluded.subject, system = excluded.system,
		location = excluded.location, purpose = excluded.purpose, legal_basis = excluded.legal_basis,
		vendor = excluded.vendor, plan = excluded.plan, region = excluded.region, parent = excluded.parent,
		labels = excluded.labels, created_at = excluded.created_at, last_activity_at = excluded.last_activity_at,
		sent_at = excluded.sent_at, user_deleted_at = excluded.user_deleted_at, due_at = excluded.due_at`,
		it.ID, it.Category, it.Subject, it.System, it.Location, it.Purpose, it.LegalBasis, it.Vendor, it.Plan,
		it.Region, it.Parent, labels, ns(it.CreatedAt), ns(it.LastActivityAt), ns(it.SentAt), ns(it.UserDeletedAt), ns(it.DueAt))
	return err
}

// UpdateItem implements [retention.Inventory].
func (s *Store) UpdateItem(ctx context.Context, id string, fn func(*retention.Item) error) (retention.Item, error) {
	var out retention.Item
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		it, err := scanItem(tx.QueryRow(ctx, "SELECT "+itemCols+" FROM retention_items WHERE id = ?"+tx.Dialect.ForUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return retention.ErrNotFound
		}
		if err != nil {
			return err
		}
		cp := it
		cp.Labels = slices.Clone(it.Labels)
		if err := fn(&cp); err != nil {
			return err
		}
		labels, err := labelsJSON(cp)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE retention_items SET category = ?, subject = ?, system = ?, location = ?, purpose = ?,
			legal_basis = ?, vendor = ?, plan = ?, region = ?, parent = ?, labels = ?, created_at = ?, last_activity_at = ?,
			sent_at = ?, user_deleted_at = ?, due_at = ? WHERE id = ?`,
			cp.Category, cp.Subject, cp.System, cp.Location, cp.Purpose, cp.LegalBasis, cp.Vendor, cp.Plan, cp.Region,
			cp.Parent, labels, ns(cp.CreatedAt), ns(cp.LastActivityAt), ns(cp.SentAt), ns(cp.UserDeletedAt), ns(cp.DueAt), id); err != nil {
			return err
		}
		out, err = scanItem(tx.QueryRow(ctx, "SELECT "+itemCols+" FROM retention_items WHERE id = ?", id))
		return err
	})
	return out, err
}

// GetItem implements [retention.Inventory].
func (s *Store) GetItem(ctx context.Context, id string) (retention.Item, error) {
	it, err := scanItem(s.db.QueryRow(ctx, "SELECT "+itemCols+" FROM retention_items WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return retention.Item{}, retention.ErrNotFound
	}
	return it, err
}

func statesIn(states []retention.ItemState, args *[]any) string {
	ph := make([]string, len(states))
	for i, st := range states {
		ph[i] = "?"
		*args = append(*args, string(st))
	}
	return "state IN (" + strings.Join(ph, ", ") + ")"
}

// ListItems implements [retention.Inventory].
func (s *Store) ListItems(ctx context.Context, f retention.ItemFilter) ([]retention.Item, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Subject != "" {
		add("subject = ?", f.Subject)
	}
	if f.Category != "" {
		add("category = ?", f.Category)
	}
	if f.System != "" {
		add("system = ?", f.System)
	}
	if f.Parent != "" {
		add("parent = ?", f.Parent)
	}
	if len(f.States) > 0 {
		where = append(where, statesIn(f.States, &args))
	}
	if !f.DueBy.IsZero() {
		add("due_at <> 0 AND due_at <= ?", ns(f.DueBy))
	}
	if !f.DeletedFrom.IsZero() {
		add("deleted_at <> 0 AND deleted_at >= ?", ns(f.DeletedFrom))
	}
	if !f.DeletedTo.IsZero() {
		add("deleted_at <> 0 AND deleted_at < ?", ns(f.DeletedTo))
	}
	if f.After != "" {
		add("id > ?", f.After)
	}
	q := "SELECT " + itemCols + " FROM retention_items"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.Query(ctx, q, args...)
	return collect(rows, err, scanItem)
}

// Claim implements [retention.Journal]. One statement claims the whole
// batch: its subquery picks the candidates in ID order (on PostgreSQL
// with FOR UPDATE SKIP LOCKED, so concurrent claims by other instances
// skip them instead of waiting), the UPDATE marks them claimed and returns
// them; one multi-row INSERT journals the claims, in the same transaction.
func (s *Store) Claim(ctx context.Context, r retention.ClaimRequest) ([]retention.Item, error) {
	var out []retention.Item
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		out, err = claimTx(ctx, tx, r)
		if err != nil {
			return err
		}
		return insertJournal(ctx, tx, claimedEntries(out, r))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ retention.BatchClaimer = (*Store)(nil)

// ClaimBatch implements [retention.BatchClaimer]: the claim and the first
// steps in one transaction. One SELECT picks the candidates (on PostgreSQL
// FOR UPDATE SKIP LOCKED, in ID order), the claim and first step of each
// are applied in memory, then a multi-row UPDATE writes each row once and
// a multi-row INSERT journals both steps of every item.
func (s *Store) ClaimBatch(ctx context.Context, r retention.ClaimRequest, first func(retention.Item) retention.JournalEntry) ([]retention.Item, []error, error) {
	var (
		out  []retention.Item
		errs []error
	)
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		// Select (and on PostgreSQL lock) the candidates, claim them and
		// apply their first steps in memory, then write each row once.
		q, args, err := claimableQuery(tx, r)
		if err != nil || q == "" {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+itemCols+" FROM retention_items WHERE "+q, args...)
		if out, err = collect(rows, err, scanItem); err != nil {
			return err
		}
		for i := range out {
			it := &out[i]
			it.State, it.Owner, it.LeaseUntil = retention.StateClaimed, r.Owner, tm(ns(r.LeaseUntil))
			it.Attempts++
		}
		journal := claimedEntries(out, r)
		errs = make([]error, len(out))
		final := make([]retention.Item, len(out))
		for i, it := range out {
			final[i] = it
			e := first(it)
			cp := it
			if e.ItemID != it.ID || e.Owner != it.Owner || e.Attempt != it.Attempts {
				errs[i] = retention.ErrConflict
				continue
			}
			if err := retention.ApplyStep(&cp, e); err != nil {
				errs[i] = err
				continue
			}
			final[i] = cp
			journal = append(journal, e)
		}
		if err := updateStates(ctx, tx, final); err != nil {
			return err
		}
		return insertJournal(ctx, tx, journal)
	})
	if err != nil {
		return nil, nil, err
	}
	return out, errs, nil
}

func claimedEntries(items []retention.Item, r retention.ClaimRequest) []retention.JournalEntry {
	entries := make([]retention.JournalEntry, len(items), 2*len(items))
	for i, it := range items {
		entries[i] = retention.JournalEntry{ItemID: it.ID, Attempt: it.Attempts, Owner: r.Owner, Step: retention.StepClaimed, At: r.Now}
	}
	return entries
}

// claimableQuery returns the WHERE clause (with ORDER BY, LIMIT and, on
// PostgreSQL, FOR UPDATE SKIP LOCKED) that selects the items r may claim,
// or "" when r selects none.
func claimableQuery(tx *sqldb.Tx, r retention.ClaimRequest) (string, []any, error) {
	if r.Owner == "" {
		return "", nil, fmt.Errorf("%w: claim without owner", retention.ErrInvalid)
	}
	limit := r.Limit
	if limit <= 0 {
		limit = 100
	}
	if r.IDs != nil && len(r.IDs) == 0 {
		return "", nil, nil
	}
	now := ns(r.Now)
	var where []string
	var args []any
	where = append(where, "state <> 'deleted'")
	if r.IDs != nil {
		ph := make([]string, len(r.IDs))
		for i, id := range r.IDs {
			ph[i] = "?"
			args = append(args, id)
		}
		where = append(where, "id IN ("+strings.Join(ph, ", ")+")")
	} else {
		where = append(where, "due_at <> 0 AND due_at <= ?")
		args = append(args, ns(r.DueBy))
	}
	if r.After != "" {
		where = append(where, "id > ?")
		args = append(args, r.After)
	}
	next := "next_attempt_at <= ?"
	if r.Force {
		next = "TRUE"
	} else {
		args = append(args, now)
	}
	where = append(where, "((state IN ('active', 'failed', 'pending') AND "+next+") OR (state IN ('claimed', 'deleting') AND lease_until <= ?))")
	args = append(args, now)
	return strings.Join(where, " AND ") + fmt.Sprintf(" ORDER BY id LIMIT %d", limit) + tx.Dialect.ForUpdateSkipLocked(), args, nil
}

// claimTx marks the claimable items of r claimed in tx and returns them in
// ID order, without journaling them.
func claimTx(ctx context.Context, tx *sqldb.Tx, r retention.ClaimRequest) ([]retention.Item, error) {
	where, args, err := claimableQuery(tx, r)
	if err != nil || where == "" {
		return nil, err
	}
	q := `UPDATE retention_items SET state = 'claimed', owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM retention_items WHERE ` + where + ") RETURNING " + itemCols
	rows, err := tx.Query(ctx, q, append([]any{r.Owner, ns(r.LeaseUntil)}, args...)...)
	out, err := collect(rows, err, scanItem)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b retention.Item) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// On SQLite, multi-row statements are cut into runs of sqliteChunk rows
// and a power-of-two decomposition of the rest, each size prepared once
// per transaction: the parser, a large part of a multi-row statement's
// cost there, sees a few short statements per batch instead of a long one.
// On PostgreSQL, where a prepare costs a round trip, they go in chunks of
// up to pgChunk rows (65535 bound parameters at most).
const (
	sqliteChunk = 64
	pgChunk     = 500
)

// chunked runs a statement over n rows in chunks: text(k) is the
// statement for k rows, args(off, k) their arguments; each chunk's rows
// are consumed by use (nil for Exec).
func chunked(ctx context.Context, tx *sqldb.Tx, n int, text func(k int) string, args func(off, k int) []any, use func(*sql.Rows) error) error {
	prepared := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range prepared {
			st.Close()
		}
	}()
	for off := 0; off < n; {
		k := min(n-off, pgChunk)
		var st *sql.Stmt // nil: PostgreSQL, which runs text(k) unprepared
		if tx.Dialect == sqldb.SQLite {
			k = sqliteChunk
			for k > n-off {
				k /= 2
			}
			if st = prepared[k]; st == nil {
				var err error
				if st, err = tx.Tx.PrepareContext(ctx, tx.Dialect.Rebind(text(k))); err != nil {
					return err
				}
				prepared[k] = st
			}
		}
		a := args(off, k)
		var err error
		switch {
		case use == nil && st == nil:
			_, err = tx.Exec(ctx, text(k), a...)
		case use == nil:
			_, err = st.ExecContext(ctx, a...)
		default:
			var rows *sql.Rows
			if st == nil {
				rows, err = tx.Query(ctx, text(k), a...)
			} else {
				rows, err = st.QueryContext(ctx, a...)
			}
			if err == nil {
				err = use(rows)
			}
		}
		if err != nil {
			return err
		}
		off += k
	}
	return nil
}

// valuesRows returns k rows of a VALUES list.
func valuesRows(k int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", k), ", ")
}

// insertJournal appends entries to the journal, in order, with multi-row
// INSERTs.
func insertJournal(ctx context.Context, tx *sqldb.Tx, entries []retention.JournalEntry) error {
	return chunked(ctx, tx, len(entries), func(k int) string {
		return "INSERT INTO retention_journal (item_id, attempt, owner, step, at, error, method, task, next_attempt_at) VALUES " +
			valuesRows(k, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}, func(off, k int) []any {
		args := make([]any, 0, 9*k)
		for _, e := range entries[off : off+k] {
			args = append(args, e.ItemID, e.Attempt, e.Owner, string(e.Step), ns(e.At), e.Error, string(e.Method), e.Task, ns(e.NextAttemptAt))
		}
		return args
	}, nil)
}

// updateStates writes the journal-managed fields (and Attempts) of items
// with multi-row UPDATE ... FROM (VALUES ...) statements.
func updateStates(ctx context.Context, tx *sqldb.Tx, items []retention.Item) error {
	return chunked(ctx, tx, len(items), func(k int) string {
		return `UPDATE retention_items SET state = v.column2, owner = v.column3, lease_until = v.column4,
			next_attempt_at = v.column5, last_error = v.column6, task = v.column7, deleted_at = v.column8, method = v.column9,
			attempts = v.column10
			FROM (VALUES ` + valuesRows(k, "(?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, CAST(? AS BIGINT), ?, CAST(? AS INTEGER))") +
			") AS v WHERE retention_items.id = v.column1"
	}, func(off, k int) []any {
		args := make([]any, 0, 10*k)
		for _, it := range items[off : off+k] {
			args = append(args, it.ID, string(it.State), it.Owner, ns(it.LeaseUntil), ns(it.NextAttemptAt), it.LastError, it.Task,
				ns(it.DeletedAt), string(it.Method), it.Attempts)
		}
		return args
	}, nil)
}

var _ retention.BatchRecorder = (*Store)(nil)

// Record implements [retention.Journal].
func (s *Store) Record(ctx context.Context, e retention.JournalEntry) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error { return recordTx(ctx, tx, e) })
}

// RecordBatch implements [retention.BatchRecorder]: one transaction, so
// one commit, for all entries, with a constant number of statements: one
// SELECT locks the items (in ID order, as every other transaction here
// does, so that two instances' batches cannot deadlock), the steps are
// checked and applied in memory in entry order, then one multi-row UPDATE
// and one multi-row INSERT write them.
func (s *Store) RecordBatch(ctx context.Context, entries []retention.JournalEntry) ([]error, error) {
	var errs []error
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		errs = make([]error, len(entries))
		ids := make([]string, 0, len(entries))
		for _, e := range entries {
			ids = append(ids, e.ItemID)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		items := make(map[string]*retention.Item, len(ids))
		// Lock in ID order: chunks in order, each ORDER BY id.
		err := chunked(ctx, tx, len(ids), func(k int) string {
			return "SELECT " + managedCols + " FROM retention_items WHERE id IN (" + valuesRows(k, "?") + ") ORDER BY id" + tx.Dialect.ForUpdate()
		}, func(off, k int) []any {
			args := make([]any, k)
			for i, id := range ids[off : off+k] {
				args[i] = id
			}
			return args
		}, func(rows *sql.Rows) error {
			defer rows.Close()
			for rows.Next() {
				it, err := scanManaged(rows)
				if err != nil {
					return err
				}
				items[it.ID] = &it
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		var changed []string
		var journal []retention.JournalEntry
		for i, e := range entries {
			it, ok := items[e.ItemID]
			if !ok {
				errs[i] = retention.ErrNotFound
				continue
			}
			if !claimedFor(it, e) {
				errs[i] = retention.ErrConflict
				continue
			}
			if err := retention.ApplyStep(it, e); err != nil {
				errs[i] = err
				continue
			}
			changed = append(changed, it.ID)
			journal = append(journal, e)
		}
		slices.Sort(changed)
		changed = slices.Compact(changed)
		upd := make([]retention.Item, len(changed))
		for i, id := range changed {
			upd[i] = *items[id]
		}
		if err := updateStates(ctx, tx, upd); err != nil {
			return err
		}
		return insertJournal(ctx, tx, journal)
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// claimedFor reports whether it is claimed (or deleting) by the owner and
// attempt of e, so that e may be recorded.
func claimedFor(it *retention.Item, e retention.JournalEntry) bool {
	return (it.State == retention.StateClaimed || it.State == retention.StateDeleting) && it.Owner == e.Owner && it.Attempts == e.Attempt
}

// recordTx records e inside tx. It returns ErrConflict, ErrNotFound or
// ErrInvalid without writing anything, or a database error.
func recordTx(ctx context.Context, tx *sqldb.Tx, e retention.JournalEntry) error {
	it, err := scanItem(tx.QueryRow(ctx, "SELECT "+itemCols+" FROM retention_items WHERE id = ?"+tx.Dialect.ForUpdate(), e.ItemID))
	if errors.Is(err, sql.ErrNoRows) {
		return retention.ErrNotFound
	}
	if err != nil {
		return err
	}
	if !claimedFor(&it, e) {
		return retention.ErrConflict
	}
	if err := retention.ApplyStep(&it, e); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE retention_items SET state = ?, owner = ?, lease_until = ?, next_attempt_at = ?,
		last_error = ?, task = ?, deleted_at = ?, method = ? WHERE id = ?`,
		string(it.State), it.Owner, ns(it.LeaseUntil), ns(it.NextAttemptAt), it.LastError, it.Task,
		ns(it.DeletedAt), string(it.Method), it.ID); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO retention_journal (item_id, attempt, owner, step, at, error, method, task, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ItemID, e.Attempt, e.Owner, string(e.Step), ns(e.At), e.Error,
		string(e.Method), e.Task, ns(e.NextAttemptAt))
	return err
}

// JournalOf implements [retention.Journal].
func (s *Store) JournalOf(ctx context.Context, itemID string) ([]retention.JournalEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT item_id, attempt, owner, step, at, error, method, task, next_attempt_at
		FROM retention_journal WHERE item_id = ? ORDER BY seq`, itemID)
	return collect(rows, err, func(rows scanner) (retention.JournalEntry, error) {
		var e retention.JournalEntry
		var step, method string
		var at, next int64
		err := rows.Scan(&e.ItemID, &e.Attempt, &e.Owner, &step, &at, &e.Error, &method, &e.Task, &next)
		e.Step, e.Method, e.At, e.NextAttemptAt = retention.Step(step), retention.ErasureMethod(method), tm(at), tm(next)
		return e, err
	})
}

// DataMap implements [retention.DataMapper].
func (s *Store) DataMap(ctx context.Context) ([]retention.DataMapRow, error) {
	rows, err := s.db.Query(ctx, `SELECT category, system, purpose, legal_basis, vendor, COUNT(*) FROM retention_items
		WHERE state <> 'deleted' GROUP BY category, system, purpose, legal_basis, vendor`)
	out, err := collect(rows, err, func(rows scanner) (retention.DataMapRow, error) {
		var r retention.DataMapRow
		err := rows.Scan(&r.Category, &r.System, &r.Purpose, &r.LegalBasis, &r.Vendor, &r.Count)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b retention.DataMapRow) int {
		for _, c := range [][2]string{{a.Category, b.Category}, {a.System, b.System}, {a.Purpose, b.Purpose}, {a.LegalBasis, b.LegalBasis}, {a.Vendor, b.Vendor}} {
			if n := strings.Compare(c[0], c[1]); n != 0 {
				return n
			}
		}
		return 0
	})
	return out, nil
}
