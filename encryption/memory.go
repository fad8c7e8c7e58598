package encryption

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// MemoryKeyStore is a [KeyStore] in process memory, for tests and ephemeral
// use: its keys die with the process. A shredded keyset's bytes are
// overwritten with zeros before they are dropped (the Go runtime may still
// hold earlier copies until the garbage collector reuses the memory);
// tombstones stay for the store's life. It is safe for concurrent use; the
// zero value is not, use [NewMemoryKeyStore].
type MemoryKeyStore struct {
	mu       sync.Mutex
	keysets  map[string]memEntry
	shredded map[string]bool
	watchers []memWatcher // in registration order
	nextID   int
}

type memWatcher struct {
	id int
	fn func(string)
}

type memEntry struct {
	wrapped []byte
	version int64
}

var (
	_ KeyStore   = (*MemoryKeyStore)(nil)
	_ KeyLister  = (*MemoryKeyStore)(nil)
	_ KeyWatcher = (*MemoryKeyStore)(nil)
)

// NewMemoryKeyStore returns an empty MemoryKeyStore.
func NewMemoryKeyStore() *MemoryKeyStore {
	return &MemoryKeyStore{keysets: make(map[string]memEntry), shredded: make(map[string]bool)}
}

// Get implements [KeyStore].
func (m *MemoryKeyStore) Get(ctx context.Context, sourceID string) ([]byte, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shredded[sourceID] {
		return nil, 0, ErrShredded
	}
	e, ok := m.keysets[sourceID]
	if !ok {
		return nil, 0, ErrUnknownSource
	}
	return slices.Clone(e.wrapped), e.version, nil
}

// Put implements [KeyStore].
func (m *MemoryKeyStore) Put(ctx context.Context, sourceID string, prev int64, wrapped []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.shredded[sourceID] {
		m.mu.Unlock()
		return ErrShredded
	}
	e := m.keysets[sourceID]
	if e.version != prev {
		m.mu.Unlock()
		return fmt.Errorf("%w: stored version %d, expected %d", ErrConflict, e.version, prev)
	}
	clear(e.wrapped)
	m.keysets[sourceID] = memEntry{wrapped: slices.Clone(wrapped), version: prev + 1}
	fns := m.watchersLocked(prev != 0)
	m.mu.Unlock()
	notify(fns, sourceID)
	return nil
}

// Shred implements [KeyStore].
func (m *MemoryKeyStore) Shred(ctx context.Context, sourceID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if e, ok := m.keysets[sourceID]; ok {
		clear(e.wrapped)
		delete(m.keysets, sourceID)
	}
	m.shredded[sourceID] = true
	fns := m.watchersLocked(true)
	m.mu.Unlock()
	notify(fns, sourceID)
	return nil
}

// Watch implements [KeyWatcher]: fn hears of every keyset changed through
// this store (rotated, rewrapped, shredded) before the call returns.
func (m *MemoryKeyStore) Watch(fn func(sourceID string)) (stop func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.nextID
	m.nextID++
	m.watchers = append(m.watchers, memWatcher{id: id, fn: fn})
	return func() {
		m.mu.Lock()
		m.watchers = slices.DeleteFunc(m.watchers, func(w memWatcher) bool { return w.id == id })
		m.mu.Unlock()
	}
}

// watchersLocked returns the watchers to tell of a change, if changed.
func (m *MemoryKeyStore) watchersLocked(changed bool) []func(string) {
	if !changed {
		return nil
	}
	fns := make([]func(string), len(m.watchers))
	for i, w := range m.watchers {
		fns[i] = w.fn
	}
	return fns
}

func notify(fns []func(string), sourceID string) {
	for _, fn := range fns {
		fn(sourceID)
	}
}

// List implements [KeyLister].
func (m *MemoryKeyStore) List(ctx context.Context, after string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	m.mu.Lock()
	ids := make([]string, 0, len(m.keysets))
	for id := range m.keysets {
		if id > after {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}
