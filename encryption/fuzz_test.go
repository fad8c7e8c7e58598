package encryption

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// FuzzDecrypt: whatever bytes and associated data Decrypt is given, it
// either returns the one plaintext that was sealed (for the one valid
// ciphertext and associated data) or ErrDecrypt with no plaintext.
func FuzzDecrypt(f *testing.F) {
	k, _, _ := newTestKeyring(f, nil)
	pt, ad := []byte("fuzz plaintext"), []byte("row")
	ct, err := k.Encrypt(ctx, "src", pt, ad)
	require.NoError(f, err)
	f.Add(ct, ad)
	f.Add(ct[:5], ad)
	f.Add([]byte{}, []byte{})
	f.Add(append([]byte{1, 0, 0, 0, 0}, make([]byte, 28)...), ad)
	f.Fuzz(func(t *testing.T, c, a []byte) {
		got, err := k.Decrypt(ctx, "src", c, a)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) || got != nil {
				t.Fatalf("Decrypt = %q, %v; want nil, ErrDecrypt", got, err)
			}
			return
		}
		if !bytes.Equal(c, ct) || !bytes.Equal(a, ad) || !bytes.Equal(got, pt) {
			t.Fatalf("Decrypt accepted a ciphertext it did not make")
		}
	})
}

// FuzzStreamReader: the decrypting reader either yields the sealed
// plaintext and io.EOF or ends in ErrDecrypt, having yielded at most a
// prefix of the plaintext.
func FuzzStreamReader(f *testing.F) {
	k, _, _ := newTestKeyring(f, nil)
	pt := []byte("fuzzed stream content")
	var buf bytes.Buffer
	w, err := k.NewEncryptingWriter(ctx, "src", &buf, nil)
	require.NoError(f, err)
	_, err = w.Write(pt)
	require.NoError(f, err)
	require.NoError(f, w.Close())
	ct := buf.Bytes()
	f.Add(ct)
	f.Add(ct[:40])
	f.Add([]byte{})
	f.Add([]byte{40})
	f.Fuzz(func(t *testing.T, c []byte) {
		r, err := k.NewDecryptingReader(ctx, "src", bytes.NewReader(c), nil)
		if err != nil {
			t.Fatalf("NewDecryptingReader: %v", err)
		}
		got, err := io.ReadAll(r)
		// io.Copy goes through the reader's WriteTo, which opens the
		// segments of a bytes.Reader where they lie: it must agree.
		r2, err2 := k.NewDecryptingReader(ctx, "src", bytes.NewReader(c), nil)
		if err2 != nil {
			t.Fatalf("NewDecryptingReader: %v", err2)
		}
		var out bytes.Buffer
		if _, err2 = io.Copy(&out, r2); err2 != err || !bytes.Equal(out.Bytes(), got) {
			t.Fatalf("WriteTo returned %d bytes and %v, Read %d bytes and %v", out.Len(), err2, len(got), err)
		}
		if !bytes.HasPrefix(pt, got) {
			t.Fatalf("reader returned bytes that were never sealed")
		}
		if err == nil && (!bytes.Equal(got, pt) || !bytes.Equal(c, ct)) {
			t.Fatalf("reader accepted a stream it did not make")
		}
		if err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("error %v, want ErrDecrypt", err)
		}
	})
}

// FuzzUnwrap: a stored blob either decodes to exactly what encodeWrapped
// would write, and unwraps only if it is the real one, or fails with
// ErrUnwrap; never a panic.
func FuzzUnwrap(f *testing.F) {
	kek, err := GenerateLocalKEK()
	require.NoError(f, err)
	sk, err := generateSourceKeys()
	require.NoError(f, err)
	blob, err := wrapKeys(ctx, kek, "src", sk)
	require.NoError(f, err)
	f.Add(blob)
	f.Add(encodeWrapped([]byte{1}, []byte{2}))
	f.Add([]byte("pkks\x01"))
	f.Add([]byte("pkks\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, s, err := decodeWrapped(b)
		if err == nil && !bytes.Equal(encodeWrapped(r, s), b) {
			t.Fatalf("decode/encode round trip differs")
		}
		got, _, err := unwrapKeys(ctx, []tink.AEAD{kek}, "src", b, 1)
		if err != nil {
			if !errors.Is(err, ErrUnwrap) {
				t.Fatalf("unwrap error %v, want ErrUnwrap", err)
			}
			return
		}
		if got == nil || !bytes.Equal(b, blob) {
			t.Fatalf("unwrapped a blob that was not wrapped by the KEK")
		}
	})
}
