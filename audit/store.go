package audit

import (
	"context"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Record is one entry as a [Store] keeps it: the leaf bytes, the tree hashes
// the leaf completes, and the few fields a store indexes for [Log.Query].
//
// A store may share the slices it returns with later callers; callers must
// not modify them.
type Record struct {
	// Index is the entry's position in the log.
	Index uint64
	// Data is the leaf encoding (see [Entry.MarshalBinary]), or nil once
	// retention stripped the entry.
	Data []byte
	// Hashes are the tlog stored hashes that appending this leaf adds, in
	// the order of [tlog.StoredHashes]: Hashes[0] is the leaf hash, and
	// Hashes[k] the hash of the complete subtree of height k that ends at
	// this leaf. They live at the consecutive storage indexes starting at
	// tlog.StoredHashIndex(0, Index).
	Hashes []tlog.Hash
	// Time is the event's time; it stays when the entry is stripped so
	// that retention can find it.
	Time time.Time
	// Actor, Subject, Resource and Action copy the event's fields for
	// indexed queries. They are emptied when the entry is stripped.
	Actor, Subject, Resource, Action string
}

// AppendFunc computes the records to append to a log that holds size
// entries, reading earlier stored hashes from hr. It returns records
// numbered size, size+1, …. The returned slice, and the Data and Hashes
// slices it holds, are valid only until the store's Append returns: the
// log reuses their memory for the next batch, so a store that keeps them
// copies them.
type AppendFunc func(size uint64, hr tlog.HashReader) ([]Record, error)

// Store is where a [Log] keeps its entries and tree. [NewMemoryStore] and
// audit/auditsql implement it; audit/audittest checks an implementation.
//
// A store holds one log. Implementations are safe for concurrent use.
// Stores are trusted for availability, not integrity: [Verify] recomputes
// every hash from the leaves a store returns.
type Store interface {
	// Append calls fn once with the current size under a lock that excludes
	// every other Append on the same log, from this process or any other
	// sharing the store, and then stores the records fn returned, durably
	// and atomically: after Append returns nil every record survives a
	// crash; after an error or a crash during Append, none of them is
	// stored. If fn fails, Append returns its error and stores nothing.
	Append(ctx context.Context, fn AppendFunc) error
	// Size returns the number of entries in the log.
	Size(ctx context.Context) (uint64, error)
	// ReadRecords returns the records with start <= Index < end, in order.
	// It returns fewer only if the store has fewer (a verifier treats a
	// gap as tampering).
	ReadRecords(ctx context.Context, start, end uint64) ([]Record, error)
	// ReadHashes returns the stored hashes at the given tlog storage
	// indexes, as [tlog.HashReader] does, or an error if any is missing.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
}

// CheckpointStore is implemented by stores that keep signed checkpoints.
// [Log.Checkpoint] saves every checkpoint it signs when the store is one,
// and [Verify] checks the latest against the entries.
type CheckpointStore interface {
	// SaveCheckpoint stores a signed checkpoint note of a tree of size
	// entries. Saving a second note for the same size keeps the first.
	SaveCheckpoint(ctx context.Context, size uint64, note []byte) error
	// LatestCheckpoint returns the stored note with the largest size, or
	// nil and no error if there is none.
	LatestCheckpoint(ctx context.Context) ([]byte, error)
}

// Filter selects records for [SearchStore.Search]. Empty fields match
// everything.
type Filter struct {
	Subject, Actor, Resource, Action string
	// Since and Until bound the event time: Since <= Time < Until. A zero
	// value leaves that end open.
	Since, Until time.Time
	// Start is the smallest index to return.
	Start uint64
	// Limit is the most records to return; it is at least 1.
	Limit int
}

// SearchStore is implemented by stores that can find records by their
// indexed fields. [Log.Query] falls back to a scan for other stores.
type SearchStore interface {
	// Search returns, in index order, up to f.Limit unstripped records
	// that match f.
	Search(ctx context.Context, f Filter) ([]Record, error)
}

// StripStore is implemented by stores that can remove payloads for
// retention. [Log.ApplyRetention] needs it.
type StripStore interface {
	// Strip removes Data and the indexed identity fields (keeping Index,
	// Hashes and Time) of every record whose Time is before cutoff, and
	// returns how many it stripped. The removed bytes must not remain in
	// the store's files (for SQLite: secure_delete and a WAL checkpoint).
	Strip(ctx context.Context, cutoff time.Time) (int, error)
}

// match reports whether r satisfies f (ignoring Start and Limit).
func (f *Filter) match(r *Record) bool {
	return r.Data != nil &&
		(f.Subject == "" || f.Subject == r.Subject) &&
		(f.Actor == "" || f.Actor == r.Actor) &&
		(f.Resource == "" || f.Resource == r.Resource) &&
		(f.Action == "" || f.Action == r.Action) &&
		(f.Since.IsZero() || !r.Time.Before(f.Since)) &&
		(f.Until.IsZero() || r.Time.Before(f.Until))
}
