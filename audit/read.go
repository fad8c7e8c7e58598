package audit

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// ctxHashReader adapts a Store to tlog.HashReader for one call.
func ctxHashReader(ctx context.Context, s Store) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, idx) })
}

// Size returns the number of entries in the log.
func (l *Log) Size(ctx context.Context) (uint64, error) {
	if l.isClosed() {
		return 0, ErrClosed
	}
	n, err := l.store.Size(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: size: %w", err)
	}
	return n, nil
}

// Entry returns the entry at index, decoded and checked against its stored
// leaf hash. It is a low-level read for verifiers and proofs and is not
// itself audited; to look up entries about people use [Log.Query], which
// is. A stripped entry is returned with Stripped set and no event. An index
// at or beyond the log's size yields [ErrNotFound].
func (l *Log) Entry(ctx context.Context, index uint64) (*Entry, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	recs, err := l.store.ReadRecords(ctx, index, index+1)
	if err != nil {
		return nil, fmt.Errorf("audit: read entry %d: %w", index, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, index)
	}
	return recordEntry(&recs[0])
}

// recordEntry decodes a stored record and checks it against its own leaf
// hash and index.
func recordEntry(r *Record) (*Entry, error) {
	if len(r.Hashes) == 0 {
		return nil, &VerifyError{Index: r.Index, Reason: "record has no leaf hash"}
	}
	if r.Data == nil {
		return &Entry{Index: r.Index, Hash: r.Hashes[0], Stripped: true}, nil
	}
	e, err := ParseEntry(r.Data)
	if err != nil {
		return nil, &VerifyError{Index: r.Index, Reason: "leaf does not decode", Err: err}
	}
	if e.Index != r.Index {
		return nil, &VerifyError{Index: r.Index, Reason: fmt.Sprintf("leaf says index %d", e.Index)}
	}
	if e.Hash != r.Hashes[0] {
		return nil, &VerifyError{Index: r.Index, Reason: "leaf does not match its stored hash"}
	}
	return e, nil
}

// checkSize returns the log's size and checks 0 < size <= that.
func (l *Log) checkSize(ctx context.Context, size uint64) error {
	if l.isClosed() {
		return ErrClosed
	}
	if size == 0 {
		return ErrEmptyLog
	}
	n, err := l.store.Size(ctx)
	if err != nil {
		return fmt.Errorf("audit: size: %w", err)
	}
	if size > n {
		return fmt.Errorf("%w: %d > %d", ErrTreeSize, size, n)
	}
	return nil
}

// InclusionProof returns the RFC 6962 audit path proving that the entry at
// index is in the tree of the given size (the size of a checkpoint the
// verifier holds). Verify it with [VerifyInclusion], tlog.CheckRecord or
// transparency-dev/merkle's proof.VerifyInclusion. It fails with
// [ErrEmptyLog] for size 0, [ErrTreeSize] if size exceeds the log and
// [ErrNotFound] if index >= size.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([]tlog.Hash, error) {
	if err := l.checkSize(ctx, size); err != nil {
		return nil, err
	}
	if index >= size {
		return nil, fmt.Errorf("%w: %d in a tree of size %d", ErrNotFound, index, size)
	}
	p, err := tlog.ProveRecord(int64(size), int64(index), ctxHashReader(ctx, l.store))
	if err != nil {
		return nil, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size1 is a
// prefix of the tree of size2. Verify it with [VerifyConsistency],
// tlog.CheckTree or transparency-dev/merkle. It fails with [ErrEmptyLog]
// if size1 is 0 (nothing to prove), [ErrProofInput] if size1 > size2 and
// [ErrTreeSize] if size2 exceeds the log. Equal sizes give an empty proof.
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([]tlog.Hash, error) {
	if size1 > size2 {
		return nil, fmt.Errorf("%w: size %d is larger than size %d", ErrProofInput, size1, size2)
	}
	if err := l.checkSize(ctx, size2); err != nil {
		return nil, err
	}
	if size1 == 0 {
		return nil, fmt.Errorf("%w: consistency from the empty tree", ErrEmptyLog)
	}
	p, err := tlog.ProveTree(int64(size2), int64(size1), ctxHashReader(ctx, l.store))
	if err != nil {
		return nil, fmt.Errorf("audit: consistency proof: %w", err)
	}
	return p, nil
}

// Root returns the RFC 6962 root hash of the first size entries.
func (l *Log) Root(ctx context.Context, size uint64) (tlog.Hash, error) {
	if size == 0 {
		if l.isClosed() {
			return tlog.Hash{}, ErrClosed
		}
		return EmptyRoot, nil
	}
	if err := l.checkSize(ctx, size); err != nil {
		return tlog.Hash{}, err
	}
	h, err := tlog.TreeHash(int64(size), ctxHashReader(ctx, l.store))
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("audit: tree hash: %w", err)
	}
	return h, nil
}

// Checkpoint signs and returns a checkpoint of the log as it is now: a
// C2SP tlog-checkpoint in a signed note. If the store is a
// [CheckpointStore] the checkpoint is saved there too. Verify it with
// [VerifyCheckpoint] or golang.org/x/mod/sumdb/note.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	msg, _, err := l.checkpoint(ctx)
	return msg, err
}

func (l *Log) checkpoint(ctx context.Context) ([]byte, uint64, error) {
	n, err := l.store.Size(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("audit: checkpoint: %w", err)
	}
	root := EmptyRoot
	if n > 0 {
		if root, err = tlog.TreeHash(int64(n), ctxHashReader(ctx, l.store)); err != nil {
			return nil, 0, fmt.Errorf("audit: checkpoint: %w", err)
		}
	}
	msg, err := SignCheckpoint(Checkpoint{Origin: l.origin, Size: n, Root: root}, l.signer)
	if err != nil {
		return nil, 0, err
	}
	if cs, ok := l.store.(CheckpointStore); ok {
		if err := cs.SaveCheckpoint(ctx, n, msg); err != nil {
			return nil, 0, fmt.Errorf("audit: save checkpoint: %w", err)
		}
	}
	return msg, n, nil
}

// checkpointLoop signs a checkpoint every interval while the log grows.
func (l *Log) checkpointLoop(interval time.Duration) {
	defer l.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var last uint64
	have := false
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(interval, time.Second))
		n, err := l.store.Size(ctx)
		if err == nil && (!have || n != last) {
			_, n, err = l.checkpoint(ctx)
			if err == nil {
				last, have = n, true
			}
		}
		cancel()
		if err != nil {
			l.logger.Error("audit: periodic checkpoint failed", "err", err)
		}
	}
}
