package encryption

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	streamsubtle "github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
)

// newTestStreamKey returns a random key with the given segment size and
// Tink's primitive for the same key.
func newTestStreamKey(t testing.TB, segSize int) (*streamKey, *streamsubtle.AESGCMHKDF) {
	t.Helper()
	main := make([]byte, 32)
	_, err := rand.Read(main)
	require.NoError(t, err)
	tk, err := streamsubtle.NewAESGCMHKDF(main, "SHA256", 32, segSize, 0)
	require.NoError(t, err)
	return &streamKey{main: main, hkdfHash: "SHA256", keySize: 32, segSize: segSize}, tk
}

// segmentSizes returns plaintext sizes at and around every segment boundary
// of the first few segments.
func segmentSizes(k *streamKey, segments int) []int {
	first := k.segSize - k.headerLen() - streamTagSize
	next := k.segSize - streamTagSize
	sizes := []int{0, 1}
	for i := range segments {
		b := first + i*next
		sizes = append(sizes, b-1, b, b+1)
	}
	return sizes
}

// writeChunks writes pt to w in pieces of the given size (0: all at once).
func writeChunks(t testing.TB, w io.WriteCloser, pt []byte, chunk int) {
	t.Helper()
	if chunk == 0 {
		chunk = len(pt) + 1
	}
	for rest := pt; len(rest) > 0; {
		n := min(len(rest), chunk)
		m, err := w.Write(rest[:n])
		require.NoError(t, err)
		require.Equal(t, n, m)
		rest = rest[n:]
	}
	require.NoError(t, w.Close())
}

