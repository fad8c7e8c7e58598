package encryption

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}}

// BenchmarkSeal compares privkit's envelope path (cached keys, bound
// associated data, Tink AES-256-GCM with its key-ID prefix) with raw
// AES-256-GCM from the standard library: fresh output buffer, random nonce.
func BenchmarkSeal(b *testing.B) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, err := aes.NewCipher(key)
	require.NoError(b, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(b, err)
	ad := []byte("messages/42/body")
	// Warm the heap and the CPU before the baseline, so that running first
	// does not handicap it.
	warm := make([]byte, 1<<20)
	for range 64 {
		_ = gcm.Seal(make([]byte, 0, len(warm)+gcm.Overhead()), make([]byte, gcm.NonceSize()), warm, ad)
	}

	for _, s := range benchSizes {
		pt := make([]byte, s.n)
		b.Run("raw-aesgcm/"+s.name, func(b *testing.B) {
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				out := make([]byte, gcm.NonceSize(), gcm.NonceSize()+s.n+gcm.Overhead())
				_, _ = rand.Read(out)
				_ = gcm.Seal(out, out, pt, ad)
			}
		})
	}
	k, _, _ := newTestKeyring(b, nil)
	for _, s := range benchSizes {
		pt := make([]byte, s.n)
		b.Run("envelope/"+s.name, func(b *testing.B) {
			_, err := k.Encrypt(ctx, "bench", pt, ad) // keys created and cached
			require.NoError(b, err)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Encrypt(ctx, "bench", pt, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, s := range benchSizes {
		pt := make([]byte, s.n)
		b.Run("open/"+s.name, func(b *testing.B) {
			ct, err := k.Encrypt(ctx, "bench", pt, ad)
			require.NoError(b, err)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Decrypt(ctx, "bench", ct, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStream compares streaming 64 MiB through privkit's writer and
// reader with sealing 1 MiB chunks with raw AES-256-GCM to io.Discard.
func BenchmarkStream(b *testing.B) {
	const size = 64 << 20
	const chunk = 1 << 20
	pt := make([]byte, chunk)
	b.Run("raw-aesgcm/64MiB", func(b *testing.B) {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		block, err := aes.NewCipher(key)
		require.NoError(b, err)
		gcm, err := cipher.NewGCM(block)
		require.NoError(b, err)
		out := make([]byte, 0, gcm.NonceSize()+chunk+gcm.Overhead())
		for range size / chunk { // warm up before the baseline, as for the others
			out = gcm.Seal(out[:gcm.NonceSize()], out[:gcm.NonceSize()], pt, nil)
		}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for range size / chunk {
				out = out[:gcm.NonceSize()]
				_, _ = rand.Read(out)
				out = gcm.Seal(out, out, pt, nil)
				_, _ = io.Discard.Write(out)
			}
		}
	})
	k, _, _ := newTestKeyring(b, nil)
	b.Run("encrypt/64MiB", func(b *testing.B) {
		_, err := k.Encrypt(ctx, "bench", nil, nil)
		require.NoError(b, err)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			w, err := k.NewEncryptingWriter(ctx, "bench", io.Discard, nil)
			if err != nil {
				b.Fatal(err)
			}
			for range size / chunk {
				if _, err := w.Write(pt); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decrypt/64MiB", func(b *testing.B) {
		var ct bytes.Buffer
		w, err := k.NewEncryptingWriter(ctx, "bench", &ct, nil)
		require.NoError(b, err)
		for range size / chunk {
			_, err := w.Write(pt)
			require.NoError(b, err)
		}
		require.NoError(b, w.Close())
		buf := make([]byte, chunk)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			r, err := k.NewDecryptingReader(ctx, "bench", bytes.NewReader(ct.Bytes()), nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
