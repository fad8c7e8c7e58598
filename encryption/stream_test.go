package encryption

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sealStream(t testing.TB, k *Keyring, source string, pt, ad []byte) []byte {
	t.Helper()
	var ct bytes.Buffer
	w, err := k.NewEncryptingWriter(ctx, source, &ct, ad)
	require.NoError(t, err)
	// Write in odd-sized pieces to cross segment boundaries mid-write.
	for rest := pt; len(rest) > 0; {
		n := min(len(rest), 70_001)
		_, err := w.Write(rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	require.NoError(t, w.Close())
	return ct.Bytes()
}

// openStream opens ct twice: through Read (io.ReadAll) and through WriteTo
// (io.Copy, which opens the segments of a bytes.Reader where they lie),
// and requires both to return the same plaintext and error.
func openStream(t testing.TB, k *Keyring, source string, ct, ad []byte) ([]byte, error) {
	t.Helper()
	r, err := k.NewDecryptingReader(ctx, source, bytes.NewReader(ct), ad)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(r)
	r, err2 := k.NewDecryptingReader(ctx, source, bytes.NewReader(ct), ad)
	require.NoError(t, err2)
	var out bytes.Buffer
	_, err2 = io.Copy(&out, r)
	require.Equal(t, err, err2, "Read and WriteTo fail alike")
	require.True(t, bytes.Equal(got, out.Bytes()), "Read and WriteTo return the same plaintext")
	return got, err
}

func TestStreamRoundTrip(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	for _, size := range []int{0, 1, 1000, segment - 100, segment, segment + 1, 2*segment + 12345} {
		pt := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		ct := sealStream(t, k, "src", pt, []byte("file-1"))
		assert.NotContains(t, string(ct), "0123456789abcdef0123456789abcdef", "size %d: no plaintext in the ciphertext", size)
		got, err := openStream(t, k, "src", ct, []byte("file-1"))
		require.NoError(t, err, "size %d", size)
		assert.True(t, bytes.Equal(pt, got), "size %d round trip", size)
	}
}

func TestStreamBindings(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ct := sealStream(t, k, "a", []byte("content"), []byte("bc"))
	_, err := k.Encrypt(ctx, "ab", nil, nil)
	require.NoError(t, err)
	_, err = openStream(t, k, "a", ct, []byte("bd"))
	assert.Equal(t, ErrDecrypt, err, "wrong associated data")
	_, err = openStream(t, k, "ab", ct, []byte("c"))
	assert.Equal(t, ErrDecrypt, err, "moved to another source")
	rec, err := k.Encrypt(ctx, "a", []byte("content"), []byte("bc"))
	require.NoError(t, err)
	_, err = openStream(t, k, "a", rec, []byte("bc"))
	assert.Equal(t, ErrDecrypt, err, "a record is not a stream")
	_, err = k.Decrypt(ctx, "a", ct, []byte("bc"))
	assert.Equal(t, ErrDecrypt, err, "a stream is not a record")
}

// TestStreamTamperSmall: every truncation and every single-bit flip of a
// one-segment stream fails with ErrDecrypt and never reaches io.EOF.
func TestStreamTamperSmall(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ad := []byte("file")
	ct := sealStream(t, k, "src", []byte("tiny file"), ad)
	for n := 0; n < len(ct); n++ {
		got, err := openStream(t, k, "src", ct[:n], ad)
		require.ErrorIs(t, err, ErrDecrypt, "truncated to %d bytes", n)
		require.Empty(t, got, "truncated to %d: no plaintext", n)
	}
	_, err := openStream(t, k, "src", append(bytes.Clone(ct), 0), ad)
	require.ErrorIs(t, err, ErrDecrypt, "extended by a byte")
	for i := 0; i < len(ct)*8; i++ {
		mut := bytes.Clone(ct)
		mut[i/8] ^= 1 << (i % 8)
		got, err := openStream(t, k, "src", mut, ad)
		require.ErrorIs(t, err, ErrDecrypt, "bit %d flipped", i)
		require.Empty(t, got, "bit %d flipped: no plaintext", i)
	}
}

// TestStreamTamperSegments: truncations at and around segment boundaries
// and bit flips in each part of a three-segment stream never end in
// io.EOF, and no plaintext of a damaged segment is returned.
func TestStreamTamperSegments(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	pt := bytes.Repeat([]byte{0xab}, 2*segment+1000)
	ct := sealStream(t, k, "src", pt, nil)
	header := 40 // 1 length byte, 32-byte salt, 7-byte nonce prefix
	seg1 := segment - header
	var cuts []int
	for _, b := range []int{0, header, seg1, seg1 + segment, len(ct)} {
		for _, d := range []int{-17, -16, -1, 0, 1, 16} {
			if c := b + d; c >= 0 && c < len(ct) {
				cuts = append(cuts, c)
			}
		}
	}
	for _, n := range cuts {
		got, err := openStream(t, k, "src", ct[:n], nil)
		require.ErrorIs(t, err, ErrDecrypt, "truncated to %d bytes", n)
		require.True(t, bytes.HasPrefix(pt, got), "only authenticated plaintext before the failure")
	}
	for _, i := range []int{0, 1, 33, header, header + 100, seg1 - 1, seg1, seg1 + 5000, seg1 + segment - 1, seg1 + segment, len(ct) - 1} {
		mut := bytes.Clone(ct)
		mut[i] ^= 0x10
		got, err := openStream(t, k, "src", mut, nil)
		require.ErrorIs(t, err, ErrDecrypt, "byte %d altered", i)
		require.True(t, bytes.HasPrefix(pt, got), "byte %d altered: only authenticated plaintext", i)
		if i < seg1 {
			assert.Empty(t, got, "damage in the first segment: nothing returned")
		}
	}
	// Dropping the last segment of a stream is a truncation too.
	_, err := openStream(t, k, "src", ct[:seg1+segment], nil)
	require.ErrorIs(t, err, ErrDecrypt)
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

var errDisk = errors.New("disk on fire")

func TestStreamSourceErrors(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ct := sealStream(t, k, "src", []byte("content"), nil)
	r, err := k.NewDecryptingReader(ctx, "src", &failingReader{r: bytes.NewReader(ct[:20]), err: errDisk}, nil)
	require.NoError(t, err)
	_, err = io.ReadAll(r)
	assert.ErrorIs(t, err, errDisk, "an I/O error of the source is reported as such")
	assert.NotErrorIs(t, err, ErrDecrypt)
	_, err = r.Read(make([]byte, 10))
	assert.ErrorIs(t, err, errDisk, "errors are sticky")

	_, err = k.NewEncryptingWriter(ctx, "src", nil, nil)
	assert.Error(t, err)
	_, err = k.NewDecryptingReader(ctx, "src", nil, nil)
	assert.Error(t, err)
}

type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestStreamWriterLifecycle(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	dst := &closeRecorder{}
	w, err := k.NewEncryptingWriter(ctx, "src", dst, nil)
	require.NoError(t, err)
	_, err = w.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.False(t, dst.closed, "Close does not close dst")
	require.NoError(t, w.Close(), "second Close is a no-op")
	_, err = w.Write([]byte("y"))
	assert.ErrorIs(t, err, ErrClosed)
	got, err := openStream(t, k, "src", dst.Bytes(), nil)
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
}

var pattern = func() (p [32 << 10]byte) {
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}()

// patternReader yields n bytes without holding them.
type patternReader struct{ n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	n := copy(b, pattern[:])
	p.n -= int64(n)
	return n, nil
}

// streamAlloc streams size bytes through an encrypting writer and a
// decrypting reader connected by a pipe, and returns the bytes allocated.
func streamAlloc(t *testing.T, k *Keyring, size int64) uint64 {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		w, err := k.NewEncryptingWriter(ctx, "big", pw, nil)
		if err == nil {
			_, err = io.Copy(w, &patternReader{n: size})
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
		errc <- err
	}()
	r, err := k.NewDecryptingReader(ctx, "big", pr, nil)
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, r)
	require.NoError(t, err)
	require.NoError(t, <-errc)
	require.Equal(t, size, n)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestStreamMemoryIndependentOfSize: streaming 64 MiB allocates about what
// streaming 8 MiB does (a few segment buffers), not eight times more.
func TestStreamMemoryIndependentOfSize(t *testing.T) {
	k, _, _ := newTestKeyring(t, nil)
	_, err := k.Encrypt(ctx, "big", nil, nil) // create keys outside the measure
	require.NoError(t, err)
	small := streamAlloc(t, k, 8<<20)
	large := streamAlloc(t, k, 64<<20)
	t.Logf("allocated: 8 MiB stream %d KiB, 64 MiB stream %d KiB", small>>10, large>>10)
	assert.Less(t, large, small+8<<20, "allocation must not grow with the stream (56 MiB more data)")
	assert.Less(t, large, uint64(24<<20), "a 64 MiB stream must not be buffered whole")
}

// TestStreamReaderOpensLazily: making a reader reads nothing from src, so
// a reader can be made before its source has data.
func TestStreamReaderOpensLazily(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ct := sealStream(t, k, "src", []byte("content"), nil)
	src := &countingReader{r: bytes.NewReader(ct)}
	r, err := k.NewDecryptingReader(ctx, "src", src, nil)
	require.NoError(t, err)
	assert.Zero(t, src.reads, "no read before the first Read")
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "content", string(got))
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}
