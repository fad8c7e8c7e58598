package encryption

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/inferlabs/privkit/internal/clock"
)

func TestRotate(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	old, err := k.Encrypt(ctx, "s", []byte("old"), []byte("r1"))
	require.NoError(t, err)
	var oldStream bytes.Buffer
	w, err := k.NewEncryptingWriter(ctx, "s", &oldStream, nil)
	require.NoError(t, err)
	_, _ = w.Write([]byte("old stream"))
	require.NoError(t, w.Close())

	require.NoError(t, k.Rotate(ctx, "s"))
	fresh, err := k.Encrypt(ctx, "s", []byte("new"), []byte("r2"))
	require.NoError(t, err)
	assert.NotEqual(t, old[:5], fresh[:5], "a new primary key (another key ID)")

	pt, err := k.Decrypt(ctx, "s", old, []byte("r1"))
	require.NoError(t, err, "old ciphertexts still open")
	assert.Equal(t, "old", string(pt))
	r, err := k.NewDecryptingReader(ctx, "s", bytes.NewReader(oldStream.Bytes()), nil)
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err, "old streams still open")
	assert.Equal(t, "old stream", string(got))

	// Re-encrypt the old records through a caller-supplied iterator.
	rows := map[string]*Record{
		"r1": {Ciphertext: old, AssociatedData: []byte("r1")},
		"r2": {Ciphertext: fresh, AssociatedData: []byte("r2")},
	}
	saved := map[string][]byte{}
	var seq iter.Seq[*Record] = func(yield func(*Record) bool) {
		for _, id := range []string{"r1", "r2"} {
			if !yield(rows[id]) {
				return
			}
			saved[id] = rows[id].Ciphertext
		}
	}
	n, err := k.Reencrypt(ctx, "s", seq)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the record under the old key is re-encrypted")
	assert.Equal(t, fresh[:5], saved["r1"][:5], "r1 now under the new primary")
	assert.Equal(t, fresh, saved["r2"], "r2 untouched")
	pt, err = k.Decrypt(ctx, "s", saved["r1"], []byte("r1"))
	require.NoError(t, err)
	assert.Equal(t, "old", string(pt))

	// A record that fails to open stops the run.
	bad := bytes.Clone(old)
	bad[len(bad)-1] ^= 1
	_, err = k.Reencrypt(ctx, "s", func(yield func(*Record) bool) { yield(&Record{Ciphertext: bad}) })
	assert.ErrorIs(t, err, ErrDecrypt)
	assert.EqualError(t, err, "encryption: reencrypt record 1: message authentication failed")

	// Streams re-encrypt by copy.
	var out bytes.Buffer
	m, err := k.ReencryptStream(ctx, "s", &out, bytes.NewReader(oldStream.Bytes()), nil)
	require.NoError(t, err)
	assert.EqualValues(t, len("old stream"), m)
	r, err = k.NewDecryptingReader(ctx, "s", &out, nil)
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "old stream", string(got))
}

// TestOtherInstance: two Keyrings over one store, like two service
// instances; one rotates or shreds, the other notices.
func TestOtherInstance(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := NewMemoryKeyStore()
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	a, err := NewKeyring(store, kek, &Options{Now: fake.Now, CacheMaxAge: time.Minute})
	require.NoError(t, err)
	b, err := NewKeyring(store, kek, &Options{Now: fake.Now, CacheMaxAge: time.Minute})
	require.NoError(t, err)
	ct1, err := a.Encrypt(ctx, "s", []byte("1"), nil)
	require.NoError(t, err)
	_, err = b.Decrypt(ctx, "s", ct1, nil) // b caches version 1
	require.NoError(t, err)

	require.NoError(t, a.Rotate(ctx, "s"))
	ct2, err := a.Encrypt(ctx, "s", []byte("2"), nil)
	require.NoError(t, err)
	pt, err := b.Decrypt(ctx, "s", ct2, nil)
	require.NoError(t, err, "b sees a key ID it lacks and rereads the store")
	assert.Equal(t, "2", string(pt))

	var st bytes.Buffer
	aw, err := a.NewEncryptingWriter(ctx, "s", &st, nil)
	require.NoError(t, err)
	_, err = aw.Write([]byte("stream"))
	require.NoError(t, err)
	require.NoError(t, aw.Close())
	require.NoError(t, a.Rotate(ctx, "s"))
	var st2 bytes.Buffer
	aw, err = a.NewEncryptingWriter(ctx, "s", &st2, nil)
	require.NoError(t, err)
	_, err = aw.Write([]byte("stream 2"))
	require.NoError(t, err)
	require.NoError(t, aw.Close())
	br, err := b.NewDecryptingReader(ctx, "s", bytes.NewReader(st2.Bytes()), nil)
	require.NoError(t, err)
	got, err := io.ReadAll(br)
	require.NoError(t, err, "a stream under a key rotated elsewhere opens at once")
	assert.Equal(t, "stream 2", string(got))

	require.NoError(t, a.Shred(ctx, "s"))
	_, err = b.NewDecryptingReader(ctx, "s", bytes.NewReader(st.Bytes()), nil)
	assert.ErrorIs(t, err, ErrShredded, "streams see a shred elsewhere at once")
	_, err = b.NewEncryptingWriter(ctx, "s", io.Discard, nil)
	assert.ErrorIs(t, err, ErrShredded)
	ct3 := bytes.Clone(ct2)
	ct3[1] ^= 0xff // a key ID b does not hold
	_, err = b.Decrypt(ctx, "s", ct3, nil)
	assert.ErrorIs(t, err, ErrShredded, "rereading finds the tombstone")
	fake.Advance(time.Minute)
	_, err = b.Decrypt(ctx, "s", ct1, nil)
	assert.ErrorIs(t, err, ErrShredded, "after CacheMaxAge every instance has dropped the keys")
}

