package encryption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Keyring encrypts the data of many data sources, each under its own keys,
// and destroys those keys on request. Keys are created on first use, kept in
// a [KeyStore] only wrapped by the key-encryption key (KEK), and cached
// unwrapped in memory for a bounded time.
//
// A Keyring is safe for concurrent use. Several Keyrings, in one process or
// many, may share a KeyStore and a KEK.
type Keyring struct {
	store   KeyStore
	cache   *cache
	now     func() time.Time
	log     *slog.Logger
	auditor Auditor
	closed  atomic.Bool

	kmu  sync.RWMutex
	keks []tink.AEAD // keks[0] wraps; all are tried to unwrap

	ad scratch // buffers for binding associated data

	stopWatch func() // ends the KeyWatcher subscription, if any
}

// NewKeyring returns a Keyring keeping its keys in store, wrapped by kek. A
// KEK is any [tink.AEAD]: a [LocalKEK], or a KMS key through Tink's KMS
// clients (see the package documentation). opts may be nil.
func NewKeyring(store KeyStore, kek tink.AEAD, opts *Options) (*Keyring, error) {
	if store == nil {
		return nil, errors.New("encryption: nil KeyStore")
	}
	if kek == nil {
		return nil, errors.New("encryption: nil KEK")
	}
	if opts == nil {
		opts = &Options{}
	}
	size, maxAge := opts.CacheSize, opts.CacheMaxAge
	if size == 0 {
		size = DefaultCacheSize
	}
	if maxAge <= 0 {
		maxAge = DefaultCacheMaxAge
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := clock.NowFunc(opts.Now)
	k := &Keyring{
		store:   store,
		cache:   newCache(size, maxAge, now, opts.Now == nil),
		now:     now,
		log:     log,
		auditor: opts.Auditor,
		keks:    append([]tink.AEAD{kek}, opts.PreviousKEKs...),
		ad:      newScratch(),
	}
	for _, p := range opts.PreviousKEKs {
		if p == nil {
			return nil, errors.New("encryption: nil KEK in PreviousKEKs")
		}
	}
	if w, ok := store.(KeyWatcher); ok {
		k.stopWatch = w.Watch(k.changed)
	}
	return k, nil
}

// changed drops the cached keys of a source the store reports changed, or
// every cached key for "".
func (k *Keyring) changed(sourceID string) {
	if sourceID == "" {
		k.cache.forgetAll()
		return
	}
	k.cache.forget(sourceID)
}

// String describes the Keyring without revealing keys.
func (k *Keyring) String() string { return "encryption.Keyring(REDACTED)" }

// LogValue implements [slog.LogValuer] without revealing keys.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Close drops every cached key and ends the Keyring's watch of the store
// (see [KeyWatcher]). Later calls return ErrClosed; writers and readers
// already open keep working until they are done. Close is idempotent and
// always returns nil. It does not close the KeyStore.
func (k *Keyring) Close() error {
	if k.closed.Swap(true) {
		return nil
	}
	if k.stopWatch != nil {
		k.stopWatch()
	}
	k.cache.clear()
	return nil
}

func (k *Keyring) check(sourceID string) error {
	if k.closed.Load() {
		return ErrClosed
	}
	return checkSourceID(sourceID)
}

func (k *Keyring) currentKEKs() []tink.AEAD {
	k.kmu.RLock()
	defer k.kmu.RUnlock()
	return k.keks
}

// hot returns sourceID's keys for a per-message call: from the cache
// without further checks (only valid IDs are cached), or through keysFor.
func (k *Keyring) hot(ctx context.Context, sourceID string, create bool) (*sourceKeys, error) {
	if k.closed.Load() {
		return nil, ErrClosed
	}
	if sk := k.cache.get(sourceID); sk != nil {
		return sk, nil
	}
	if err := checkSourceID(sourceID); err != nil {
		return nil, err
	}
	return k.keysFor(ctx, sourceID, create)
}

// keysFor returns the keys of sourceID from the cache or the store, creating
// them if create is set and the source has none.
func (k *Keyring) keysFor(ctx context.Context, sourceID string, create bool) (*sourceKeys, error) {
	if sk := k.cache.get(sourceID); sk != nil {
		return sk, nil
	}
	return k.cache.do(ctx, sourceID, create, func() (*sourceKeys, error) {
		if sk := k.cache.get(sourceID); sk != nil {
			return sk, nil
		}
		gen := k.cache.generation()
		sk, err := k.load(ctx, sourceID, create)
		if err != nil {
			return nil, err
		}
		k.cache.put(sourceID, sk, gen)
		return sk, nil
	})
}

// load reads and unwraps sourceID's keys, creating them if allowed.
func (k *Keyring) load(ctx context.Context, sourceID string, create bool) (*sourceKeys, error) {
	for attempt := 0; ; attempt++ {
		blob, version, err := k.store.Get(ctx, sourceID)
		if err == nil {
			return k.unwrap(ctx, sourceID, blob, version)
		}
		if !create || !errors.Is(err, ErrUnknownSource) || attempt > 0 {
			return nil, storeErr(err)
		}
		sk, err := k.create(ctx, sourceID)
		if errors.Is(err, ErrConflict) {
			continue // created concurrently elsewhere: read theirs
		}
		return sk, err
	}
}

func (k *Keyring) unwrap(ctx context.Context, sourceID string, blob []byte, version int64) (*sourceKeys, error) {
	sk, used, err := unwrapKeys(ctx, k.currentKEKs(), sourceID, blob, version)
	if err != nil {
		if errors.Is(err, ErrUnwrap) {
			k.log.ErrorContext(ctx, "encryption: stored keyset cannot be unwrapped", slog.String("source", sourceID))
		}
		return nil, err
	}
	if used > 0 {
		k.log.DebugContext(ctx, "encryption: keyset opened by a previous KEK", slog.String("source", sourceID), slog.Int("kek", used))
	}
	return sk, nil
}

// create generates, wraps and stores keys for a new source.
func (k *Keyring) create(ctx context.Context, sourceID string) (*sourceKeys, error) {
	sk, err := generateSourceKeys()
	if err != nil {
		return nil, err
	}
	blob, err := wrapKeys(ctx, k.currentKEKs()[0], sourceID, sk)
	if err != nil {
		return nil, err
	}
	if err := k.store.Put(ctx, sourceID, 0, blob); err != nil {
		return nil, storeErr(err)
	}
	sk.version = 1
	if err := k.audit(ctx, "encryption.key.create", sourceID, audit.Success); err != nil {
		// The keys exist; failing the caller's Encrypt would not undo that.
		k.log.ErrorContext(ctx, "encryption: audit record of key creation failed", slog.String("source", sourceID), slog.Any("error", err))
	}
	return sk, nil
}

// storeErr passes the KeyStore's sentinel errors through and labels others.
func storeErr(err error) error {
	for _, s := range []error{ErrUnknownSource, ErrShredded, ErrConflict, ErrInvalidSourceID} {
		if errors.Is(err, s) {
			return err
		}
	}
	if isContextErr(err) {
		return err
	}
	return fmt.Errorf("encryption: key store: %w", err)
}

// audit records an event about sourceID if an Auditor is set.
func (k *Keyring) audit(ctx context.Context, action, sourceID string, outcome audit.Outcome, attrs ...audit.Attr) error {
	if k.auditor == nil {
		return nil
	}
	e := audit.Event{
		Time:     k.now(),
		Actor:    "service:encryption",
		Action:   action,
		Resource: "encryption/source/" + sourceID,
		Outcome:  outcome,
		Service:  "encryption",
		Attrs:    attrs,
	}
	if err := k.auditor.Record(ctx, e); err != nil {
		return withContext(err, action+" took effect but its audit record failed")
	}
	return nil
}

// Encrypt seals plaintext under sourceID's current key, creating the
// source's keys on first use. associatedData is authenticated, not
// encrypted: pass what identifies the record (table, row, column) so that
// a ciphertext copied elsewhere fails to open. The source ID is bound too.
//
// The ciphertext is a Tink AEAD ciphertext: a 5-byte key-ID prefix, a
// 12-byte nonce, the encrypted plaintext and a 16-byte tag. Encrypt returns
// an error wrapping ErrShredded for a shredded source.
func (k *Keyring) Encrypt(ctx context.Context, sourceID string, plaintext, associatedData []byte) ([]byte, error) {
	sk, err := k.hot(ctx, sourceID, true)
	if err != nil {
		return nil, err
	}
	b, slot := k.ad.get()
	*b = bindAD(*b, labelRecord, sourceID, associatedData)
	ct, err := sk.aead.Encrypt(plaintext, *b)
	k.ad.put(b, slot)
	if err != nil {
		return nil, fmt.Errorf("encryption: encrypt: %w", err)
	}
	return ct, nil
}

// Decrypt opens a ciphertext made by [Keyring.Encrypt] for the same
// sourceID and associatedData. Any authentication failure is ErrDecrypt; a
// shredded source gives ErrShredded and a source with no keys
// ErrUnknownSource. Decrypt never returns partial plaintext.
func (k *Keyring) Decrypt(ctx context.Context, sourceID string, ciphertext, associatedData []byte) ([]byte, error) {
	sk, err := k.hot(ctx, sourceID, false)
	if err != nil {
		return nil, err
	}
	b, slot := k.ad.get()
	defer k.ad.put(b, slot)
	*b = bindAD(*b, labelRecord, sourceID, associatedData)
	pt, err := sk.aead.Decrypt(ciphertext, *b)
	if err == nil {
		return pt, nil
	}
	if sk.mayHoldKey(ciphertext) {
		return nil, ErrDecrypt
	}
	// The ciphertext names a key this keyset lacks: another Keyring may have
	// rotated or shredded the source since it was cached. Look once.
	fresh, err := k.refresh(ctx, sourceID, sk)
	if err != nil {
		return nil, err
	}
	if fresh == nil {
		return nil, ErrDecrypt
	}
	if pt, err = fresh.aead.Decrypt(ciphertext, *b); err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// streamKeys returns sourceID's keys for opening a stream: a cached copy is
// checked against the store's version first (one small read, no KEK call
// unless it changed), so a rotation or shred by another instance applies to
// streams at once.
func (k *Keyring) streamKeys(ctx context.Context, sourceID string, create bool) (*sourceKeys, error) {
	sk := k.cache.get(sourceID)
	if sk == nil {
		return k.keysFor(ctx, sourceID, create)
	}
	fresh, err := k.refresh(ctx, sourceID, sk)
	if err != nil {
		return nil, err
	}
	if fresh != nil {
		return fresh, nil
	}
	return sk, nil
}

// refresh rereads sourceID's keys if the store holds a newer version than
// sk. It returns nil keys when nothing changed.
func (k *Keyring) refresh(ctx context.Context, sourceID string, sk *sourceKeys) (*sourceKeys, error) {
	gen := k.cache.generation()
	blob, version, err := k.store.Get(ctx, sourceID)
	if err != nil {
		if errors.Is(err, ErrShredded) {
			k.cache.forget(sourceID)
		}
		return nil, storeErr(err)
	}
	if version == sk.version {
		return nil, nil
	}
	fresh, err := k.unwrap(ctx, sourceID, blob, version)
	if err != nil {
		return nil, err
	}
	k.cache.put(sourceID, fresh, gen)
	return fresh, nil
}

// Shred destroys sourceID's keys: the wrapped keyset in the store and the
// unwrapped one in this Keyring's cache. Afterwards every ciphertext of the
// source, wherever it is copied, fails to open with ErrShredded, and the
// source can never get keys again. Shred is idempotent, and shredding a
// source that never had keys records it as shredded.
//
// Other Keyrings sharing the store refuse new streams of the source at
// once. They stop sealing and opening its records with their cached copy
// when the store tells them ([KeyWatcher]: keystoresql through the same
// Store at once, on PostgreSQL from any instance within milliseconds), and
// in any case within [Options.CacheMaxAge]. What the store keeps after a shred (database free
// space, write-ahead logs, backups) is the store's to document; see the
// package documentation on crypto-shredding.
func (k *Keyring) Shred(ctx context.Context, sourceID string) error {
	if err := k.check(sourceID); err != nil {
		return err
	}
	k.cache.forget(sourceID)
	err := k.store.Shred(ctx, sourceID)
	k.cache.forget(sourceID)
	if err != nil {
		_ = k.audit(ctx, "encryption.source.shred", sourceID, audit.Error)
		return storeErr(err)
	}
	k.log.InfoContext(ctx, "encryption: data source shredded", slog.String("source", sourceID))
	return k.audit(ctx, "encryption.source.shred", sourceID, audit.Success)
}
