package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inferlabs/privkit/internal/clock"
)

// Errors callers branch on.
var (
	// ErrClosed is returned by a [Log] after Close.
	ErrClosed = errors.New("audit: log closed")
	// ErrInvalidEvent is wrapped by every [*EventError].
	ErrInvalidEvent = errors.New("audit: invalid event")
	// ErrNotFound reports an index at or beyond the log's size.
	ErrNotFound = errors.New("audit: no entry at that index")
	// ErrEmptyLog reports a request that needs at least one entry.
	ErrEmptyLog = errors.New("audit: log is empty")
	// ErrTreeSize reports a tree size larger than the log.
	ErrTreeSize = errors.New("audit: tree size larger than the log")
	// ErrUnsupported reports a store that lacks an optional capability.
	ErrUnsupported = errors.New("audit: store does not support this operation")
)

// DefaultMaxDelay is the default of Options.MaxDelay.
const DefaultMaxDelay = 2 * time.Millisecond

// DefaultRetention is how long entries keep their payload: one year, as
// PCI DSS 10.5.1 asks for twelve months of audit history.
const DefaultRetention = 365 * 24 * time.Hour

// Options configure a [Log]. A nil *Options means all defaults.
type Options struct {
	// Origin names the log in its checkpoints. Empty means the signer's
	// name, so that an auditor's verifier key names the log too.
	Origin string
	// Now is the clock for event times and retention. Nil means time.Now.
	Now func() time.Time
	// Logger receives errors of background work (periodic checkpoints).
	// Nil means slog.Default().
	Logger *slog.Logger
	// CheckpointInterval, when positive, makes the log sign and store a
	// checkpoint this often while it has grown. Zero means checkpoints are
	// made only by [Log.Checkpoint].
	CheckpointInterval time.Duration
	// Retention is how long an entry keeps its payload before
	// [Log.ApplyRetention] strips it. Zero means [DefaultRetention].
	Retention time.Duration
	// MaxBatch bounds how many concurrent appends are committed in one
	// store transaction. Zero means 1024.
	MaxBatch int
	// MaxDelay bounds how long the committer waits for appenders to
	// return before it commits a batch smaller than the concurrency it saw
	// in the previous round; the wait is also at most half the previous
	// commit's duration, so fast stores barely wait. Zero means
	// [DefaultMaxDelay]; negative means never wait. An uncontended append
	// never waits.
	MaxDelay time.Duration
}

// Log is an append-only, tamper-evident audit log: a hash chain of entries
// and an RFC 6962 Merkle tree over them in a [Store], with signed
// checkpoints and proofs. It is safe for concurrent use; concurrent appends
// are committed together (group commit) by a goroutine the Log owns.
// Close stops it.
type Log struct {
	store     Store
	signer    note.Signer
	origin    string
	now       func() time.Time
	logger    *slog.Logger
	retention time.Duration
	maxBatch  int
	maxDelay  time.Duration

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *appendReq
	stop   chan struct{}
	// While the committer lingers for more appends, want is how many
	// queued requests it waits for, and the appender that queues the
	// last of them wakes it through ready; otherwise want is maxWant.
	// (Waking it on every request would cost a context switch each.)
	want  atomic.Int64
	ready chan struct{}
	wg    sync.WaitGroup

	// commitMu is held by whoever commits a batch: the committer
	// goroutine, or an appender on the fast path. It guards the fields
	// below.
	commitMu    sync.Mutex
	front       *frontier // cache of the tree's right edge
	inline      appendReq
	inlineBatch []*appendReq
	pending     []*appendReq // the batch being built
	first       uint64       // index of its first entry
	buildFn     AppendFunc   // l.build, allocated once
	recs        []Record     // reused records slice
	dataSlab    []byte       // leaves are carved from here
	hashSlab    []tlog.Hash  // stored hashes are carved from here
}

type appendReq struct {
	ev   Event
	done chan appendResult
}

type appendResult struct {
	index uint64
	err   error
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan appendResult, 1)} }}

