package encryption

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
)

// scratch is a small free list of byte buffers that, unlike a sync.Pool,
// the garbage collector leaves alone. It is safe for concurrent use.
//
// The keyring binds the associated data of every record into a scratch
// buffer. A sync.Pool did that job badly for large records: every
// collection empties a pool and drops its per-P arrays, and sealing 1 MiB
// records collects every few calls, so the pool's buffers and arrays were
// made again nearly every call. Those small allocations between the
// megabyte-sized ciphertexts split the free page ranges a ciphertext would
// have reused: the heap grew and the scavenger returned pages to the OS,
// to be faulted in again. BenchmarkSeal sealed and opened 1 MiB about 2.5×
// slower than with no allocation beside the ciphertext.
type scratch struct {
	slots []scratchSlot
}

// newScratch returns a list with two slots per P (at least 16): enough for
// the callers inside a keyring call at once. More callers allocate (and
// drop) their own buffers, which is correct, only slower.
func newScratch() scratch {
	return scratch{slots: make([]scratchSlot, max(16, 2*runtime.GOMAXPROCS(0)))}
}

// scratchCap is the capacity of a new buffer, and maxScratchCap the
// largest buffer kept: one bound to an unusually large associated data is
// dropped rather than held for good.
const (
	scratchCap    = 256
	maxScratchCap = 64 << 10
)

// scratchSlot pads a slot to a cache line, so that callers on different
// cores taking and returning buffers do not contend for one line.
type scratchSlot struct {
	p atomic.Pointer[[]byte]
	_ [56]byte
}

// get returns an empty buffer and the slot to return it to. Callers start
// at a random slot, so that concurrent callers spread over the slots.
func (s *scratch) get() (*[]byte, int) {
	n := len(s.slots)
	start := 0
	if n > 0 {
		start = int(rand.Uint32() % uint32(n))
	}
	for i := range n {
		j := (start + i) % n
		sl := &s.slots[j].p
		if sl.Load() == nil {
			continue
		}
		if b := sl.Swap(nil); b != nil {
			return b, j
		}
	}
	b := make([]byte, 0, scratchCap)
	return &b, start
}

// put returns b, emptied, to slot hint or the next free one; if every slot
// is full (or b grew too large) b is left to the garbage collector.
func (s *scratch) put(b *[]byte, hint int) {
	if cap(*b) > maxScratchCap {
		return
	}
	*b = (*b)[:0]
	n := len(s.slots)
	for i := range n {
		j := (hint + i) % n
		if s.slots[j].p.CompareAndSwap(nil, b) {
			return
		}
	}
}
