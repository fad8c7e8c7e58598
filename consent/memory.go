package consent

import (
	"context"
	"slices"
	"sync"
)

// MemoryStore is an in-memory [Store] for tests, examples and single-process
// hosts that keep no consent across restarts. It is safe for concurrent use;
// its [Watcher] is complete, so Managers sharing one MemoryStore see each
// other's decisions at once. The zero value is not usable; use
// [NewMemoryStore].
type MemoryStore struct {
	mu        sync.Mutex
	log       []Decision
	bySubject map[string][]int // indexes into log
	watchers  map[int]func(string)
	nextW     int
}

var (
	_ Store   = (*MemoryStore)(nil)
	_ Watcher = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{bySubject: make(map[string][]int), watchers: make(map[int]func(string))}
}

// Append implements [Store].
func (s *MemoryStore) Append(ctx context.Context, d Decision) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	s.mu.Lock()
	d.Seq = int64(len(s.log)) + 1
	s.log = append(s.log, d)
	s.bySubject[d.Subject] = append(s.bySubject[d.Subject], len(s.log)-1)
	ws := make([]func(string), 0, len(s.watchers))
	for _, w := range s.watchers {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w(d.Subject)
	}
	return d, nil
}

// History implements [Store].
func (s *MemoryStore) History(ctx context.Context, subject string) ([]Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.bySubject[subject]
	out := make([]Decision, len(idx))
	for i, j := range idx {
		out[i] = s.log[j]
	}
	return out, nil
}

// Changes implements [Store].
func (s *MemoryStore) Changes(ctx context.Context, after int64, limit int) ([]Decision, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	head := int64(len(s.log))
	if limit <= 0 || after >= head {
		return nil, head, nil
	}
	after = max(after, 0)
	end := min(head, after+int64(limit))
	return slices.Clone(s.log[after:end]), head, nil
}

// Watch implements [Watcher]: fn runs before Append returns, for every
// writer (all writers share this value), so complete is true.
func (s *MemoryStore) Watch(fn func(subject string)) (stop func(), complete bool) {
	s.mu.Lock()
	id := s.nextW
	s.nextW++
	s.watchers[id] = fn
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.watchers, id)
		s.mu.Unlock()
	}, true
}
