package audit

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrTampered is wrapped by every [*VerifyError]: the store's contents are
// not the log its checkpoints and hash chain commit to.
var ErrTampered = errors.New("audit: log does not verify")

// VerifyError reports the first place where a log fails verification.
type VerifyError struct {
	// Index is the first entry found bad, or the log's size when the
	// problem is an entry missing at the end or a checkpoint.
	Index uint64
	// Reason says what is wrong, without quoting entry contents.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error names the first bad index and the reason.
func (e *VerifyError) Error() string {
	s := fmt.Sprintf("audit: log does not verify at entry %d: %s", e.Index, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns [ErrTampered] and the underlying error.
func (e *VerifyError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrTampered}
	}
	return []error{ErrTampered, e.Err}
}

// VerifyOptions configure [Verify].
type VerifyOptions struct {
	// Verifier checks checkpoint signatures. It is required: without the
	// log's public key nothing ties the entries to what the log signed.
	Verifier note.Verifier
	// Origin is the log's origin; empty means Verifier.Name().
	Origin string
	// Checkpoints are signed checkpoints the caller holds from earlier
	// (an auditor's copies, a witness's). Each must be consistent with
	// the log; one larger than the log proves a truncation.
	Checkpoints [][]byte
}

// VerifyResult summarises a successful [Verify].
type VerifyResult struct {
	// Size is the number of entries verified.
	Size uint64
	// Root is the RFC 6962 root of those entries, recomputed from them.
	Root tlog.Hash
	// Stripped counts entries whose payload retention removed; for them
	// only the stored leaf hash could be used.
	Stripped uint64
	// Latest is the largest verified checkpoint, or nil if there was none.
	Latest *Checkpoint
	// Checkpoints counts the checkpoints checked against the entries.
	Checkpoints int
}

// Verify checks a whole log independently of the [Log] that wrote it. It
// reads every record from store and never trusts stored hashes alone: it
// re-hashes each leaf, checks the leaf's index and its link to the previous
// leaf hash (the chain), recomputes the Merkle tree and compares every
// stored tree hash with it, and checks the store's latest checkpoint and
// opts.Checkpoints: valid signatures, sizes not beyond the log, roots equal
// to the recomputed roots at their sizes.
//
// So a changed byte, a deleted, inserted or reordered entry, and a log
// truncated below a checkpoint are each reported as a [*VerifyError] with
// the first bad index. Stripped entries (see [Log.ApplyRetention]) keep
// only their leaf hash; it still has to fit the chain and the tree.
func Verify(ctx context.Context, store Store, opts *VerifyOptions) (*VerifyResult, error) {
	if opts == nil || opts.Verifier == nil {
		return nil, errors.New("audit: Verify needs the log's verifier key")
	}
	n, err := store.Size(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	msgs := opts.Checkpoints
	if cs, ok := store.(CheckpointStore); ok {
		latest, err := cs.LatestCheckpoint(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		if latest != nil {
			msgs = append([][]byte{latest}, msgs...)
		}
	}
	res := &VerifyResult{}
	var beyond *Checkpoint // a checkpoint of more entries than the store has
	want := make(map[uint64][]Checkpoint)
	for _, msg := range msgs {
		c, err := VerifyCheckpoint(msg, opts.Origin, opts.Verifier)
		if err != nil {
			return nil, &VerifyError{Index: n, Reason: "checkpoint does not verify", Err: err}
		}
		if c.Size > n {
			// Reported after the scan, which may find an earlier cause.
			if beyond == nil || c.Size > beyond.Size {
				beyond = &c
			}
			continue
		}
		want[c.Size] = append(want[c.Size], c)
		if res.Latest == nil || c.Size > res.Latest.Size {
			cc := c
			res.Latest = &cc
		}
	}
	f := &frontier{}
	check := func() error {
		for _, c := range want[f.n] {
			if c.Root != f.root() {
				return &VerifyError{Index: f.n, Reason: fmt.Sprintf("the checkpoint of size %d has another root", c.Size)}
			}
			res.Checkpoints++
		}
		return nil
	}
	if err := check(); err != nil {
		return nil, err
	}
	const chunk = 4096
	buf := make([]tlog.Hash, 0, 64)
	var scratch []byte
	for start := uint64(0); start < n; start += chunk {
		end := min(start+chunk, n)
		recs, err := store.ReadRecords(ctx, start, end)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: read entries %d-%d: %w", start, end, err)
		}
		for i := range recs {
			r := &recs[i]
			idx := start + uint64(i)
			if r.Index != idx {
				return nil, &VerifyError{Index: idx, Reason: fmt.Sprintf("entry missing (the store skips to index %d)", r.Index)}
			}
			if len(r.Hashes) == 0 {
				return nil, &VerifyError{Index: idx, Reason: "stored leaf hash missing"}
			}
			var h tlog.Hash
			if r.Data == nil {
				h = r.Hashes[0]
				res.Stripped++
			} else {
				index, prev, err := checkLeaf(r.Data)
				if err != nil {
					return nil, &VerifyError{Index: idx, Reason: "entry does not decode", Err: err}
				}
				if index != idx {
					return nil, &VerifyError{Index: idx, Reason: fmt.Sprintf("entry says it is entry %d", index)}
				}
				if prev != f.last {
					return nil, &VerifyError{Index: idx, Reason: "hash chain broken: previous-entry hash does not match"}
				}
				h, scratch = leafHash(scratch, r.Data)
				if h != r.Hashes[0] {
					return nil, &VerifyError{Index: idx, Reason: "entry does not match its stored leaf hash"}
				}
			}
			buf = f.add(h, buf[:0])
			if len(buf) != len(r.Hashes) {
				return nil, &VerifyError{Index: idx, Reason: "wrong number of stored tree hashes"}
			}
			for k := range buf {
				if buf[k] != r.Hashes[k] {
					return nil, &VerifyError{Index: idx, Reason: "stored tree hashes disagree with the entries"}
				}
			}
			if err := check(); err != nil {
				return nil, err
			}
		}
		if uint64(len(recs)) != end-start {
			return nil, &VerifyError{Index: start + uint64(len(recs)), Reason: "entry missing"}
		}
	}
	if beyond != nil {
		return nil, &VerifyError{Index: n, Reason: fmt.Sprintf("log truncated: a checkpoint commits to %d entries, the log has %d", beyond.Size, n)}
	}
	res.Size = n
	res.Root = f.root()
	return res, nil
}
