package encryption

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// NewEncryptingWriter returns a writer that encrypts what is written to it
// for sourceID and writes the ciphertext to dst, creating the source's keys
// on first use. Close must be called to write the final segment; it does
// not close dst. associatedData binds the stream like [Keyring.Encrypt]'s.
//
// The format is Tink's streaming AEAD AES-256-GCM-HKDF with 1 MiB
// segments: memory use is about two segments whatever the stream's size.
// The writer is not safe for concurrent use.
//
// Opening a stream, unlike sealing a record, checks the source's version in
// the store even when its keys are cached: one small read, no KEK call
// unless the keys changed. So a source shredded or rotated by another
// instance is seen at once by streams.
func (k *Keyring) NewEncryptingWriter(ctx context.Context, sourceID string, dst io.Writer, associatedData []byte) (io.WriteCloser, error) {
	if err := k.check(sourceID); err != nil {
		return nil, err
	}
	if dst == nil {
		return nil, errors.New("encryption: nil destination writer")
	}
	sk, err := k.streamKeys(ctx, sourceID, true)
	if err != nil {
		return nil, err
	}
	w, err := sk.streaming.NewEncryptingWriter(dst, bindAD(nil, labelStream, sourceID, associatedData))
	if err != nil {
		return nil, fmt.Errorf("encryption: new encrypting writer: %w", err)
	}
	return &encryptWriter{w: w}, nil
}

// encryptWriter makes Tink's writer report ErrClosed after Close.
type encryptWriter struct {
	w      io.WriteCloser
	closed bool
}

func (e *encryptWriter) Write(p []byte) (int, error) {
	if e.closed {
		return 0, fmt.Errorf("encryption: write after close: %w", ErrClosed)
	}
	return e.w.Write(p)
}

func (e *encryptWriter) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	return e.w.Close()
}

// NewDecryptingReader returns a reader of the plaintext of a stream made by
// [Keyring.NewEncryptingWriter] for the same sourceID and associatedData,
// read from src. It returns ErrShredded or ErrUnknownSource at once when the
// source has no keys; like [Keyring.NewEncryptingWriter] it checks the
// store even when the keys are cached.
//
// The reader returns plaintext one authenticated segment (1 MiB) at a time:
// a segment is never returned before its tag has been checked, and a
// truncated, reordered or altered stream ends in ErrDecrypt instead of
// io.EOF. A consumer must therefore treat everything it read as untrusted
// until Read returns io.EOF. Errors from src itself are returned wrapped.
// Making the reader reads nothing from src: the first Read reads the
// stream header. The reader is not safe for concurrent use.
func (k *Keyring) NewDecryptingReader(ctx context.Context, sourceID string, src io.Reader, associatedData []byte) (io.Reader, error) {
	if err := k.check(sourceID); err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("encryption: nil source reader")
	}
	sk, err := k.streamKeys(ctx, sourceID, false)
	if err != nil {
		return nil, err
	}
	return &decryptReader{
		sa:  sk.streamOpen,
		ad:  bindAD(nil, labelStream, sourceID, associatedData),
		src: &srcRecorder{r: src},
	}, nil
}

// srcRecorder remembers the first error of the ciphertext source other than
// io.EOF, to tell an I/O failure from an authentication failure.
type srcRecorder struct {
	r   io.Reader
	err error
}

func (s *srcRecorder) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// decryptReader maps every failure of Tink's reader to ErrDecrypt, except
// errors of the source, and makes the first error sticky. It opens Tink's
// reader, which reads the stream header, on the first Read, so that making
// a reader never blocks on src.
type decryptReader struct {
	sa  tink.StreamingAEAD
	ad  []byte
	r   io.Reader
	src *srcRecorder
	err error
}

func (d *decryptReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	var n int
	err := d.open()
	if err == nil {
		n, err = d.r.Read(p)
	} else if err == io.EOF {
		// An empty source has no header: it is no stream, not an empty one.
		err = io.ErrUnexpectedEOF
	}
	switch {
	case err == nil:
	case err == io.EOF:
		d.err = io.EOF
	case d.src.err != nil && !errors.Is(d.src.err, io.ErrUnexpectedEOF):
		d.err = fmt.Errorf("encryption: read ciphertext: %w", d.src.err)
	default:
		d.err = ErrDecrypt
	}
	if d.err != nil && d.err != io.EOF {
		// Never hand out bytes of a segment that failed.
		return 0, d.err
	}
	return n, d.err
}

// open makes Tink's reader on first use.
func (d *decryptReader) open() error {
	if d.r != nil {
		return nil
	}
	r, err := d.sa.NewDecryptingReader(d.src, d.ad)
	if err != nil {
		return err
	}
	d.r = r
	return nil
}

// copyBufPool holds buffers for ReencryptStream.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// ReencryptStream copies a stream of sourceID from src to dst, decrypting
// it and encrypting it again under the source's current primary key, for
// use after [Keyring.Rotate]. It returns the plaintext length. On error, dst
// holds an incomplete stream that must be discarded.
func (k *Keyring) ReencryptStream(ctx context.Context, sourceID string, dst io.Writer, src io.Reader, associatedData []byte) (int64, error) {
	r, err := k.NewDecryptingReader(ctx, sourceID, src, associatedData)
	if err != nil {
		return 0, err
	}
	w, err := k.NewEncryptingWriter(ctx, sourceID, dst, associatedData)
	if err != nil {
		return 0, err
	}
	bp := copyBufPool.Get().(*[]byte)
	defer func() { clear(*bp); copyBufPool.Put(bp) }()
	n, err := io.CopyBuffer(w, r, *bp)
	if err != nil {
		return n, err
	}
	if err := w.Close(); err != nil {
		return n, fmt.Errorf("encryption: reencrypt stream: %w", err)
	}
	return n, nil
}
