package audit_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/audittest"
)

func fixedNow() time.Time { return audittest.T0 }

// tamperStore shows Verify a store whose records an attacker edited.
type tamperStore struct {
	audit.Store
	edit func(recs []audit.Record) []audit.Record
}

func (s tamperStore) Size(ctx context.Context) (uint64, error) {
	n, err := s.Store.Size(ctx)
	if err != nil {
		return 0, err
	}
	return s.all(ctx, n)
}

func (s tamperStore) all(ctx context.Context, n uint64) (uint64, error) {
	recs, err := s.Store.ReadRecords(ctx, 0, n)
	if err != nil {
		return 0, err
	}
	return uint64(len(s.edit(deepCopy(recs)))), nil
}

func (s tamperStore) ReadRecords(ctx context.Context, start, end uint64) ([]audit.Record, error) {
	n, err := s.Store.Size(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := s.Store.ReadRecords(ctx, 0, n)
	if err != nil {
		return nil, err
	}
	recs = s.edit(deepCopy(recs))
	end = min(end, uint64(len(recs)))
	if start >= end {
		return nil, nil
	}
	return recs[start:end], nil
}

func deepCopy(recs []audit.Record) []audit.Record {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Data = slices.Clone(out[i].Data)
		out[i].Hashes = slices.Clone(out[i].Hashes)
	}
	return out
}

// tamperLog returns a memory store holding n entries and a checkpoint of
// them (in the store), and the keys.
func tamperLog(t *testing.T, n int) (*audit.MemoryStore, audittest.Keys, []byte) {
	t.Helper()
	ctx := context.Background()
	k := audittest.NewKeys(t, "audit.example.com/tamper")
	s := audit.NewMemoryStore()
	l, err := audit.Open(ctx, s, k.Signer, &audit.Options{Now: fixedNow})
	require.NoError(t, err)
	defer l.Close()
	for i := range n {
		_, err := l.Append(ctx, audittest.Event(i))
		require.NoError(t, err)
	}
	cp, err := l.Checkpoint(ctx)
	require.NoError(t, err)
	return s, k, cp
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 12
	s, k, cp := tamperLog(t, n)
	// A consistent rewrite: the same log with entry 5 replaced, every hash
	// recomputed, and a checkpoint signed... with the attacker's own key.
	forged, _, _ := func() (*audit.MemoryStore, audittest.Keys, []byte) {
		fs := audit.NewMemoryStore()
		l, err := audit.Open(ctx, fs, k.Signer, &audit.Options{Now: fixedNow})
		require.NoError(t, err)
		defer l.Close()
		for i := range n {
			ev := audittest.Event(i)
			if i == 5 {
				ev.Actor = "employee:someone_else"
			}
			_, err := l.Append(ctx, ev)
			require.NoError(t, err)
		}
		return fs, k, nil
	}()
	forgedRecs, err := forged.ReadRecords(ctx, 0, n)
	require.NoError(t, err)

	for _, tc := range []struct {
		name      string
		edit      func([]audit.Record) []audit.Record
		wantIndex uint64
	}{
		{"a byte of an actor changed", func(r []audit.Record) []audit.Record { r[3].Data[60] ^= 1; return r }, 3},
		{"the index field changed", func(r []audit.Record) []audit.Record { r[4].Data[8] ^= 1; return r }, 4},
		{"the chain field changed", func(r []audit.Record) []audit.Record { r[4].Data[20] ^= 0x80; return r }, 4},
		{"the last byte changed", func(r []audit.Record) []audit.Record { d := r[7].Data; d[len(d)-1] ^= 1; return r }, 7},
		{"a leaf hash changed to match an edit", func(r []audit.Record) []audit.Record {
			r[6].Data[60] ^= 1
			r[6].Hashes[0] = [32]byte{1}
			return r
		}, 6},
		{"an interior tree hash changed", func(r []audit.Record) []audit.Record { r[7].Hashes[2][0] ^= 1; return r }, 7},
		{"an entry deleted", func(r []audit.Record) []audit.Record { return slices.Delete(r, 5, 6) }, 5},
		{"the first entry deleted", func(r []audit.Record) []audit.Record { return r[1:] }, 0},
		{"an entry inserted", func(r []audit.Record) []audit.Record { return slices.Insert(r, 5, r[5]) }, 6},
		{"two entries swapped", func(r []audit.Record) []audit.Record { r[2], r[9] = r[9], r[2]; return r }, 2},
		{"two entries swapped, indexes kept", func(r []audit.Record) []audit.Record {
			r[2], r[9] = r[9], r[2]
			r[2].Index, r[9].Index = 2, 9
			return r
		}, 2},
		{"the tail truncated below the checkpoint", func(r []audit.Record) []audit.Record { return r[:n-2] }, n - 2},
		{"the tail rewritten consistently", func(r []audit.Record) []audit.Record { return append(r[:5], deepCopy(forgedRecs[5:])...) }, n},
		{"leaf bytes removed but not as retention does", func(r []audit.Record) []audit.Record { r[3].Data = r[3].Data[:10]; return r }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The wrapper hides the store's checkpoints; the auditor holds cp.
			_, err := audit.Verify(ctx, tamperStore{s, tc.edit}, &audit.VerifyOptions{Verifier: k.Verifier, Checkpoints: [][]byte{cp}})
			var ve *audit.VerifyError
			require.ErrorAs(t, err, &ve, "tampering is detected")
			assert.ErrorIs(t, err, audit.ErrTampered)
			assert.Equal(t, tc.wantIndex, ve.Index, "the first bad index is reported: %v", err)
		})
	}
	_, err = audit.Verify(ctx, tamperStore{s, func(r []audit.Record) []audit.Record { return r }}, &audit.VerifyOptions{Verifier: k.Verifier})
	require.NoError(t, err, "the untouched wrapper verifies")
}

