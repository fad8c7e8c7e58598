package workspace

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Record is what the metadata store keeps about one workspace: opaque IDs
// and times, never file names, sizes or content (those live in the
// workspace's encrypted manifest on its node's disk).
type Record struct {
	// User is the user's pseudonym; a user has at most one workspace.
	User string
	// ID is the workspace's random ID: its directory name and, as
	// "workspace/<ID>", its data-source ID for the Cipher.
	ID string
	// Node is the fleet instance whose disk holds the directory.
	Node string
	// Created is when the workspace was created.
	Created time.Time
	// LastActive is the last persisted activity. It never moves backwards.
	LastActive time.Time
	// OldestFile is the upload time of the workspace's oldest file, zero
	// when it has none, so the janitor knows when a file reaches its
	// maximum age without decrypting the manifest.
	OldestFile time.Time
	// Deleting is set when deletion has begun; it is never cleared. A
	// manager finishes such deletions at its next sweep or start.
	Deleting bool
}

// Store keeps workspace records. Implementations must be safe for
// concurrent use, and for use by several managers (a fleet) at once when
// they share a database. [MemoryStore] and workspacesql implement it; every
// implementation passes workspacetest.Run.
type Store interface {
	// Get returns the record of user's workspace, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, user string) (Record, error)
	// Put creates or updates the record of rec.User atomically and returns
	// the stored record. If the user has no record, rec is inserted. If
	// the stored record has rec.ID, it is updated: Node and OldestFile are
	// replaced, LastActive becomes the later of the two, and Deleting stays
	// set once set; User, ID and Created never change. If the stored record
	// has another ID, it is left alone and returned, so that of two racing
	// creators exactly one wins and the other learns of it.
	Put(ctx context.Context, rec Record) (Record, error)
	// Delete removes user's record if its ID is id. Deleting a record that
	// does not exist (or has another ID) is not an error.
	Delete(ctx context.Context, user, id string) error
	// List returns the records whose Node is node, in no particular order.
	List(ctx context.Context, node string) ([]Record, error)
}

// MergeRecord applies the update rules of [Store.Put] to a stored record
// and an incoming one with the same ID. Backends use it so that they all
// agree.
func MergeRecord(stored, in Record) Record {
	out := stored
	out.Node = in.Node
	out.OldestFile = in.OldestFile
	if in.LastActive.After(out.LastActive) {
		out.LastActive = in.LastActive
	}
	out.Deleting = stored.Deleting || in.Deleting
	return out
}

// MemoryStore is a [Store] in process memory, for tests and single-process
// hosts whose workspaces need not survive a restart of the store. It is
// safe for concurrent use. The zero value is not usable; use
// [NewMemoryStore].
type MemoryStore struct {
	mu   sync.Mutex
	recs map[string]Record
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{recs: map[string]Record{}}
}

var _ Store = (*MemoryStore)(nil)

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, user string) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[user]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r, nil
}

// Put implements [Store].
func (s *MemoryStore) Put(ctx context.Context, rec Record) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[rec.User]
	switch {
	case !ok:
		r = rec
	case r.ID == rec.ID:
		r = MergeRecord(r, rec)
	default:
		return r, nil
	}
	s.recs[rec.User] = r
	return r, nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, user, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.recs[user]; ok && r.ID == id {
		delete(s.recs, user)
	}
	return nil
}

// List implements [Store].
func (s *MemoryStore) List(ctx context.Context, node string) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.recs {
		if r.Node == node {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
