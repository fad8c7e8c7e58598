package audit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// MemoryStore is a [Store] in process memory, for tests and ephemeral logs:
// nothing survives the process. It also implements [CheckpointStore],
// [SearchStore] and [StripStore]. It is safe for concurrent use; the zero
// value is not: use [NewMemoryStore].
type MemoryStore struct {
	mu          sync.RWMutex
	records     chunked[Record] // each holds the stored hashes it added
	nhashes     int64           // tlog stored hashes in all
	checkpoints map[uint64][]byte
	latest      uint64
	hasLatest   bool
}

// chunked is an append-only slice kept in fixed-size chunks, so that growth
// never copies what is already stored.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkSize = 4096

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) at(i int) *T { return &c.chunks[i/chunkSize][i%chunkSize] }

func (c *chunked[T]) append(vs ...T) {
	for len(vs) > 0 {
		if c.n%chunkSize == 0 {
			c.chunks = append(c.chunks, make([]T, 0, chunkSize))
		}
		last := &c.chunks[len(c.chunks)-1]
		k := min(len(vs), chunkSize-len(*last))
		*last = append(*last, vs[:k]...)
		c.n += k
		vs = vs[k:]
	}
}

var (
	_ Store           = (*MemoryStore)(nil)
	_ CheckpointStore = (*MemoryStore)(nil)
	_ SearchStore     = (*MemoryStore)(nil)
	_ StripStore      = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{checkpoints: make(map[uint64][]byte)}
}

// Append implements [Store].
func (m *MemoryStore) Append(ctx context.Context, fn AppendFunc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	size := uint64(m.records.len())
	recs, err := fn(size, memHashReader{m})
	if err != nil {
		return err
	}
	nh := m.nhashes
	for i := range recs {
		r := &recs[i]
		if r.Index != size+uint64(i) {
			return fmt.Errorf("audit: memory store: record %d appended at size %d", r.Index, size+uint64(i))
		}
		if nh != tlog.StoredHashIndex(0, int64(r.Index)) || len(r.Hashes) == 0 {
			return fmt.Errorf("audit: memory store: record %d has the wrong hashes", r.Index)
		}
		nh += int64(len(r.Hashes))
	}
	m.nhashes = nh
	m.records.append(recs...)
	return nil
}

type memHashReader struct{ m *MemoryStore }

// ReadHashes is called with m.mu held.
func (r memHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return r.m.readHashes(indexes)
}

// readHashes finds each stored hash in the record that added it: the hash
// of tree level L, index k, in record (k+1)·2^L − 1 at position L.
func (m *MemoryStore) readHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= m.nhashes {
			return nil, fmt.Errorf("audit: memory store: no hash at storage index %d", x)
		}
		level, k := tlog.SplitStoredHashIndex(x)
		r := m.records.at(int((k+1)<<level - 1))
		if level >= len(r.Hashes) {
			return nil, fmt.Errorf("audit: memory store: no hash at storage index %d", x)
		}
		out[i] = r.Hashes[level]
	}
	return out, nil
}

// Size implements [Store].
func (m *MemoryStore) Size(ctx context.Context) (uint64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return uint64(m.records.len()), nil
}

// ReadRecords implements [Store].
func (m *MemoryStore) ReadRecords(ctx context.Context, start, end uint64) ([]Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	end = min(end, uint64(m.records.len()))
	if start >= end {
		return nil, nil
	}
	out := make([]Record, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, *m.records.at(int(i)))
	}
	return out, nil
}

// ReadHashes implements [Store].
func (m *MemoryStore) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.readHashes(indexes)
}

// SaveCheckpoint implements [CheckpointStore].
func (m *MemoryStore) SaveCheckpoint(ctx context.Context, size uint64, note []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.checkpoints[size]; ok {
		return nil
	}
	m.checkpoints[size] = append([]byte(nil), note...)
	if !m.hasLatest || size > m.latest {
		m.latest, m.hasLatest = size, true
	}
	return nil
}

// LatestCheckpoint implements [CheckpointStore].
func (m *MemoryStore) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.hasLatest {
		return nil, nil
	}
	return append([]byte(nil), m.checkpoints[m.latest]...), nil
}

// Search implements [SearchStore] by scanning.
func (m *MemoryStore) Search(ctx context.Context, f Filter) ([]Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Record
	for i := f.Start; i < uint64(m.records.len()) && len(out) < max(f.Limit, 1); i++ {
		if r := m.records.at(int(i)); f.match(r) {
			out = append(out, *r)
		}
	}
	return out, nil
}

// Strip implements [StripStore].
func (m *MemoryStore) Strip(ctx context.Context, cutoff time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for i := range m.records.len() {
		r := m.records.at(i)
		if r.Data != nil && r.Time.Before(cutoff) {
			*r = Record{Index: r.Index, Hashes: r.Hashes, Time: r.Time}
			n++
		}
	}
	return n, nil
}