// Open returns a log over store that signs checkpoints with signer. The
// origin is signer.Name() unless opts.Origin is set. The log starts a
// committer goroutine (and a checkpointer if opts.CheckpointInterval is
// set); Close stops them.
func Open(ctx context.Context, store Store, signer note.Signer, opts *Options) (*Log, error) {
	if store == nil {
		return nil, errors.New("audit: Open needs a store")
	}
	if signer == nil {
		return nil, errors.New("audit: Open needs a signer")
	}
	if opts == nil {
		opts = &Options{}
	}
	l := &Log{
		store:     store,
		signer:    signer,
		origin:    opts.Origin,
		now:       clock.NowFunc(opts.Now),
		logger:    opts.Logger,
		retention: opts.Retention,
		maxBatch:  opts.MaxBatch,
		maxDelay:  opts.MaxDelay,
		stop:      make(chan struct{}),
	}
	if l.origin == "" {
		l.origin = signer.Name()
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if l.retention <= 0 {
		l.retention = DefaultRetention
	}
	if l.maxDelay == 0 {
		l.maxDelay = DefaultMaxDelay
	}
	if l.maxBatch <= 0 {
		l.maxBatch = 1024
	}
	if _, err := (Checkpoint{Origin: l.origin}).MarshalText(); err != nil {
		return nil, err
	}
	if _, err := store.Size(ctx); err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	l.buildFn = l.build
	l.reqs = make(chan *appendReq, l.maxBatch)
	l.ready = make(chan struct{}, 1)
	l.want.Store(maxWant)
	l.wg.Add(1)
	go l.commitLoop()
	if opts.CheckpointInterval > 0 {
		l.wg.Add(1)
		go l.checkpointLoop(opts.CheckpointInterval)
	}
	return l, nil
}

// Origin returns the name of the log in its checkpoints.
func (l *Log) Origin() string { return l.origin }

// Store returns the log's store.
func (l *Log) Store() Store { return l.store }

// Append validates e, stamps it with the log's clock if e.Time is zero
// (and reads an empty Outcome as [Success]), and appends it. It returns
// the entry's index once the entry is durable in the store. If ctx ends
// first, Append returns ctx's error and the entry may or may not be
// appended.
func (l *Log) Append(ctx context.Context, e Event) (index uint64, err error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	if e.Outcome == "" {
		e.Outcome = Success
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return 0, ErrClosed
	}
	if l.commitMu.TryLock() {
		// Fast path: no batch is being committed, so commit this event
		// now, with whatever else is queued, without waking the committer.
		// (Close waits for it by taking commitMu.)
		l.mu.RUnlock()
		return l.commitInline(&e)
	}
	r := reqPool.Get().(*appendReq)
	r.ev = e
	done := ctx.Done()
	if done == nil {
		l.reqs <- r
	} else {
		select {
		case l.reqs <- r:
		case <-done:
			l.mu.RUnlock()
			reqPool.Put(r)
			return 0, ctx.Err()
		}
	}
	l.mu.RUnlock()
	if int64(len(l.reqs)) >= l.want.Load() {
		select {
		case l.ready <- struct{}{}:
		default:
		}
	}
	var res appendResult
	if done == nil {
		res = <-r.done
	} else {
		select {
		case res = <-r.done:
		case <-done:
			// The committer still owns r and will send to its buffered
			// channel; r is left to the garbage collector.
			return 0, ctx.Err()
		}
	}
	r.ev = Event{}
	reqPool.Put(r)
	return res.index, res.err
}

// maxWant is Log.want when the committer is not lingering.
const maxWant = 1 << 62

// commitInline commits e and any queued appends; l.commitMu is held.
func (l *Log) commitInline(e *Event) (uint64, error) {
	defer l.commitMu.Unlock()
	own := &l.inline
	own.ev = *e
	batch := append(l.inlineBatch[:0], own)
	batch, _ = l.drain(batch)
	first, err := l.commit(batch)
	for i, r := range batch[1:] {
		r.done <- appendResult{first + uint64(i+1), err}
	}
	own.ev = Event{}
	clear(batch)
	l.inlineBatch = batch[:0]
	return first, err
}

// drain appends to batch the requests queued now, up to maxBatch; it
// reports false once the queue is closed.
func (l *Log) drain(batch []*appendReq) (_ []*appendReq, open bool) {
	for len(batch) < l.maxBatch {
		select {
		case r, ok := <-l.reqs:
			if !ok {
				return batch, false
			}
			batch = append(batch, r)
		default:
			return batch, true
		}
	}
	return batch, true
}

// Record appends e, discarding its index. It lets a *Log serve as the
// one-method Auditor interface other privkit packages declare.
func (l *Log) Record(ctx context.Context, e Event) error {
	_, err := l.Append(ctx, e)
	return err
}

// Close stops accepting appends, commits those already queued, and stops
// the log's goroutines. It does not close the store. Later calls of Close
// return nil; other methods return [ErrClosed].
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	close(l.reqs)
	l.mu.Unlock()
	l.wg.Wait()
	// An appender that took commitMu on the fast path before closed was
	// set may still be committing: wait for it.
	l.commitMu.Lock()
	//lint:ignore SA2001 the empty critical section waits for the holder.
	l.commitMu.Unlock()
	return nil
}

func (l *Log) isClosed() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// commitLoop is the committer. Idle, it waits for an append. Active, it
// holds commitMu (so appenders queue instead of committing inline) and
// commits batch after batch: each takes everything queued, and when fewer
// appenders are queued than were active in the last round, it lingers a
// little (at most MaxDelay, and half the last commit's duration) for them
// to come back, so that steady concurrency fills each transaction instead
// of splitting it in two half-full ones. When a linger brings nothing, it
// goes idle.
func (l *Log) commitLoop() {
	defer l.wg.Done()
	batch := make([]*appendReq, 0, l.maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		r, ok := <-l.reqs
		if !ok {
			return
		}
		l.commitMu.Lock()
		batch = append(batch[:0], r)
		target, linger := 1, time.Duration(0)
		for open := true; ; {
			batch, open = l.fill(batch, target, linger, timer)
			if len(batch) == 0 {
				break
			}
			start := time.Now()
			first, err := l.commit(batch)
			linger = min(l.maxDelay, time.Since(start)/2)
			target = len(batch) + len(l.reqs)
			for i, r := range batch {
				r.done <- appendResult{first + uint64(i), err}
			}
			clear(batch)
			batch = batch[:0]
			if !open {
				l.commitMu.Unlock()
				return
			}
		}
		l.commitMu.Unlock()
	}
}

