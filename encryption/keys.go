package encryption

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/streamingaead/aesgcmhkdf"
	"github.com/tink-crypto/tink-go/v2/tink"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
)

// sourceKeys are the unwrapped keys of one data source: a Tink AEAD keyset
// (AES-256-GCM) for records and a streaming AEAD keyset
// (AES-256-GCM-HKDF, 1 MiB segments) for files.
type sourceKeys struct {
	version int64
	record  *keyset.Handle
	stream  *keyset.Handle
	aead    tink.AEAD
	// streamKeys are the enabled keys of the stream keyset, primary first:
	// privkit reads and writes Tink's streaming format itself (segments.go).
	streamKeys []*streamKey
	// primaryPrefix is the Tink output prefix of the record primary key:
	// ciphertexts starting with it need no re-encryption.
	primaryPrefix [5]byte
	keyIDs        map[uint32]bool // record key IDs
}

// recordTemplate and streamTemplate are the key types privkit creates.
var (
	recordTemplate = aead.AES256GCMKeyTemplate
	streamTemplate = streamingaead.AES256GCMHKDF1MBKeyTemplate
)

// newSourceKeys builds the primitives of a source's keysets and checks that
// they hold only the key types privkit creates.
func newSourceKeys(record, stream *keyset.Handle, version int64) (*sourceKeys, error) {
	sk := &sourceKeys{version: version, record: record, stream: stream, keyIDs: make(map[uint32]bool)}
	for i := 0; i < record.Len(); i++ {
		e, err := record.Entry(i)
		if err != nil {
			return nil, err
		}
		k, ok := e.Key().(*aesgcm.Key)
		if !ok || k.Parameters().(*aesgcm.Parameters).KeySizeInBytes() != 32 {
			return nil, errors.New("record keyset holds a key that is not AES-256-GCM")
		}
		sk.keyIDs[e.KeyID()] = true
		if e.IsPrimary() {
			copy(sk.primaryPrefix[:], k.OutputPrefix())
		}
	}
	for i := 0; i < stream.Len(); i++ {
		e, err := stream.Entry(i)
		if err != nil {
			return nil, err
		}
		k, ok := e.Key().(*aesgcmhkdf.Key)
		if !ok {
			return nil, errors.New("stream keyset holds a key that is not AES-256-GCM-HKDF")
		}
		sk2, err := newStreamKey(k)
		if err != nil {
			return nil, err
		}
		if len(sk.streamKeys) > 0 && sk2.segSize != sk.streamKeys[0].segSize {
			return nil, errors.New("stream keyset mixes segment sizes")
		}
		switch {
		case e.KeyStatus() != keyset.Enabled:
		case e.IsPrimary():
			sk.streamKeys = append([]*streamKey{sk2}, sk.streamKeys...)
		default:
			sk.streamKeys = append(sk.streamKeys, sk2)
		}
	}
	if len(sk.streamKeys) == 0 {
		return nil, errors.New("stream keyset has no enabled key")
	}
	var err error
	if sk.aead, err = aead.New(record); err != nil {
		return nil, err
	}
	return sk, nil
}

// newStreamKey takes the key material and parameters of a Tink
// AES-GCM-HKDF key, which must derive AES-256 keys.
func newStreamKey(k *aesgcmhkdf.Key) (*streamKey, error) {
	p := k.Parameters().(*aesgcmhkdf.Parameters)
	if p.KeySizeInBytes() != 32 || p.DerivedKeySizeInBytes() != 32 {
		return nil, errors.New("stream keyset holds a key that is not AES-256-GCM-HKDF")
	}
	sk := &streamKey{
		main:     bytes.Clone(k.KeyBytes().Data(insecuresecretdataaccess.Token{})),
		hkdfHash: p.HKDFHashType().String(),
		keySize:  int(p.DerivedKeySizeInBytes()),
		segSize:  int(p.SegmentSizeInBytes()),
	}
	if sk.segSize <= sk.headerLen()+streamTagSize || sk.segSize > 1<<30 {
		return nil, errors.New("stream keyset holds a key with an unusable segment size")
	}
	return sk, nil
}