// readChunks reads r to the end with Read slices of the given size
// (0: io.Copy, which uses the reader's WriteTo).
func readChunks(r io.Reader, chunk int) ([]byte, error) {
	var out bytes.Buffer
	if chunk == 0 {
		_, err := io.Copy(&out, r)
		return out.Bytes(), err
	}
	p := make([]byte, chunk)
	for {
		n, err := r.Read(p)
		out.Write(p[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// TestSegmentsInteropTink: privkit's segment writer and reader speak
// Tink's AES-GCM-HKDF streaming format both ways, for plaintexts ending at
// and around every segment boundary, written and read in pieces of every
// kind: smaller than a segment, exactly a segment, larger than one.
func TestSegmentsInteropTink(t *testing.T) {
	t.Parallel()
	for _, segSize := range []int{57, 64, 100, 4096} {
		k, tk := newTestStreamKey(t, segSize)
		first := segSize - k.headerLen() - streamTagSize
		next := segSize - streamTagSize
		for _, size := range segmentSizes(k, 4) {
			pt := make([]byte, size)
			_, _ = rand.Read(pt)
			ad := []byte(fmt.Sprintf("ad-%d-%d", segSize, size))
			for _, chunk := range []int{0, 1, 7, first, first + 1, next, next + 1, 3*next + 5} {
				checkInterop(t, k, tk, pt, ad, chunk, fmt.Sprintf("seg=%d size=%d chunk=%d", segSize, size, chunk))
			}
		}
	}
}

// checkInterop writes pt in pieces of chunk bytes with privkit for Tink to
// read, and with Tink for privkit to read, and returns Tink's stream.
func checkInterop(t *testing.T, k *streamKey, tk *streamsubtle.AESGCMHKDF, pt, ad []byte, chunk int, name string) []byte {
	t.Helper()
	var ct bytes.Buffer
	w, err := newSegmentWriter(k, &ct, ad)
	require.NoError(t, err)
	writeChunks(t, w, pt, chunk)
	tr, err := tk.NewDecryptingReader(bytes.NewReader(ct.Bytes()), ad)
	require.NoError(t, err, name)
	got, err := io.ReadAll(tr)
	require.NoError(t, err, name)
	require.True(t, bytes.Equal(pt, got), "%s: Tink reads privkit's stream", name)

	var tct bytes.Buffer
	tw, err := tk.NewEncryptingWriter(&tct, ad)
	require.NoError(t, err)
	writeChunks(t, tw, pt, chunk)
	require.Equal(t, tct.Len(), ct.Len(), "%s: the same length as Tink's", name)
	got, err = readChunks(newSegmentReader([]*streamKey{k}, bytes.NewReader(tct.Bytes()), ad), chunk)
	require.NoError(t, err, name)
	require.True(t, bytes.Equal(pt, got), "%s: privkit reads Tink's stream", name)
	return tct.Bytes()
}

// TestSegmentsInteropTinkDefault: the same both ways with the 1 MiB
// segments privkit creates, and with Tink's keyset primitive on a real
// source's keyset.
func TestSegmentsInteropTinkDefault(t *testing.T) {
	t.Parallel()
	sk, err := generateSourceKeys()
	require.NoError(t, err)
	require.Len(t, sk.streamKeys, 1)
	k := sk.streamKeys[0]
	require.Equal(t, segment, k.segSize)
	require.Equal(t, 40, k.headerLen())
	sa, err := streamingaead.New(sk.stream)
	require.NoError(t, err)
	ad := []byte("ad")
	for _, size := range segmentSizes(k, 2) {
		pt := make([]byte, size)
		_, _ = rand.Read(pt)
		var ct bytes.Buffer
		w, err := newSegmentWriter(k, &ct, ad)
		require.NoError(t, err)
		writeChunks(t, w, pt, segment)
		r, err := sa.NewDecryptingReader(bytes.NewReader(ct.Bytes()), ad)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.True(t, bytes.Equal(pt, got), "size %d: Tink's keyset reads privkit's stream", size)

		ct.Reset()
		tw, err := sa.NewEncryptingWriter(&ct, ad)
		require.NoError(t, err)
		writeChunks(t, tw, pt, 70_001)
		for _, chunk := range []int{0, 4096, segment} {
			got, err := readChunks(newSegmentReader(sk.streamKeys, bytes.NewReader(ct.Bytes()), ad), chunk)
			require.NoError(t, err)
			require.True(t, bytes.Equal(pt, got), "size %d chunk %d: privkit reads Tink's keyset stream", size, chunk)
		}
	}
}

// TestSegmentsSeveralKeys: a keyset of several keys opens a stream of any
// of them, whether the first segment is opened into the caller's slice,
// in place, or through WriteTo, and refuses a stream of a foreign key.
func TestSegmentsSeveralKeys(t *testing.T) {
	t.Parallel()
	old, oldTink := newTestStreamKey(t, 100)
	cur, _ := newTestStreamKey(t, 100)
	_, foreignTink := newTestStreamKey(t, 100)
	keys := []*streamKey{cur, old}
	pt := make([]byte, 1000)
	_, _ = rand.Read(pt)
	seal := func(w io.WriteCloser, err error, buf *bytes.Buffer) []byte {
		require.NoError(t, err)
		writeChunks(t, w, pt, 33)
		return buf.Bytes()
	}
	var a, b, c bytes.Buffer
	tw, err := oldTink.NewEncryptingWriter(&a, nil)
	byOld := seal(tw, err, &a)
	cw, err := newSegmentWriter(cur, &b, nil)
	byCur := seal(cw, err, &b)
	fw, err := foreignTink.NewEncryptingWriter(&c, nil)
	byForeign := seal(fw, err, &c)
	for _, chunk := range []int{0, 10, 100, 4096} {
		for name, ct := range map[string][]byte{"old key": byOld, "primary key": byCur} {
			got, err := readChunks(newSegmentReader(keys, bytes.NewReader(ct), nil), chunk)
			require.NoError(t, err, "%s chunk %d", name, chunk)
			require.True(t, bytes.Equal(pt, got), "%s chunk %d", name, chunk)
		}
		got, err := readChunks(newSegmentReader(keys, bytes.NewReader(byForeign), nil), chunk)
		require.ErrorIs(t, err, ErrDecrypt, "chunk %d: a stream of another key", chunk)
		require.Empty(t, got)
		got, err = readChunks(newSegmentReader(keys, bytes.NewReader(byOld), []byte("other")), chunk)
		require.ErrorIs(t, err, ErrDecrypt, "chunk %d: other associated data", chunk)
		require.Empty(t, got)
	}
}

// TestSegmentsBuffersCleared: the reader and the writer give their segment
// buffer back at the end, cleared of plaintext.
func TestSegmentsBuffersCleared(t *testing.T) {
	t.Parallel()
	k, _ := newTestStreamKey(t, 4096)
	pt := bytes.Repeat([]byte{0x5a}, 10_000)
	var ct bytes.Buffer
	w, err := newSegmentWriter(k, &ct, nil)
	require.NoError(t, err)
	_, err = w.Write(pt[:100])
	require.NoError(t, err)
	buf := w.buf.b
	require.True(t, bytes.Contains(buf, pt[:100]), "plaintext collected")
	require.NoError(t, w.Close())
	assert.Nil(t, w.buf.b, "the writer let its buffer go")
	assert.Equal(t, make([]byte, len(buf)), buf, "the writer's buffer is cleared")

	_, err = io.ReadAll(newSegmentReader([]*streamKey{k}, bytes.NewReader(nil), nil))
	require.ErrorIs(t, err, ErrDecrypt, "an empty source is no stream")

	var ct2 bytes.Buffer
	w, err = newSegmentWriter(k, &ct2, nil)
	require.NoError(t, err)
	writeChunks(t, w, pt, 1000)
	r := newSegmentReader([]*streamKey{k}, bytes.NewReader(ct2.Bytes()), nil)
	p := make([]byte, 10) // small reads: segments are opened in place
	_, err = r.Read(p)
	require.NoError(t, err)
	buf = r.buf.b
	assert.True(t, bytes.Contains(buf, bytes.Repeat([]byte{0x5a}, 100)), "plaintext opened in place")
	_, err = io.ReadAll(r)
	require.NoError(t, err)
	assert.Nil(t, r.buf.b, "the reader let its buffer go at the end")
	assert.Equal(t, make([]byte, len(buf)), buf, "the reader's buffer is cleared")
}

// TestSegmentsShortStreamSmallBuffer: a stream much shorter than a segment
// is written and read with a buffer about its size, not a whole segment's;
// a longer one grows its buffer to the segment's.
func TestSegmentsShortStreamSmallBuffer(t *testing.T) {
	t.Parallel()
	sk, err := generateSourceKeys()
	require.NoError(t, err)
	k := sk.streamKeys[0]
	require.Equal(t, segment, k.segSize)
	small, medium := bufTiers[0].size, bufTiers[1].size
	for _, tc := range []struct {
		size   int
		writer int // the writer holds the plaintext and room for its tag
		reader int // the reader the ciphertext and a byte to see the end
	}{
		{5000, small, small},
		{small - streamTagSize - 1, small, small},
		{small - streamTagSize, small, medium},
		{small - streamTagSize + 1, medium, medium},
		{300 << 10, segment + 1, segment + 1},
	} {
		pt := make([]byte, tc.size)
		_, _ = rand.Read(pt)
		var ct bytes.Buffer
		w, err := newSegmentWriter(k, &ct, nil)
		require.NoError(t, err)
		_, err = w.Write(pt)
		require.NoError(t, err)
		assert.Equal(t, tc.writer, len(w.buf.b), "writer, %d bytes", tc.size)
		require.NoError(t, w.Close())

		r := newSegmentReader([]*streamKey{k}, bytes.NewReader(ct.Bytes()), nil)
		p := make([]byte, 10)
		_, err = r.Read(p)
		require.NoError(t, err)
		assert.Equal(t, tc.reader, len(r.buf.b), "reader, %d bytes", tc.size)
		rest, err := io.ReadAll(r)
		require.NoError(t, err)
		require.True(t, bytes.Equal(pt, append(p, rest...)), "%d bytes", tc.size)
	}
}

// TestSegmentsGrowingBuffer: streams whose segments end at, around and
// between the sizes a buffer grows through are written and read (in
// pieces, and through WriteTo) interchangeably with Tink.
func TestSegmentsGrowingBuffer(t *testing.T) {
	t.Parallel()
	k, tk := newTestStreamKey(t, 300<<10)
	sizes := segmentSizes(k, 2)
	for i := range bufTiers {
		size := bufTiers[i].size
		if size > k.segSize {
			break // the stream takes a buffer of its segment size
		}
		for _, d := range []int{-2, -1, 0, 1, 2} {
			// The writer's buffer holds plaintext and the tag; the
			// reader's the first segment's ciphertext and a byte more.
			sizes = append(sizes, size-streamTagSize+d, size-streamTagSize-1+d)
		}
	}
	for _, size := range sizes {
		pt := make([]byte, size)
		_, _ = rand.Read(pt)
		for _, chunk := range []int{0, 1000, bufTiers[0].size - 1, 70_001} {
			name := fmt.Sprintf("size=%d chunk=%d", size, chunk)
			tct := checkInterop(t, k, tk, pt, nil, chunk, name)
			var out bytes.Buffer
			_, err := newSegmentReader([]*streamKey{k}, nil, nil).sinkFrom(&chunkedSource{b: tct, chunk: max(chunk, 1)}, &out)
			require.NoError(t, err, name)
			require.True(t, bytes.Equal(pt, out.Bytes()), "%s: through the sink", name)
			if size > 0 {
				_, err = io.ReadAll(newSegmentReader([]*streamKey{k}, bytes.NewReader(tct[:len(tct)-1]), nil))
				require.ErrorIs(t, err, ErrDecrypt, "%s: truncated", name)
			}
		}
	}
}

// TestStreamBufGrow: growing keeps what the buffer holds and clears the
// buffer it leaves; release clears the last one.
func TestStreamBufGrow(t *testing.T) {
	s := streamBuf{full: 1<<20 + 1}
	s.grow(10, 0)
	require.Equal(t, bufTiers[0].size, len(s.b))
	copy(s.b, "0123456789")
	s.note(10)
	old := s.b
	s.grow(bufTiers[0].size+1, 10)
	require.Equal(t, bufTiers[1].size, len(s.b))
	assert.Equal(t, "0123456789", string(s.b[:10]))
	assert.Equal(t, make([]byte, 10), old[:10], "the smaller buffer is cleared")
	s.grow(bufTiers[1].size+1, 4)
	require.Equal(t, 1<<20+1, len(s.b))
	assert.Equal(t, "0123", string(s.b[:4]))
	s.grow(100, 4) // no shrinking
	require.Equal(t, 1<<20+1, len(s.b))
	last := s.b
	s.release()
	assert.Nil(t, s.b)
	assert.Equal(t, make([]byte, 10), last[:10], "released cleared")

	// A segment size below the tiers takes a segment buffer at once.
	s = streamBuf{full: 4097}
	s.grow(1, 0)
	assert.Equal(t, 4097, len(s.b))
	assert.Equal(t, 4097, s.fillEnd(0, 4097))
	s.release()
	s = streamBuf{full: 1<<20 + 1}
	assert.Equal(t, bufTiers[0].size, s.fillEnd(0, 1<<20+1))
	assert.Equal(t, 100, s.fillEnd(0, 100))
	assert.Equal(t, bufTiers[1].size, s.fillEnd(bufTiers[0].size, 1<<20+1))
	assert.Equal(t, 1<<20+1, s.fillEnd(bufTiers[1].size, 1<<20+1))
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errDisk
	}
	f.n--
	return len(p), nil
}

// TestSegmentsWriterErrors: an error of dst is returned wrapped, is sticky,
// and Close reports it.
func TestSegmentsWriterErrors(t *testing.T) {
	t.Parallel()
	k, _ := newTestStreamKey(t, 100)
	_, err := newSegmentWriter(k, &failWriter{}, nil)
	require.ErrorIs(t, err, errDisk, "the header cannot be written")

	w, err := newSegmentWriter(k, &failWriter{n: 2}, nil) // header and one segment
	require.NoError(t, err)
	_, err = w.Write(make([]byte, 500))
	require.ErrorIs(t, err, errDisk)
	_, err = w.Write([]byte("x"))
	require.ErrorIs(t, err, errDisk, "sticky")
	require.ErrorIs(t, w.Close(), errDisk)
	_, err = w.Write([]byte("x"))
	require.ErrorIs(t, err, ErrClosed)
}

// TestSegmentsCounterLimit: like Tink, a stream holds at most 2^32-1
// segments; the writer refuses to go past, and the reader refuses a
// segment numbered past the last one a writer could make.
func TestSegmentsCounterLimit(t *testing.T) {
	t.Parallel()
	k, _ := newTestStreamKey(t, 100)
	w, err := newSegmentWriter(k, io.Discard, nil)
	require.NoError(t, err)
	w.seg = math.MaxUint32 - 2
	_, err = w.Write(make([]byte, 100)) // seals segment 2^32-3, keeps the rest
	require.NoError(t, err)
	require.NoError(t, w.Close(), "the last segment may be numbered 2^32-2")
	w, err = newSegmentWriter(k, io.Discard, nil)
	require.NoError(t, err)
	w.seg = math.MaxUint32 - 2
	_, err = w.Write(make([]byte, 200)) // would need segment 2^32-2 to be not the last
	require.True(t, errors.Is(err, errStreamTooLong), "got %v", err)
	require.ErrorIs(t, w.Close(), errStreamTooLong)

	// The reader: a stream made to end at the last number opens...
	var ct bytes.Buffer
	w, err = newSegmentWriter(k, &ct, nil)
	require.NoError(t, err)
	w.seg = math.MaxUint32 - 2
	writeChunks(t, w, make([]byte, 100), 0)
	r := newSegmentReader([]*streamKey{k}, bytes.NewReader(ct.Bytes()), nil)
	r.seg = math.MaxUint32 - 2
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Len(t, got, 100)
	// ...but a segment numbered 2^32-2 that is not the last is refused,
	// although its tag is good.
	ct.Reset()
	w, err = newSegmentWriter(k, &ct, nil)
	require.NoError(t, err)
	w.seg = math.MaxUint32 - 1
	require.NoError(t, w.emit(make([]byte, 44), false))
	require.NoError(t, w.emit(nil, true))
	r = newSegmentReader([]*streamKey{k}, bytes.NewReader(ct.Bytes()), nil)
	r.seg = math.MaxUint32 - 1
	got, err = readChunks(r, 4096)
	require.ErrorIs(t, err, ErrDecrypt)
	require.Empty(t, got)
}

// chunkedSource hands its bytes to a writer in pieces of one size, as a
// source's WriteTo may.
type chunkedSource struct {
	b     []byte
	chunk int
}

func (c *chunkedSource) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for rest := c.b; len(rest) > 0; {
		m, err := w.Write(rest[:min(len(rest), c.chunk)])
		n += int64(m)
		if err != nil {
			return n, err
		}
		rest = rest[m:]
	}
	return n, nil
}

// TestSegmentsSink: segments that straddle the writes of a source are
// collected, whole ones are opened where they lie, and either way the
// plaintext is Tink's, under one key or several.
func TestSegmentsSink(t *testing.T) {
	t.Parallel()
	k, tk := newTestStreamKey(t, 100)
	other, _ := newTestStreamKey(t, 100)
	for _, size := range segmentSizes(k, 4) {
		pt := make([]byte, size)
		_, _ = rand.Read(pt)
		var ct bytes.Buffer
		tw, err := tk.NewEncryptingWriter(&ct, nil)
		require.NoError(t, err)
		writeChunks(t, tw, pt, 0)
		for _, keys := range [][]*streamKey{{k}, {other, k}} {
			for _, chunk := range []int{1, 7, 39, 40, 41, 60, 99, 100, 101, 250, len(ct.Bytes())} {
				var out bytes.Buffer
				n, err := newSegmentReader(keys, nil, nil).sinkFrom(&chunkedSource{b: ct.Bytes(), chunk: max(chunk, 1)}, &out)
				require.NoError(t, err, "size %d chunk %d", size, chunk)
				require.Equal(t, int64(size), n)
				require.True(t, bytes.Equal(pt, out.Bytes()), "size %d chunk %d keys %d", size, chunk, len(keys))
				// A cut anywhere fails, having written only a prefix.
				for _, cut := range []int{0, 1, 40, 41, len(ct.Bytes()) - 1} {
					if cut >= len(ct.Bytes()) {
						continue
					}
					out.Reset()
					_, err := newSegmentReader(keys, nil, nil).sinkFrom(&chunkedSource{b: ct.Bytes()[:cut], chunk: max(chunk, 1)}, &out)
					require.ErrorIs(t, err, ErrDecrypt, "size %d chunk %d cut %d", size, chunk, cut)
					require.True(t, bytes.HasPrefix(pt, out.Bytes()))
				}
			}
		}
	}
}

// TestSegmentsSinkDestinationError: an error of the destination is
// returned as it is, not as a decryption failure, and stays.
func TestSegmentsSinkDestinationError(t *testing.T) {
	t.Parallel()
	k, _ := newTestStreamKey(t, 100)
	var ct bytes.Buffer
	w, err := newSegmentWriter(k, &ct, nil)
	require.NoError(t, err)
	writeChunks(t, w, make([]byte, 1000), 0)
	r := newSegmentReader([]*streamKey{k}, bytes.NewReader(ct.Bytes()), nil)
	_, err = io.Copy(&failWriter{n: 1}, r)
	require.ErrorIs(t, err, errDisk)
	require.NotErrorIs(t, err, ErrDecrypt)
	_, err = r.Read(make([]byte, 10))
	require.ErrorIs(t, err, errDisk, "sticky")
}
