package encryption

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	tinksubtle "github.com/tink-crypto/tink-go/v2/subtle"
)

// This file reads and writes Tink's streaming AEAD format AES-GCM-HKDF
// (streamingaead/subtle.AESGCMHKDF with no first-segment offset) itself,
// segment by segment, so that a segment is sealed and opened in place in
// one buffer: Tink's own writer copies every byte into a plaintext buffer
// and seals it into a second one, and its reader opens into a second buffer
// and copies out again. The bytes are Tink's, and tests check that both
// directions interoperate with Tink's implementation:
//
//	header    = len(header) (1 byte) || salt (derived key size) || nonce prefix (7)
//	key       = HKDF(hash, main key, salt, info = associated data), derived key size
//	segment i = AES-GCM(key, nonce = prefix || uint32be(i) || last (1 byte), no AD)
//
// Every ciphertext segment is segSize bytes except the last, which may be
// shorter; the first holds the header too, so it carries headerLen fewer
// bytes of ciphertext. The last segment's nonce ends in 1, which is how a
// truncation at a segment boundary is caught.

const (
	streamNonceSize       = 12
	streamNoncePrefixSize = 7
	streamTagSize         = 16
)

// streamKey is one key of a source's streaming keyset, with the parameters
// of Tink's AES-GCM-HKDF key.
type streamKey struct {
	main     []byte // key derivation key
	hkdfHash string // Tink's hash name, as subtle.ComputeHKDF takes it
	keySize  int    // size of the derived AES key
	segSize  int    // ciphertext segment size
}

func (k *streamKey) headerLen() int { return 1 + k.keySize + streamNoncePrefixSize }

// aead derives the AES-GCM key of one stream from its salt.
func (k *streamKey) aead(salt, associatedData []byte) (cipher.AEAD, error) {
	dk, err := tinksubtle.ComputeHKDF(k.hkdfHash, k.main, salt, associatedData, uint32(k.keySize))
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	return newSegmentGCM(dk)
}

// newSegmentGCM is the AES-GCM of stream segments: Go's crypto/aes and
// cipher.NewGCM (12-byte nonce, 16-byte tag), as Tink's own streaming AEAD
// builds it. The Wycheproof vectors run through it.
func newSegmentGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// segment is the segment size of the streams privkit creates (Tink's
// AES256GCMHKDF1MB template); other sizes are read too.
const segment = 1 << 20

// bufTiers are the sizes a stream's buffer grows through, each with a pool
// of cleared buffers: a stream shorter than a segment holds a buffer about
// its own size, and the last is a whole segment of the default size (1 MiB)
// and the reader's one byte of look-ahead.
var bufTiers = [...]struct {
	size int
	pool sync.Pool
}{
	{size: 16 << 10},
	{size: 128 << 10},
	{size: segment + 1},
}

func init() {
	for i := range bufTiers {
		size := bufTiers[i].size
		bufTiers[i].pool.New = func() any { b := make([]byte, size); return &b }
	}
}

// streamBuf is the working buffer of a stream writer or reader. It starts
// empty and grows, as the stream turns out long, through the bufTiers no
// larger than full (the segment size and one byte of look-ahead) to full
// bytes; a buffer of a segment size no tier has is allocated and dropped.
// What it held is cleared whenever it grows or is released.
type streamBuf struct {
	b    []byte  // the buffer; len(b) is its size
	p    *[]byte // the backing of b
	tier int     // index into bufTiers, len(bufTiers) if not pooled
	used int     // high-water mark of the bytes written in b
	full int     // the size of a segment buffer: a segment and one byte
}

// grow makes b at least n bytes long (n <= full), keeping b[:keep].
func (s *streamBuf) grow(n, keep int) {
	if n <= len(s.b) {
		return
	}
	t := 0
	for t < len(bufTiers) && (bufTiers[t].size < n || bufTiers[t].size > s.full) {
		t++
	}
	var p *[]byte
	if t < len(bufTiers) {
		p = bufTiers[t].pool.Get().(*[]byte)
	} else {
		b := make([]byte, s.full)
		p = &b
	}
	copy(*p, s.b[:keep])
	s.release()
	s.p, s.b, s.tier, s.used = p, *p, t, keep
}

