package encryption

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestKeyring returns a Keyring over a fresh memory store and local KEK.
func newTestKeyring(t testing.TB, opts *Options) (*Keyring, *MemoryKeyStore, *LocalKEK) {
	t.Helper()
	store := NewMemoryKeyStore()
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	k, err := NewKeyring(store, kek, opts)
	require.NoError(t, err)
	t.Cleanup(func() { k.Close() })
	return k, store, kek
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, _, _ := newTestKeyring(t, nil)
	pt := []byte("the quarterly numbers")
	ct, err := k.Encrypt(ctx, "src-1", pt, []byte("row-7"))
	require.NoError(t, err)
	assert.NotContains(t, string(ct), string(pt), "ciphertext must not contain the plaintext")
	assert.Len(t, ct, 5+12+len(pt)+16, "Tink prefix + nonce + ciphertext + tag")
	got, err := k.Decrypt(ctx, "src-1", ct, []byte("row-7"))
	require.NoError(t, err)
	assert.Equal(t, pt, got)
}

func TestStreamRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, _, _ := newTestKeyring(t, nil)
	pt := bytes.Repeat([]byte("0123456789abcdef"), 150_000) // > 2 segments
	var ct bytes.Buffer
	w, err := k.NewEncryptingWriter(ctx, "src-1", &ct, []byte("file-1"))
	require.NoError(t, err)
	_, err = w.Write(pt)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	r, err := k.NewDecryptingReader(ctx, "src-1", bytes.NewReader(ct.Bytes()), []byte("file-1"))
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(pt, got), "stream must round-trip")
}

func TestShredSmoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, _, _ := newTestKeyring(t, nil)
	ct, err := k.Encrypt(ctx, "src-1", []byte("x"), nil)
	require.NoError(t, err)
	require.NoError(t, k.Shred(ctx, "src-1"))
	_, err = k.Decrypt(ctx, "src-1", ct, nil)
	assert.True(t, errors.Is(err, ErrShredded), "decrypt after shred: %v", err)
	_, err = k.Encrypt(ctx, "src-1", []byte("x"), nil)
	assert.True(t, errors.Is(err, ErrShredded), "encrypt after shred: %v", err)
	_, err = k.Decrypt(ctx, "never", ct, nil)
	assert.True(t, errors.Is(err, ErrUnknownSource), "never-seen source: %v", err)
}
