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
	watchers map[int]func(string)
	nextID   int
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
	return &MemoryKeyStore{keysets: make(map[string]memEntry), shredded: make(map[string]bool), watchers: make(map[int]func(string))}
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
	m.watchers[id] = fn
	return func() {
		m.mu.Lock()
		delete(m.watchers, id)
		m.mu.Unlock()
	}
}

func (m *MemoryKeyStore) watchersLocked(changed bool) []func(string) {
	if !changed || len(m.watchers) == 0 {
		return nil
	}
	ids := make([]int, 0, len(m.watchers))
	for id := range m.watchers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fns := make([]func(string), len(ids))
	for i, id := range ids {
		fns[i] = m.watchers[id]
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
