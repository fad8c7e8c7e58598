package audit

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/mod/sumdb/tlog"
)

// MemoryStore is a [Store] in process memory, for tests and ephemeral logs:
// nothing survives the process. It also implements [CheckpointStore],
// [SearchStore] and [StripStore]. It is safe for concurrent use; the zero
// value is not: use [NewMemoryStore].
//
// It keeps everything in large pointer-free arrays (leaf bytes in an arena,
// stored hashes by their tlog storage index, records as offsets), so that a
// big log costs the garbage collector next to nothing. Strip forgets an
// entry's leaf; its bytes stay in the arena until the store is dropped.
type MemoryStore struct {
	mu          sync.RWMutex
	records     chunked[memRecord]
	hashes      chunked[tlog.Hash] // every stored hash, by storage index
	arena       [][]byte           // leaf bytes; full chunks are never written again
	checkpoints map[uint64][]byte
	latest      uint64
	hasLatest   bool
}

// memRecord locates one entry's leaf in the arena. It holds no pointers.
type memRecord struct {
	chunk, off, n uint32 // n is 0 once the entry is stripped
	time          int64  // Unix nanoseconds
}

// arenaChunk is the size of the arena's chunks; a leaf is at most
// MaxLeafSize, so it always fits in one.
const arenaChunk = 1 << 20

// chunked is an append-only slice kept in fixed-size chunks, so that growth
// never copies what is already stored.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkSize = 4096

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) at(i int) *T { return &c.chunks[i/chunkSize][i%chunkSize] }

// span returns elements [i, i+n) without copying if they lie in one chunk,
// and a copy otherwise.
func (c *chunked[T]) span(i, n int) []T {
	if i/chunkSize == (i+n-1)/chunkSize {
		ch := c.chunks[i/chunkSize]
		return ch[i%chunkSize : i%chunkSize+n : i%chunkSize+n]
	}
	out := make([]T, n)
	for k := range out {
		out[k] = *c.at(i + k)
	}
	return out
}

// add appends one element.
func (c *chunked[T]) add(v T) {
	if c.n%chunkSize == 0 {
		c.chunks = append(c.chunks, make([]T, 0, chunkSize))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
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

// Append implements [Store]. It copies the records' leaves and hashes.
func (m *MemoryStore) Append(ctx context.Context, fn AppendFunc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	size := uint64(m.records.len())
	recs, err := fn(size, memHashReader{m})
	if err != nil {
		return err
	}
	nh := int64(m.hashes.len())
	for i := range recs {
		r := &recs[i]
		if r.Index != size+uint64(i) {
			return fmt.Errorf("audit: memory store: record %d appended at size %d", r.Index, size+uint64(i))
		}
		if nh != tlog.StoredHashIndex(0, int64(r.Index)) || len(r.Hashes) == 0 {
			return fmt.Errorf("audit: memory store: record %d has the wrong hashes", r.Index)
		}
		if len(r.Data) == 0 || len(r.Data) > MaxLeafSize {
			return fmt.Errorf("audit: memory store: record %d has no leaf", r.Index)
		}
		nh += int64(len(r.Hashes))
	}
	for i := range recs {
		r := &recs[i]
		for _, h := range r.Hashes {
			m.hashes.add(h)
		}
		n := len(r.Data)
		if len(m.arena) == 0 || cap(m.arena[len(m.arena)-1])-len(m.arena[len(m.arena)-1]) < n {
			m.arena = append(m.arena, make([]byte, 0, arenaChunk))
		}
		ch := &m.arena[len(m.arena)-1]
		off := len(*ch)
		*ch = append(*ch, r.Data...)
		m.records.add(memRecord{chunk: uint32(len(m.arena) - 1), off: uint32(off), n: uint32(n), time: r.Time.UnixNano()})
	}
	return nil
}

type memHashReader struct{ m *MemoryStore }

// ReadHashes is called with m.mu held.
func (r memHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return r.m.readHashes(indexes)
}

// readHashes returns the stored hashes at the given storage indexes.
func (m *MemoryStore) readHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(m.hashes.len()) {
			return nil, fmt.Errorf("audit: memory store: no hash at storage index %d", x)
		}
		out[i] = *m.hashes.at(int(x))
	}
	return out, nil
}

// record returns entry i as a Record. Its Data, Hashes and strings share
// the store's memory, which is never written again.
func (m *MemoryStore) record(i int) Record {
	mr := m.records.at(i)
	h := tlog.StoredHashIndex(0, int64(i))
	r := Record{
		Index:  uint64(i),
		Hashes: m.hashes.span(int(h), 1+bits.TrailingZeros64(^uint64(i))),
		Time:   time.Unix(0, mr.time).UTC(),
	}
	if mr.n > 0 {
		ch := m.arena[mr.chunk]
		r.Data = ch[mr.off : mr.off+mr.n : mr.off+mr.n]
		r.Actor, r.Action, r.Resource, r.Subject = leafIdentity(r.Data)
	}
	return r
}

// leafIdentity returns the actor, action, resource and subject of a leaf
// the log wrote, as strings that share the leaf's bytes (which must never
// change), or empty strings if the leaf is malformed.
func leafIdentity(data []byte) (actor, action, resource, subject string) {
	d := data[min(len(data), prevOffset+32+8):]
	var f [5]string // actor, on-behalf-of, action, resource, subject
	for k := range f {
		if len(d) < 2 {
			return "", "", "", ""
		}
		n := 2 + int(binary.BigEndian.Uint16(d))
		if len(d) < n {
			return "", "", "", ""
		}
		if n > 2 {
			f[k] = unsafe.String(&d[2], n-2)
		}
		d = d[n:]
	}
	return f[0], f[2], f[3], f[4]
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
		out = append(out, m.record(int(i)))
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
		if m.records.at(int(i)).n == 0 {
			continue
		}
		if r := m.record(int(i)); f.match(&r) {
			out = append(out, r)
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
		if r.n > 0 && time.Unix(0, r.time).Before(cutoff) {
			r.n = 0
			n++
		}
	}
	return n, nil
}
