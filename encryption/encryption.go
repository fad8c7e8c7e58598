package encryption

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Errors callers branch on. Each is returned wrapped with the operation; test
// with [errors.Is].
var (
	// ErrShredded reports a data source whose keys were destroyed by
	// [Keyring.Shred]: its ciphertexts can never be opened again, and no new
	// key is ever created for it.
	ErrShredded = errors.New("encryption: data source was shredded")

	// ErrDecrypt is the one opaque error for every authentication failure: a
	// wrong key, a truncated, altered or misplaced ciphertext, or wrong
	// associated data. It says nothing about which.
	ErrDecrypt = errors.New("encryption: message authentication failed")

	// ErrClosed reports a call on a closed [Keyring].
	ErrClosed = errors.New("encryption: keyring closed")

	// ErrUnknownSource reports a data source that has no keys: nothing was
	// ever encrypted for it.
	ErrUnknownSource = errors.New("encryption: unknown data source")

	// ErrConflict is returned by a [KeyStore] when a conditional write lost
	// a race: the stored version is not the one the writer read. The
	// [Keyring] retries on it; hosts rarely see it.
	ErrConflict = errors.New("encryption: keyset changed concurrently")

	// ErrUnwrap reports a stored keyset that the key-encryption key cannot
	// open: it is corrupt, was moved to another source, or was wrapped by a
	// different KEK.
	ErrUnwrap = errors.New("encryption: stored keyset cannot be unwrapped (corrupt, moved, or wrapped by another KEK)")

	// ErrInvalidSourceID reports a data-source ID that is empty, longer than
	// [MaxSourceIDLen] bytes, not UTF-8, or contains a NUL byte.
	ErrInvalidSourceID = errors.New("encryption: invalid data source ID")

	// ErrNotSupported reports an operation the [KeyStore] cannot do, such as
	// [Keyring.RewrapAll] on a store that is not a [KeyLister].
	ErrNotSupported = errors.New("encryption: operation not supported by the key store")
)

// MaxSourceIDLen is the longest data-source ID, in bytes.
const MaxSourceIDLen = 255

// KeyStore keeps the wrapped keysets of data sources: opaque bytes that only
// the [Keyring]'s key-encryption key can open, each with a version that
// increases by one on every write. A KeyStore never sees a key in clear.
//
// Implementations must be safe for concurrent use, including by several
// processes sharing one database. They never retain or modify the slices
// passed to them, return slices the caller may keep, and fail a call whose
// ctx is already done.
// [github.com/inferlabs/privkit/encryption/encryptiontest.Run] checks an
// implementation against this contract.
type KeyStore interface {
	// Get returns the wrapped keyset of sourceID and its version (1 or
	// more). It returns an error wrapping ErrUnknownSource when nothing was
	// ever stored for sourceID and ErrShredded once it was shredded.
	Get(ctx context.Context, sourceID string) (wrapped []byte, version int64, err error)

	// Put stores wrapped as version prev+1 of sourceID's keyset, provided
	// the stored version is prev; prev 0 means "nothing stored yet", so
	// creation is Put(ctx, id, 0, w). It returns an error wrapping
	// ErrConflict when the stored version is not prev, and ErrShredded when
	// sourceID was shredded, whatever prev is.
	Put(ctx context.Context, sourceID string, prev int64, wrapped []byte) error

	// Shred destroys sourceID's wrapped keyset, so that no copy remains in
	// the store, and records a tombstone so that later calls report
	// ErrShredded. Shredding an unknown or already shredded source records
	// or keeps the tombstone and returns nil.
	Shred(ctx context.Context, sourceID string) error
}

// KeyWatcher is an optional interface of a [KeyStore] that tells a Keyring
// when a source's keyset changed (a rotation, a rewrap, a shred) through
// another Keyring, so that it drops its cached copy at once instead of
// after [Options.CacheMaxAge]. keystoresql implements it: through the same
// Store at once, and on PostgreSQL from any instance within milliseconds
// (LISTEN/NOTIFY).
type KeyWatcher interface {
	// Watch calls fn with the ID of each source whose keyset changes after
	// Watch returns, and with "" when news may have been lost (every cached
	// keyset is then dropped). fn may be called from several goroutines at
	// once; after stop returns it is called at most for changes already in
	// flight.
	Watch(fn func(sourceID string)) (stop func())
}

// KeyLister is a [KeyStore] that can enumerate its sources; it is needed by
// [Keyring.RewrapAll]. Both stores privkit ships implement it.
type KeyLister interface {
	// List returns up to limit source IDs that hold a keyset (shredded ones
	// excluded), in ascending byte order, starting after the ID after ("" to
	// start from the beginning). Fewer than limit means the end was reached.
	List(ctx context.Context, after string, limit int) ([]string, error)
}

// KeyListerFunc adapts a function to [KeyLister].
type KeyListerFunc func(ctx context.Context, after string, limit int) ([]string, error)

// List calls f(ctx, after, limit).
func (f KeyListerFunc) List(ctx context.Context, after string, limit int) ([]string, error) {
	return f(ctx, after, limit)
}

// Auditor records audit events. *audit.Log implements it.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// AuditorFunc adapts a function to [Auditor].
type AuditorFunc func(ctx context.Context, e audit.Event) error

// Record calls f(ctx, e).
func (f AuditorFunc) Record(ctx context.Context, e audit.Event) error { return f(ctx, e) }

// Options configure a [Keyring]. A nil *Options means all defaults.
type Options struct {
	// CacheSize is the most data sources whose unwrapped keysets are kept in
	// memory. Zero means 1024; a negative value disables the cache, so every
	// call unwraps (and calls the KEK).
	CacheSize int

	// CacheMaxAge is how long an unwrapped keyset is used before it is read
	// and unwrapped again. It bounds how long a Keyring in another process
	// keeps sealing and opening records with a keyset shredded elsewhere
	// when the store cannot tell it sooner (see [KeyWatcher]; streams check
	// the store when opened). Zero or negative means 5 minutes.
	CacheMaxAge time.Duration

	// Now is the clock for cache ages and audit events; nil means time.Now.
	Now func() time.Time

	// Logger receives operational messages (never keys, plaintext or
	// ciphertext); nil discards them.
	Logger *slog.Logger

	// Auditor, if set, records key creation, rotation, KEK rewrapping and
	// shredding, never individual messages. If recording a shred, rotation
	// or rewrap fails, the call returns an error although the action took
	// effect; a failed record of a key creation is only logged. Nil records
	// nothing.
	Auditor Auditor

	// PreviousKEKs are tried, in order, when the KEK cannot open a stored
	// keyset: set them while keysets wrapped by a retired KEK may remain,
	// until [Keyring.RewrapAll] has run. Nil means none.
	PreviousKEKs []tink.AEAD
}

// Defaults of [Options].
const (
	DefaultCacheSize   = 1024
	DefaultCacheMaxAge = 5 * time.Minute
)
