package retention

import (
	"context"
	"fmt"
	"sync"
)

// BatchRecorder is an optional interface of a [Journal]: RecordBatch
// records several entries in one transaction, each exactly as
// [Journal.Record] would, and returns one error per entry (nil,
// ErrConflict or ErrNotFound). A non-nil second result means the store
// failed and recorded none of them. The sweeper uses it to group-commit the
// journal steps of concurrent deletions.
type BatchRecorder interface {
	RecordBatch(ctx context.Context, entries []JournalEntry) ([]error, error)
}

// BatchClaimer is an optional interface of a [Journal]: ClaimBatch claims
// exactly as [Journal.Claim] does and, in the same transaction, journals
// the entry first returns for each claimed item, as
// [BatchRecorder.RecordBatch] would. first is called once per claimed item
// (as returned: claimed, Attempts incremented), in ID order, and must not
// call the store. The second result holds one error per returned item
// (nil, ErrConflict or ErrInvalid for its first entry); a non-nil third
// result means the store failed and claimed nothing. The sweeper uses it to
// claim a batch and journal every item's first step in one commit.
type BatchClaimer interface {
	ClaimBatch(ctx context.Context, r ClaimRequest, first func(Item) JournalEntry) ([]Item, []error, error)
}

// journalWriter group-commits the journal entries of a sweep's workers:
// while one group commits, the next accumulates, so a durable store pays one
// commit for many steps. Workers hand an entry over with submit and go on
// with their next item; the sweep waits for the results at the end of the
// batch. It is owned by one sweep, which closes it.
type journalWriter struct {
	m  *Manager
	ch chan pendingEntry
	wg sync.WaitGroup
}

type pendingEntry struct {
	ctx context.Context
	e   JournalEntry
	res chan error
}

// maxGroup caps the entries of one group commit.
const maxGroup = 1024

func (m *Manager) newJournalWriter() *journalWriter {
	w := &journalWriter{m: m, ch: make(chan pendingEntry, maxGroup)}
	w.wg.Add(1)
	go w.run()
	return w
}

// submit queues e and returns the channel its result will be sent on. It
// blocks only while maxGroup entries are already queued.
func (w *journalWriter) submit(ctx context.Context, e JournalEntry) <-chan error {
	p := pendingEntry{ctx: ctx, e: e, res: make(chan error, 1)}
	select {
	case w.ch <- p:
	case <-ctx.Done():
		p.res <- ctx.Err()
	}
	return p.res
}

func (w *journalWriter) close() {
	close(w.ch)
	w.wg.Wait()
}

func (w *journalWriter) run() {
	defer w.wg.Done()
	for p := range w.ch {
		batch := []pendingEntry{p}
	drain:
		for len(batch) < maxGroup {
			select {
			case q, ok := <-w.ch:
				if !ok {
					break drain
				}
				batch = append(batch, q)
			default:
				break drain
			}
		}
		w.flush(batch)
	}
}

func (w *journalWriter) flush(batch []pendingEntry) {
	br, ok := w.m.store.(BatchRecorder)
	if !ok || len(batch) == 1 {
		for _, p := range batch {
			p.res <- w.m.store.Record(p.ctx, p.e)
		}
		return
	}
	entries := make([]JournalEntry, len(batch))
	for i, p := range batch {
		entries[i] = p.e
	}
	// The entries come from one sweep, whose context they share.
	errs, err := br.RecordBatch(batch[0].ctx, entries)
	for i, p := range batch {
		switch {
		case err != nil:
			p.res <- err
		case i < len(errs):
			p.res <- errs[i]
		default:
			p.res <- fmt.Errorf("retention: batch recorder returned %d results for %d entries", len(errs), len(entries))
		}
	}
}