// fill adds queued appends to batch until it holds target, waiting at most
// linger for them; it reports false once the queue is closed.
func (l *Log) fill(batch []*appendReq, target int, linger time.Duration, timer *time.Timer) (_ []*appendReq, open bool) {
	target = min(target, l.maxBatch)
	waiting := false
	defer func() {
		l.want.Store(maxWant)
		if waiting {
			timer.Stop()
		}
	}()
	for {
		if batch, open = l.drain(batch); !open {
			return batch, false
		}
		if len(batch) >= target || linger <= 0 {
			return batch, true
		}
		// Wait until the appenders queued the rest of the target, or the
		// linger ends. want is set before the queue is looked at, so an
		// appender that queues after the look sees it and wakes us.
		if !waiting {
			waiting = true
			timer.Reset(linger)
		}
		need := int64(target - len(batch))
		l.want.Store(need)
		if int64(len(l.reqs)) >= need {
			continue
		}
		select {
		case <-l.ready:
		case <-timer.C:
			l.want.Store(maxWant)
			waiting = false
			// Take whatever came, then commit.
			return l.drain(batch)
		}
	}
}

// commit appends the batch in one store transaction and returns the index
// of its first entry. l.commitMu is held.
func (l *Log) commit(batch []*appendReq) (uint64, error) {
	l.pending = batch
	err := l.store.Append(context.Background(), l.buildFn)
	l.pending = nil
	clear(l.recs) // drop references to the batch's events
	l.recs = l.recs[:0]
	if err != nil {
		l.front = nil
		return 0, fmt.Errorf("audit: append: %w", err)
	}
	return l.first, nil
}

// slabSize is the size of the buffers leaves and hashes are carved from.
const slabSize = 64 << 10

// build is the AppendFunc of commit: it encodes l.pending as the records
// that follow a log of size entries. l.commitMu is held.
func (l *Log) build(size uint64, hr tlog.HashReader) ([]Record, error) {
	batch := l.pending
	f := l.front
	l.front = nil // until the store confirms the batch
	if f == nil || f.n != size {
		var err error
		if f, err = loadFrontier(size, hr); err != nil {
			return nil, fmt.Errorf("audit: read tree: %w", err)
		}
	}
	l.first = size
	// Leaves and hashes are carved from slabs that every batch reuses (a
	// store copies what it keeps), as is the records slice.
	total, nhash := 0, 0
	for i, r := range batch {
		total += 1 + leafSize(&r.ev)
		nhash += 1 + bits.TrailingZeros64(^(size + uint64(i)))
	}
	if cap(l.dataSlab) < total {
		l.dataSlab = make([]byte, 0, max(slabSize, total))
	}
	if cap(l.hashSlab) < nhash {
		l.hashSlab = make([]tlog.Hash, 0, max(slabSize/tlog.HashSize, nhash))
	}
	l.dataSlab, l.hashSlab = l.dataSlab[:0], l.hashSlab[:0]
	recs := l.recs[:0]
	for i, r := range batch {
		// Each leaf is preceded by a 0x00 byte, so that its RFC 6962 leaf
		// hash is one SHA-256 call.
		start := len(l.dataSlab)
		data := append(l.dataSlab, 0)
		data, err := appendLeaf(data, size+uint64(i), f.last, &r.ev)
		if err != nil {
			return nil, err
		}
		l.dataSlab = data
		prefixed := data[start:len(data):len(data)]
		h := len(l.hashSlab)
		l.hashSlab = f.add(sha256.Sum256(prefixed), l.hashSlab)
		ev := &r.ev
		recs = append(recs, Record{
			Index: size + uint64(i), Data: prefixed[1:], Hashes: l.hashSlab[h:len(l.hashSlab):len(l.hashSlab)],
			Time: ev.Time, Actor: ev.Actor, Subject: ev.Subject, Resource: ev.Resource, Action: ev.Action,
		})
	}
	l.recs = recs
	l.front = f
	return recs, nil
}

// GenerateKey returns a new Ed25519 checkpoint signing key and its verifier
// key, in the text forms of golang.org/x/mod/sumdb/note, for a log named
// origin. Keep the signer key secret; publish the verifier key to
// auditors.
func GenerateKey(origin string) (signerKey, verifierKey string, err error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("audit: generate key: %w", err)
	}
	return skey, vkey, nil
}
