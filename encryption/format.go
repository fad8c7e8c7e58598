package encryption

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Labels that separate the uses of associated data. Each is part of a
// versioned format: changing one makes every existing ciphertext unreadable.
const (
	labelRecord       = "privkit/encryption/record/v1"
	labelStream       = "privkit/encryption/stream/v1"
	labelRecordKeyset = "privkit/encryption/keyset/record/v1"
	labelStreamKeyset = "privkit/encryption/keyset/stream/v1"
)

// wrappedMagic starts every wrapped keyset blob a KeyStore holds.
var wrappedMagic = [4]byte{'p', 'k', 'k', 's'}

const wrappedVersion = 1

// maxWrappedPart bounds each Tink encrypted keyset inside a blob, so that a
// corrupt length cannot make a reader allocate much.
const maxWrappedPart = 1 << 20

// appendLP appends s to b prefixed with its length as 8 bytes big-endian, so
// that a sequence of fields is injective: ("a","bc") and ("ab","c") differ.
func appendLP(b []byte, s []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

func appendLPString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// bindAD returns the associated data Tink sees: the label, the data-source ID
// and the caller's associated data, each length-prefixed.
func bindAD(dst []byte, label, sourceID string, callerAD []byte) []byte {
	dst = appendLPString(dst, label)
	dst = appendLPString(dst, sourceID)
	return appendLP(dst, callerAD)
}

// keysetAD is the associated data with which the KEK wraps a source's keyset.
func keysetAD(label, sourceID string) []byte {
	return bindAD(make([]byte, 0, 24+len(label)+len(sourceID)), label, sourceID, nil)
}

// checkSourceID validates a data-source ID.
func checkSourceID(id string) error {
	if id == "" || len(id) > MaxSourceIDLen || !utf8.ValidString(id) {
		return ErrInvalidSourceID
	}
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			return ErrInvalidSourceID
		}
	}
	return nil
}

// encodeWrapped lays out a wrapped keyset blob:
//
//	"pkks" | version (1 byte) | uvarint len | record encrypted keyset | uvarint len | stream encrypted keyset
//
// Each part is a binary Tink EncryptedKeyset wrapped by the KEK with
// associated data binding its use and the data-source ID.
func encodeWrapped(record, stream []byte) []byte {
	b := make([]byte, 0, 5+2*binary.MaxVarintLen64+len(record)+len(stream))
	b = append(b, wrappedMagic[:]...)
	b = append(b, wrappedVersion)
	b = binary.AppendUvarint(b, uint64(len(record)))
	b = append(b, record...)
	b = binary.AppendUvarint(b, uint64(len(stream)))
	return append(b, stream...)
}

var errWrappedFormat = errors.New("malformed wrapped keyset")

// decodeWrapped splits a blob made by encodeWrapped. The returned slices
// alias b.
func decodeWrapped(b []byte) (record, stream []byte, err error) {
	if len(b) < 5 || [4]byte(b[:4]) != wrappedMagic {
		return nil, nil, errWrappedFormat
	}
	if b[4] != wrappedVersion {
		return nil, nil, fmt.Errorf("%w: version %d", errWrappedFormat, b[4])
	}
	rest := b[5:]
	part := func() ([]byte, error) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n == 0 || n > maxWrappedPart || n > uint64(len(rest)-k) {
			return nil, errWrappedFormat
		}
		p := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return p, nil
	}
	if record, err = part(); err != nil {
		return nil, nil, err
	}
	if stream, err = part(); err != nil {
		return nil, nil, err
	}
	if len(rest) != 0 {
		return nil, nil, errWrappedFormat
	}
	return record, stream, nil
}

// contextError adds operation context to an error of this package without
// repeating the "encryption: " prefix; errors.Is and errors.As see err.
type contextError struct {
	msg string
	err error
}

func (e *contextError) Error() string {
	return "encryption: " + e.msg + ": " + strings.TrimPrefix(e.err.Error(), "encryption: ")
}

func (e *contextError) Unwrap() error { return e.err }

// withContext returns err with msg in front, or err itself if it is nil.
func withContext(err error, msg string) error {
	if err == nil {
		return nil
	}
	return &contextError{msg: msg, err: err}
}