// failingStore fails Put after a number of successes.
type failingStore struct {
	*MemoryKeyStore
	putsLeft atomic.Int64
}

func (f *failingStore) Put(ctx context.Context, id string, prev int64, w []byte) error {
	if f.putsLeft.Add(-1) < 0 {
		return errors.New("disk full")
	}
	return f.MemoryKeyStore.Put(ctx, id, prev, w)
}
func TestRewrapAll(t *testing.T) {
	t.Parallel()
	mem := NewMemoryKeyStore()
	store := &failingStore{MemoryKeyStore: mem}
	store.putsLeft.Store(1 << 30)
	oldKEK := newCountingKEK(t)
	k, err := NewKeyring(store, oldKEK, nil)
	require.NoError(t, err)
	cts := map[string][]byte{}
	for i := range 300 { // more than one List page (256)
		id := fmt.Sprintf("src-%03d", i)
		ct, err := k.Encrypt(ctx, id, []byte(id), nil)
		require.NoError(t, err)
		cts[id] = ct
	}
	require.NoError(t, k.Shred(ctx, "src-007"))
	before, _, err := mem.Get(ctx, "src-001")
	require.NoError(t, err)

	newKEK := newCountingKEK(t)
	store.putsLeft.Store(120)
	n, err := k.RewrapAll(ctx, newKEK)
	require.Error(t, err, "the store fails part way")
	assert.ErrorContains(t, err, "disk full")
	assert.Equal(t, 120, n)
	store.putsLeft.Store(1 << 30)
	m, err := k.RewrapAll(ctx, newKEK)
	require.NoError(t, err, "a second run resumes")
	assert.Equal(t, 299-120, m, "keysets already rewrapped are skipped")

	after, _, err := mem.Get(ctx, "src-001")
	require.NoError(t, err)
	assert.NotEqual(t, before, after)

	// Only the new KEK is needed now; data ciphertexts were not touched.
	k2, err := NewKeyring(mem, newKEK, nil)
	require.NoError(t, err)
	for id, ct := range cts {
		pt, err := k2.Decrypt(ctx, id, ct, nil)
		if id == "src-007" {
			assert.ErrorIs(t, err, ErrShredded)
			continue
		}
		require.NoError(t, err, id)
		assert.Equal(t, id, string(pt))
	}
	k3, err := NewKeyring(mem, oldKEK, nil)
	require.NoError(t, err)
	_, err = k3.Decrypt(ctx, "src-001", cts["src-001"], nil)
	assert.ErrorIs(t, err, ErrUnwrap, "the old KEK opens nothing any more")

	// New keysets are wrapped by the new KEK.
	_, err = k.Encrypt(ctx, "later", []byte("x"), nil)
	require.NoError(t, err)
	_, err = k2.Encrypt(ctx, "later", []byte("x"), nil)
	require.NoError(t, err)

	// A store that cannot list.
	k4, err := NewKeyring(struct{ KeyStore }{mem}, newKEK, nil)
	require.NoError(t, err)
	_, err = k4.RewrapAll(ctx, oldKEK)
	assert.ErrorIs(t, err, ErrNotSupported)
}
func TestPreviousKEKs(t *testing.T) {
	t.Parallel()
	store := NewMemoryKeyStore()
	old, err := GenerateLocalKEK()
	require.NoError(t, err)
	k, err := NewKeyring(store, old, nil)
	require.NoError(t, err)
	ct, err := k.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)
	cur, err := GenerateLocalKEK()
	require.NoError(t, err)
	k2, err := NewKeyring(store, cur, &Options{PreviousKEKs: []tink.AEAD{old}})
	require.NoError(t, err)
	_, err = k2.Decrypt(ctx, "s", ct, nil)
	assert.NoError(t, err, "a keyset wrapped by a previous KEK still opens")
	_, err = NewKeyring(store, cur, &Options{PreviousKEKs: []tink.AEAD{nil}})
	assert.Error(t, err)
	_, err = NewKeyring(nil, cur, nil)
	assert.Error(t, err)
	_, err = NewKeyring(store, nil, nil)
	assert.Error(t, err)
}