// generateSourceKeys creates fresh keysets for a new source.
func generateSourceKeys() (*sourceKeys, error) {
	rh, err := keyset.NewHandle(recordTemplate())
	if err != nil {
		return nil, fmt.Errorf("encryption: generate record keyset: %w", err)
	}
	sh, err := keyset.NewHandle(streamTemplate())
	if err != nil {
		return nil, fmt.Errorf("encryption: generate stream keyset: %w", err)
	}
	sk, err := newSourceKeys(rh, sh, 0)
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	return sk, nil
}

// rotated returns keys with a new primary key in both keysets; the old keys
// stay to open old ciphertexts.
func (sk *sourceKeys) rotated() (*sourceKeys, error) {
	add := func(h *keyset.Handle, tmpl func() *tinkpb.KeyTemplate) (*keyset.Handle, error) {
		m := keyset.NewManagerFromHandle(h)
		id, err := m.Add(tmpl())
		if err != nil {
			return nil, err
		}
		if err := m.SetPrimary(id); err != nil {
			return nil, err
		}
		return m.Handle()
	}
	rh, err := add(sk.record, recordTemplate)
	if err != nil {
		return nil, fmt.Errorf("encryption: rotate record keyset: %w", err)
	}
	sh, err := add(sk.stream, streamTemplate)
	if err != nil {
		return nil, fmt.Errorf("encryption: rotate stream keyset: %w", err)
	}
	nk, err := newSourceKeys(rh, sh, sk.version)
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	return nk, nil
}

// wrapKeys encrypts a source's keysets with kek, binding each to its use and
// to the source ID, into the blob a KeyStore keeps.
func wrapKeys(ctx context.Context, kek tink.AEAD, sourceID string, sk *sourceKeys) ([]byte, error) {
	write := func(h *keyset.Handle, label string) ([]byte, error) {
		var buf bytes.Buffer
		w := keyset.NewBinaryWriter(&buf)
		ad := keysetAD(label, sourceID)
		var err error
		if kc, ok := kek.(tink.AEADWithContext); ok {
			err = h.WriteWithContext(ctx, w, kc, ad)
		} else {
			err = h.WriteWithAssociatedData(w, kek, ad)
		}
		if err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	r, err := write(sk.record, labelRecordKeyset)
	if err != nil {
		return nil, fmt.Errorf("encryption: wrap keyset: %w", err)
	}
	s, err := write(sk.stream, labelStreamKeyset)
	if err != nil {
		return nil, fmt.Errorf("encryption: wrap keyset: %w", err)
	}
	return encodeWrapped(r, s), nil
}

// unwrapKeys opens a blob made by wrapKeys with the first of keks that can,
// and reports which one did. Every failure is ErrUnwrap, except the ctx's
// own end.
func unwrapKeys(ctx context.Context, keks []tink.AEAD, sourceID string, blob []byte, version int64) (*sourceKeys, int, error) {
	rb, sb, err := decodeWrapped(blob)
	if err != nil {
		return nil, -1, ErrUnwrap
	}
	read := func(kek tink.AEAD, b []byte, label string) (*keyset.Handle, error) {
		r := keyset.NewBinaryReader(bytes.NewReader(b))
		ad := keysetAD(label, sourceID)
		if kc, ok := kek.(tink.AEADWithContext); ok {
			return keyset.ReadWithContext(ctx, r, kc, ad)
		}
		return keyset.ReadWithAssociatedData(r, kek, ad)
	}
	for i, kek := range keks {
		rh, err := read(kek, rb, labelRecordKeyset)
		if err != nil {
			if ctx.Err() != nil {
				return nil, -1, ctx.Err()
			}
			continue
		}
		sh, err := read(kek, sb, labelStreamKeyset)
		if err != nil {
			if ctx.Err() != nil {
				return nil, -1, ctx.Err()
			}
			continue
		}
		sk, err := newSourceKeys(rh, sh, version)
		if err != nil {
			return nil, -1, ErrUnwrap
		}
		return sk, i, nil
	}
	return nil, -1, ErrUnwrap
}

// mayHoldKey reports whether ct's Tink prefix names a key of sk, or carries
// no Tink prefix at all.
func (sk *sourceKeys) mayHoldKey(ct []byte) bool {
	if len(ct) < 5 || ct[0] != 1 {
		return true
	}
	return sk.keyIDs[binary.BigEndian.Uint32(ct[1:5])]
}
