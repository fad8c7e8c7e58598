package encryption

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScratchReuse(t *testing.T) {
	s := newScratch()
	b, slot := s.get()
	require.Empty(t, *b)
	*b = append(*b, "bound data"...)
	s.put(b, slot)

	// The same buffer comes back, emptied, however often the GC runs (a
	// sync.Pool would have dropped it).
	runtime.GC()
	runtime.GC()
	got, _ := s.get()
	assert.Same(t, b, got)
	assert.Empty(t, *got)
	// A zero scratch has no slots: it hands out new buffers and drops them.
	var z scratch
	zb, zslot := z.get()
	assert.Equal(t, scratchCap, cap(*zb))
	z.put(zb, zslot)
}

func TestScratchDropsLargeAndSurplus(t *testing.T) {
	s := newScratch()
	big := make([]byte, 0, maxScratchCap+1)
	s.put(&big, 0)
	b, _ := s.get()
	assert.NotSame(t, &big, b, "an oversized buffer is not kept")
	assert.Equal(t, scratchCap, cap(*b))

	// More buffers than slots: the surplus is dropped, never kept twice.
	var held []*[]byte
	for range len(s.slots) + 4 {
		b := make([]byte, 0, 8)
		held = append(held, &b)
	}
	for i, b := range held {
		s.put(b, i%len(s.slots))
	}
	seen := map[*[]byte]bool{}
	for range len(s.slots) {
		b, _ := s.get()
		assert.False(t, seen[b], "a buffer handed out twice")
		seen[b] = true
	}
	assert.Len(t, seen, len(s.slots))
	b, _ = s.get()
	assert.False(t, seen[b], "with every slot taken, get makes a new buffer")
}

// TestScratchConcurrent checks that no buffer is held by two callers at
// once: each caller writes its own mark and finds it intact.
func TestScratchConcurrent(t *testing.T) {
	s := newScratch()
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 2000 {
				b, slot := s.get()
				if len(*b) != 0 {
					t.Errorf("buffer not empty: %d bytes", len(*b))
					return
				}
				mark := byte(g)
				*b = append(*b, mark, byte(i), mark)
				runtime.Gosched()
				if (*b)[0] != mark || (*b)[1] != byte(i) || (*b)[2] != mark {
					t.Errorf("buffer shared between callers")
					return
				}
				s.put(b, slot)
			}
		})
	}
	wg.Wait()
}

// TestEncryptAllocatesOnlyTheCiphertext pins what makes large records as
// fast as raw AES-GCM: nothing but the output is allocated per call, even
// with a collection before every call (as sealing 1 MiB records has).
func TestEncryptAllocatesOnlyTheCiphertext(t *testing.T) {
	k, _, _ := newTestKeyring(t, nil)
	pt := make([]byte, 4096)
	ad := []byte("table/row/column")
	ct, err := k.Encrypt(ctx, "allocs", pt, ad)
	require.NoError(t, err)
	assert.InDelta(t, 1, testing.AllocsPerRun(20, func() {
		runtime.GC()
		if _, err := k.Encrypt(ctx, "allocs", pt, ad); err != nil {
			t.Fatal(err)
		}
	}), 0.01)
	assert.InDelta(t, 1, testing.AllocsPerRun(20, func() {
		runtime.GC()
		if _, err := k.Decrypt(ctx, "allocs", ct, ad); err != nil {
			t.Fatal(err)
		}
	}), 0.01)
}