// TestVerifyEveryBitFlip flips each bit of one entry and of its stored
// hashes: every flip must be caught.
func TestVerifyEveryBitFlip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, k, _ := tamperLog(t, 8)
	recs, err := s.ReadRecords(ctx, 5, 6)
	require.NoError(t, err)
	bits := 8 * len(recs[0].Data)
	for b := range bits {
		_, err := audit.Verify(ctx, tamperStore{s, func(r []audit.Record) []audit.Record {
			r[5].Data[b/8] ^= 1 << (b % 8)
			return r
		}}, &audit.VerifyOptions{Verifier: k.Verifier})
		require.ErrorIs(t, err, audit.ErrTampered, "flipping bit %d of the leaf is detected", b)
	}
	for b := range 8 * 32 * len(recs[0].Hashes) {
		_, err := audit.Verify(ctx, tamperStore{s, func(r []audit.Record) []audit.Record {
			r[5].Hashes[b/256][(b%256)/8] ^= 1 << (b % 8)
			return r
		}}, &audit.VerifyOptions{Verifier: k.Verifier})
		require.ErrorIs(t, err, audit.ErrTampered, "flipping bit %d of the stored hashes is detected", b)
	}
}

func TestVerifyCheckpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, k, cp := tamperLog(t, 5)
	other := audittest.NewKeys(t, "audit.example.com/tamper")
	_, err := audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: other.Verifier})
	require.ErrorIs(t, err, audit.ErrCheckpointSignature, "a store checkpoint under another key is reported")
	_, err = audit.Verify(ctx, s, nil)
	require.Error(t, err, "Verify demands the verifier key")

	// An external checkpoint of a longer log proves truncation even if the
	// store's own checkpoints were removed.
	bigger, k2, bigCP := tamperLog(t, 9)
	_ = bigger
	_, err = audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k2.Verifier, Checkpoints: [][]byte{bigCP}})
	require.Error(t, err)

	res, err := audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.Verifier, Checkpoints: [][]byte{cp}})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Checkpoints)
	require.NotNil(t, res.Latest)
	assert.EqualValues(t, 5, res.Latest.Size)
}
