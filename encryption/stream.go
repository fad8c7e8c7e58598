package encryption

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// NewEncryptingWriter returns a writer that encrypts what is written to it
// for sourceID and writes the ciphertext to dst, creating the source's keys
// on first use. Close must be called to write the final segment; it does
// not close dst. associatedData binds the stream like [Keyring.Encrypt]'s.
//
// The format is Tink's streaming AEAD AES-256-GCM-HKDF with 1 MiB
// segments, written segment by segment and sealed in place: the writer
// holds one buffer (pooled, cleared after use) that grows with the stream
// to at most a segment, so a stream of a few kilobytes takes 16 KiB, not
// 1 MiB; a whole segment at the start of a Write is sealed straight from
// the caller's slice. The writer is not safe for concurrent
// use.
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
	w, err := newSegmentWriter(sk.streamKeys[0], dst, bindAD(nil, labelStream, sourceID, associatedData))
	if err != nil {
		return nil, err
	}
	return w, nil
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
// stream header. The reader holds one buffer, which grows like the
// writer's to at most a segment; a segment that fits in Read's slice is
// opened straight into it, and the reader's WriteTo
// (which io.Copy uses) opens each segment in place and copies nothing.
// The reader is not safe for concurrent use.
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
	return newSegmentReader(sk.streamKeys, src, bindAD(nil, labelStream, sourceID, associatedData)), nil
}

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
	n, err := io.Copy(w, r) // the reader's WriteTo: no copy buffer
	if err != nil {
		return n, err
	}
	if err := w.Close(); err != nil {
		return n, fmt.Errorf("encryption: reencrypt stream: %w", err)
	}
	return n, nil
}
