package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// EmptyRoot is the RFC 6962 root hash of the empty tree, SHA-256 of nothing.
var EmptyRoot = tlog.Hash(sha256.Sum256(nil))

// nodeHash is tlog.NodeHash with one-shot SHA-256: SHA-256(0x01 || l || r).
func nodeHash(l, r tlog.Hash) tlog.Hash {
	var b [1 + 2*tlog.HashSize]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[1+tlog.HashSize:], r[:])
	return sha256.Sum256(b[:])
}

// leafHash is tlog.RecordHash with one-shot SHA-256: SHA-256(0x00 || data).
// scratch is a reusable buffer; the grown buffer is returned.
func leafHash(scratch, data []byte) (tlog.Hash, []byte) {
	scratch = append(append(scratch[:0], 0), data...)
	return sha256.Sum256(scratch), scratch
}

// frontier is the right edge of a Merkle tree of size n: the roots of its
// complete subtrees, largest (leftmost) first, one per set bit of n. It is
// the state needed to append leaves and compute the root without reading
// the rest of the tree.
type frontier struct {
	n     uint64
	nodes []tlog.Hash
	last  tlog.Hash // leaf hash of entry n-1 (zero for n == 0): the chain
}

// frontierIndexes returns the tlog storage indexes of the frontier of a
// tree of size n, largest subtree first, followed by the index of the last
// leaf hash.
func frontierIndexes(n uint64) []int64 {
	idx := make([]int64, 0, bits.OnesCount64(n)+1)
	var start uint64
	for level := 63; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, int64(start>>level)))
			start += 1 << level
		}
	}
	if n > 0 {
		idx = append(idx, tlog.StoredHashIndex(0, int64(n-1)))
	}
	return idx
}

// loadFrontier reads the frontier of a tree of size n from hr.
func loadFrontier(n uint64, hr tlog.HashReader) (*frontier, error) {
	idx := frontierIndexes(n)
	hs, err := hr.ReadHashes(idx)
	if err != nil {
		return nil, err
	}
	if len(hs) != len(idx) {
		return nil, fmt.Errorf("audit: store returned %d hashes, want %d", len(hs), len(idx))
	}
	f := &frontier{n: n}
	if n > 0 {
		f.nodes = hs[: len(hs)-1 : len(hs)-1]
		f.last = hs[len(hs)-1]
	}
	return f, nil
}

// add appends leaf hash h as leaf f.n and appends to dst the stored hashes
// it completes, in tlog.StoredHashes order.
func (f *frontier) add(h tlog.Hash, dst []tlog.Hash) []tlog.Hash {
	f.last = h
	dst = append(dst, h)
	for n := f.n; n&1 == 1; n >>= 1 {
		left := f.nodes[len(f.nodes)-1]
		f.nodes = f.nodes[:len(f.nodes)-1]
		h = nodeHash(left, h)
		dst = append(dst, h)
	}
	f.nodes = append(f.nodes, h)
	f.n++
	return dst
}

// root returns the RFC 6962 root of the tree.
func (f *frontier) root() tlog.Hash {
	if f.n == 0 {
		return EmptyRoot
	}
	h := f.nodes[len(f.nodes)-1]
	for i := len(f.nodes) - 2; i >= 0; i-- {
		h = nodeHash(f.nodes[i], h)
	}
	return h
}

// Errors of proof verification.
var (
	// ErrProof reports a proof that does not prove what it claims.
	ErrProof = errors.New("audit: proof does not verify")
	// ErrProofInput reports indexes or sizes a proof cannot exist for:
	// an index outside the tree, a first size larger than the second, or
	// a consistency proof from the empty tree.
	ErrProofInput = errors.New("audit: invalid proof request")
)

// VerifyInclusion checks that proof shows the leaf with hash leafHash at
// index in the tree of the given size with the given root, by the
// algorithm of RFC 9162 §2.1.3.2. It is privkit's own verifier; tlog's
// CheckRecord and transparency-dev/merkle accept the same proofs.
func VerifyInclusion(index, size uint64, leafHash, root tlog.Hash, proof []tlog.Hash) error {
	if index >= size {
		return fmt.Errorf("%w: index %d is not below size %d", ErrProofInput, index, size)
	}
	fn, sn := index, size-1
	r := leafHash
	for _, p := range proof {
		if sn == 0 {
			return fmt.Errorf("%w: proof too long", ErrProof)
		}
		if fn&1 == 1 || fn == sn {
			r = tlog.NodeHash(p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = tlog.NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: proof too short", ErrProof)
	}
	if r != root {
		return fmt.Errorf("%w: root mismatch", ErrProof)
	}
	return nil
}

// VerifyConsistency checks that proof shows the tree of size1 with root1 is
// a prefix of the tree of size2 with root2, by the algorithm of RFC 9162
// §2.1.4.2. Equal sizes need an empty proof and equal roots. A proof from
// the empty tree (size1 == 0, whatever size2) is rejected with
// [ErrProofInput]: every tree extends the empty tree, so such a "proof"
// proves nothing (the rule of current transparency-dev/merkle).
func VerifyConsistency(size1, size2 uint64, root1, root2 tlog.Hash, proof []tlog.Hash) error {
	switch {
	case size1 > size2:
		return fmt.Errorf("%w: size %d is larger than size %d", ErrProofInput, size1, size2)
	case size1 == 0:
		return fmt.Errorf("%w: consistency from the empty tree", ErrProofInput)
	case size1 == size2:
		if len(proof) != 0 {
			return fmt.Errorf("%w: proof for equal sizes is not empty", ErrProof)
		}
		if root1 != root2 {
			return fmt.Errorf("%w: root mismatch", ErrProof)
		}
		return nil
	}
	if len(proof) == 0 {
		return fmt.Errorf("%w: empty proof", ErrProof)
	}
	if size1&(size1-1) == 0 { // size1 is a power of two: its root is implied
		proof = append([]tlog.Hash{root1}, proof...)
	}
	fn, sn := size1-1, size2-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return fmt.Errorf("%w: proof too long", ErrProof)
		}
		if fn&1 == 1 || fn == sn {
			fr = tlog.NodeHash(c, fr)
			sr = tlog.NodeHash(c, sr)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = tlog.NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: proof too short", ErrProof)
	}
	if fr != root1 || sr != root2 {
		return fmt.Errorf("%w: root mismatch", ErrProof)
	}
	return nil
}