// fillEnd returns where to fill the buffer to next, n bytes being in it,
// with at most limit wanted: its own end if there is room, else the next
// size up.
func (s *streamBuf) fillEnd(n, limit int) int {
	if n < len(s.b) {
		return min(len(s.b), limit)
	}
	for i := range bufTiers {
		if size := bufTiers[i].size; size > n && size <= s.full {
			return min(size, limit)
		}
	}
	return limit
}

// note records that b[:n] has been written.
func (s *streamBuf) note(n int) { s.used = max(s.used, n) }

// release clears what the buffer held and returns it to its pool.
func (s *streamBuf) release() {
	if s.p == nil {
		return
	}
	clear((*s.p)[:s.used])
	if s.tier < len(bufTiers) {
		bufTiers[s.tier].pool.Put(s.p)
	}
	s.p, s.b, s.used = nil, nil, 0
}

// segmentNonce sets the counter and last-segment flag of nonce.
func segmentNonce(nonce *[streamNonceSize]byte, seg uint32, last bool) {
	binary.BigEndian.PutUint32(nonce[streamNoncePrefixSize:], seg)
	nonce[streamNonceSize-1] = 0
	if last {
		nonce[streamNonceSize-1] = 1
	}
}

// errStreamTooLong: Tink numbers segments with 32 bits and refuses the last
// number, so a stream holds at most 2^32-1 segments (4 PiB at 1 MiB).
var errStreamTooLong = errors.New("encryption: stream too long (2^32-1 segments)")

// segmentWriter encrypts a stream under one key.
type segmentWriter struct {
	dst    io.Writer
	aead   cipher.AEAD
	nonce  [streamNonceSize]byte
	buf    streamBuf // plaintext collects here and is sealed in place
	n      int       // plaintext bytes in buf
	limit  int       // plaintext size of the current (non-last) segment
	seg    uint32    // number of the current segment
	segPT  int       // plaintext size of segments after the first
	err    error     // sticky
	closed bool
}

// newSegmentWriter writes the stream header to dst and returns the writer.
func newSegmentWriter(k *streamKey, dst io.Writer, associatedData []byte) (*segmentWriter, error) {
	hl := k.headerLen()
	header := make([]byte, hl)
	header[0] = byte(hl)
	if _, err := rand.Read(header[1:]); err != nil {
		return nil, fmt.Errorf("encryption: stream salt: %w", err)
	}
	salt, prefix := header[1:1+k.keySize], header[1+k.keySize:]
	a, err := k.aead(salt, associatedData)
	if err != nil {
		return nil, fmt.Errorf("encryption: stream key: %w", err)
	}
	if _, err := dst.Write(header); err != nil {
		return nil, fmt.Errorf("encryption: write ciphertext: %w", err)
	}
	w := &segmentWriter{
		dst:   dst,
		aead:  a,
		buf:   streamBuf{full: k.segSize + 1},
		limit: k.segSize - hl - streamTagSize,
		segPT: k.segSize - streamTagSize,
	}
	copy(w.nonce[:], prefix)
	return w, nil
}

// Write seals every segment that is followed by more plaintext; the last
// one waits for Close. A whole segment at the start of p is sealed straight
// from p, the rest is collected in the buffer, which grows with what it
// holds (and room for the tag, to seal in place).
func (w *segmentWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("encryption: write after close: %w", ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	written := 0
	for len(p) > 0 {
		if lim := w.limit; w.n == 0 && len(p) > lim {
			if err := w.seal(p[:lim]); err != nil {
				return written, err
			}
			p, written = p[lim:], written+lim
			continue
		}
		c := min(len(p), w.limit-w.n)
		w.buf.grow(w.n+c+streamTagSize, w.n)
		copy(w.buf.b[w.n:], p[:c])
		w.n += c
		w.buf.note(w.n)
		p, written = p[c:], written+c
		if w.n == w.limit && len(p) > 0 {
			if err := w.seal(w.buf.b[:w.n]); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// seal seals one segment that is not the last and writes it.
func (w *segmentWriter) seal(pt []byte) error {
	if w.seg == math.MaxUint32-1 {
		w.err = errStreamTooLong
		return w.err
	}
	if err := w.emit(pt, false); err != nil {
		return err
	}
	w.seg++
	w.n = 0
	w.limit = w.segPT
	return nil
}

// emit seals pt (in place when it is the buffer) into the buffer and writes
// the segment to dst.
func (w *segmentWriter) emit(pt []byte, last bool) error {
	segmentNonce(&w.nonce, w.seg, last)
	// A no-op when pt is the buffer: Write left room for the tag.
	w.buf.grow(len(pt)+streamTagSize, 0)
	ct := w.aead.Seal(w.buf.b[:0], w.nonce[:], pt, nil)
	w.buf.note(len(ct))
	if _, err := w.dst.Write(ct); err != nil {
		w.err = fmt.Errorf("encryption: write ciphertext: %w", err)
		return w.err
	}
	return nil
}

// Close seals the last segment, which may be empty, and releases the
// buffer. It does not close dst.
func (w *segmentWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.release()
	if w.err != nil {
		return w.err
	}
	return w.emit(w.buf.b[:w.n], true)
}

func (w *segmentWriter) release() { w.buf.release() }

// segmentReader decrypts a stream under whichever of its keys made it.
type segmentReader struct {
	keys []*streamKey // the keyset's enabled keys, primary first
	ad   []byte
	src  io.Reader

	key     *streamKey  // the key of the stream, once its header is read
	aead    cipher.AEAD // nil until the first segment is open when keys > 1
	salt    []byte
	nonce   [streamNonceSize]byte
	buf     streamBuf // a ciphertext segment and one byte more, as they come
	ahead   int       // 1 when the last read brought the next segment's first byte
	aheadB  byte      // that byte, kept aside while buf holds plaintext
	seg     uint32
	started bool   // the first segment has been read
	pt      []byte // authenticated plaintext not yet returned
	last    bool   // the last segment has been read
	err     error  // sticky; io.EOF at the end
	scratch []byte // plaintext of a trial opening, several keys only
}

func newSegmentReader(keys []*streamKey, src io.Reader, associatedData []byte) *segmentReader {
	return &segmentReader{keys: keys, ad: associatedData, src: src}
}

// Read returns plaintext of authenticated segments only. A segment that fits
// in p is opened straight into p.
func (r *segmentReader) Read(p []byte) (int, error) {
	if len(r.pt) > 0 {
		n := copy(p, r.pt)
		r.pt = r.pt[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	ct, err := r.next()
	if err != nil {
		return 0, r.fail(err)
	}
	if len(p) >= len(ct)-streamTagSize {
		out, err := r.open(p[:0], ct, r.last)
		if err != nil {
			return 0, r.fail(err)
		}
		if len(out) == 0 && r.last {
			return 0, r.fail(io.EOF) // an empty last segment
		}
		return len(out), nil
	}
	out, err := r.openInPlace(ct)
	if err != nil {
		return 0, r.fail(err)
	}
	n := copy(p, out)
	r.pt = out[n:]
	return n, nil
}

// WriteTo writes the plaintext to w one authenticated segment at a time,
// opened in place in the buffer the ciphertext was read into: io.Copy uses
// it, and the plaintext is never copied.
//
// A source in memory (*bytes.Reader, *bytes.Buffer) hands its bytes over in
// one call of its own WriteTo, and its segments are opened where they lie,
// so the ciphertext is not copied either.
func (r *segmentReader) WriteTo(w io.Writer) (int64, error) {
	if r.key == nil && r.err == nil {
		switch src := r.src.(type) {
		case *bytes.Reader:
			return r.sinkFrom(src, w)
		case *bytes.Buffer:
			return r.sinkFrom(src, w)
		}
	}
	var total int64
	for {
		if len(r.pt) > 0 {
			n, err := w.Write(r.pt)
			total += int64(n)
			r.pt = r.pt[n:]
			if err == nil && len(r.pt) > 0 {
				err = io.ErrShortWrite
			}
			if err != nil {
				return total, err
			}
		}
		if r.err != nil {
			if r.err == io.EOF {
				return total, nil
			}
			return total, r.err
		}
		ct, err := r.next()
		if err != nil {
			r.fail(err)
			continue
		}
		out, err := r.openInPlace(ct)
		if err != nil {
			r.fail(err)
			continue
		}
		r.pt = out
	}
}

// next reads the next ciphertext segment into the buffer, after the header
// when it is the first. At the end of the stream it returns io.EOF.
func (r *segmentReader) next() ([]byte, error) {
	if r.last {
		return nil, io.EOF
	}
	if r.key == nil {
		if err := r.readHeader(); err != nil {
			return nil, err
		}
	}
	lim := r.segmentLen() + 1
	r.started = true
	if r.ahead == 1 {
		r.buf.b[0] = r.aheadB
	}
	n, err := r.fill(lim)
	switch err {
	case nil:
		// One byte of the next segment came too: this one is not the last.
		r.ahead, r.aheadB = 1, r.buf.b[lim-1]
		n--
	case io.EOF, io.ErrUnexpectedEOF:
		r.ahead, r.last = 0, true
	default:
		return nil, srcErr(err)
	}
	if !r.framed(n, r.last) {
		return nil, ErrDecrypt
	}
	return r.buf.b[:n], nil
}

// fill reads the source into the buffer, after the look-ahead byte, until
// it holds lim bytes or the source ends, and returns how many it holds. The
// buffer grows as the data keeps coming, so a short stream is read into a
// buffer about its own size.
func (r *segmentReader) fill(lim int) (int, error) {
	n := r.ahead
	for {
		end := r.buf.fillEnd(n, lim)
		r.buf.grow(end, n)
		m, err := io.ReadFull(r.src, r.buf.b[n:end])
		n += m
		r.buf.note(n)
		if err != nil || end == lim {
			return n, err
		}
	}
}

// segmentLen is the ciphertext length of the current segment unless it is
// the last: the first shares its room with the header.
func (r *segmentReader) segmentLen() int {
	if !r.started {
		return r.key.segSize - r.key.headerLen()
	}
	return r.key.segSize
}

// framed reports whether a segment of n bytes may stand where the reader
// is: it holds at least its tag, and only the last may have the number
// 2^32-2 (see errStreamTooLong).
func (r *segmentReader) framed(n int, last bool) bool {
	return n >= streamTagSize && (last || r.seg < math.MaxUint32-1)
}

// readHeader reads the stream header and sets up the reader.
func (r *segmentReader) readHeader() error {
	hl := r.keys[0].headerLen()
	var hdr [1 + 64 + streamNoncePrefixSize]byte
	if _, err := io.ReadFull(r.src, hdr[:1]); err != nil {
		if err == io.EOF {
			return ErrDecrypt // an empty source is no stream, not an empty one
		}
		return readErr(err)
	}
	if int(hdr[0]) != hl {
		return ErrDecrypt
	}
	if _, err := io.ReadFull(r.src, hdr[1:hl]); err != nil {
		return readErr(err)
	}
	return r.setHeader(hdr[:hl])
}

// setHeader takes the salt and nonce prefix of a whole header, derives the
// key when the keyset has only one, and sizes the buffer for its segments
// (which fill takes as they come). All keys of a keyset have the same
// header length and segment size.
func (r *segmentReader) setHeader(hdr []byte) error {
	k0 := r.keys[0]
	if len(hdr) != k0.headerLen() || int(hdr[0]) != len(hdr) {
		return ErrDecrypt
	}
	r.salt = append([]byte(nil), hdr[1:1+k0.keySize]...)
	copy(r.nonce[:], hdr[1+k0.keySize:])
	if len(r.keys) == 1 {
		a, err := k0.aead(r.salt, r.ad)
		if err != nil {
			return ErrDecrypt
		}
		r.aead = a
	}
	r.key = k0
	r.buf = streamBuf{full: k0.segSize + 1}
	return nil
}

// readErr maps a short read of the source to ErrDecrypt (a truncated
// stream) and wraps any other error of the source.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrDecrypt
	}
	return srcErr(err)
}

// srcErr wraps an error of the ciphertext source.
func srcErr(err error) error {
	return fmt.Errorf("encryption: read ciphertext: %w", err)
}

// open opens segment ct into dst, which must not overlap ct unless it is
// ct[:0] and the key is known. The first segment of a stream under a keyset
// of several keys is tried under each key.
func (r *segmentReader) open(dst, ct []byte, last bool) ([]byte, error) {
	segmentNonce(&r.nonce, r.seg, last)
	if r.aead == nil {
		for _, k := range r.keys {
			a, err := k.aead(r.salt, r.ad)
			if err != nil {
				continue
			}
			if out, err := a.Open(dst, r.nonce[:], ct, nil); err == nil {
				r.aead = a
				r.seg++
				return out, nil
			}
		}
		return nil, ErrDecrypt
	}
	out, err := r.aead.Open(dst, r.nonce[:], ct, nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	r.seg++
	return out, nil
}

// openInPlace opens ct in the buffer it was read into; a trial opening
// under several keys goes through a scratch buffer, since a failed opening
// in place would destroy the ciphertext.
func (r *segmentReader) openInPlace(ct []byte) ([]byte, error) {
	if r.aead != nil {
		return r.open(ct[:0], ct, r.last)
	}
	if r.scratch == nil {
		r.scratch = make([]byte, len(ct))
	}
	out, err := r.open(r.scratch[:0], ct, r.last)
	if err != nil {
		return nil, err
	}
	return append(ct[:0], out...), nil
}

// fail makes err sticky, releasing the buffer, and returns it.
func (r *segmentReader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	r.pt = nil
	r.buf.release()
	if r.scratch != nil {
		clear(r.scratch)
		r.scratch = nil
	}
	return r.err
}

// sinkFrom decrypts the stream src writes into a segmentSink, which opens
// every segment that lies whole in a Write, with a byte after it, straight
// from the written slice, and collects only the segments that straddle two
// Writes, and the last.
func (r *segmentReader) sinkFrom(src io.WriterTo, w io.Writer) (int64, error) {
	s := &segmentSink{r: r, w: w}
	defer s.release()
	_, err := src.WriteTo(s)
	switch {
	case s.err != nil:
		err = s.err // ErrDecrypt, or an error of w
	case err != nil:
		err = srcErr(err)
	default:
		err = s.finish()
	}
	if err != nil {
		return s.written, r.fail(err)
	}
	r.fail(io.EOF)
	return s.written, nil
}

// segmentSink is the writer sinkFrom hands to the source.
type segmentSink struct {
	r       *segmentReader
	w       io.Writer
	hdr     []byte    // the header as it arrives
	n       int       // bytes of the current segment collected in r.buf
	pt      streamBuf // plaintext buffer
	written int64
	err     error // sticky: ErrDecrypt, or an error of w
}

func (s *segmentSink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	total := len(p)
	r := s.r
	if r.key == nil {
		hl := r.keys[0].headerLen()
		c := min(hl-len(s.hdr), len(p))
		s.hdr, p = append(s.hdr, p[:c]...), p[c:]
		if int(s.hdr[0]) != hl {
			s.err = ErrDecrypt
			return 0, s.err
		}
		if len(s.hdr) < hl {
			return total, nil
		}
		if err := r.setHeader(s.hdr); err != nil {
			s.err = err
			return 0, err
		}
		s.pt = streamBuf{full: r.key.segSize + 1}
	}
	for len(p) > 0 {
		l := r.segmentLen()
		if s.n == 0 && len(p) > l {
			if err := s.emit(p[:l], false); err != nil {
				return 0, err
			}
			p = p[l:]
			continue
		}
		c := min(len(p), l+1-s.n)
		r.buf.grow(s.n+c, s.n)
		copy(r.buf.b[s.n:], p[:c])
		s.n += c
		r.buf.note(s.n)
		p = p[c:]
		if s.n == l+1 {
			if err := s.emit(r.buf.b[:l], false); err != nil {
				return 0, err
			}
			r.buf.b[0], s.n = r.buf.b[l], 1
		}
	}
	return total, nil
}

// emit opens one segment into the plaintext buffer and writes it to w.
func (s *segmentSink) emit(ct []byte, last bool) error {
	r := s.r
	r.started = true
	if !r.framed(len(ct), last) {
		s.err = ErrDecrypt
		return s.err
	}
	s.pt.grow(len(ct), 0)
	out, err := r.open(s.pt.b[:0], ct, last)
	if err != nil {
		s.err = err
		return err
	}
	s.pt.note(len(out))
	n, err := s.w.Write(out)
	s.written += int64(n)
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = err
		return err
	}
	return nil
}

// finish opens the last segment once the source has ended.
func (s *segmentSink) finish() error {
	if s.r.key == nil {
		return ErrDecrypt // the stream ended inside its header
	}
	if err := s.emit(s.r.buf.b[:s.n], true); err != nil {
		return err
	}
	s.r.last = true
	return nil
}

func (s *segmentSink) release() { s.pt.release() }
