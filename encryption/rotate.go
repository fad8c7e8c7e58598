package encryption

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/inferlabs/privkit/audit"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// maxCASAttempts bounds retries of a conditional write that keeps losing
// races to other writers.
const maxCASAttempts = 8

// Rotate adds a new primary key to sourceID's record and stream keysets.
// New ciphertexts use it; old ciphertexts still open with the keys they
// name. To move old data to the new key, use [Keyring.Reencrypt] and
// [Keyring.ReencryptStream]. Rotate returns ErrUnknownSource for a source
// without keys and ErrShredded for a shredded one.
func (k *Keyring) Rotate(ctx context.Context, sourceID string) error {
	if err := k.check(sourceID); err != nil {
		return err
	}
	err := k.update(ctx, sourceID, func(sk *sourceKeys) (*sourceKeys, error) { return sk.rotated() })
	if err != nil {
		return err
	}
	return k.audit(ctx, "encryption.key.rotate", sourceID, audit.Success)
}

// update reads sourceID's keys from the store, passes them to change and
// stores the result wrapped by the current KEK, retrying when another writer
// got there first. change returning nil keys means "nothing to do".
func (k *Keyring) update(ctx context.Context, sourceID string, change func(*sourceKeys) (*sourceKeys, error)) error {
	for attempt := 0; ; attempt++ {
		blob, version, err := k.store.Get(ctx, sourceID)
		if err != nil {
			return storeErr(err)
		}
		sk, err := k.unwrap(ctx, sourceID, blob, version)
		if err != nil {
			return err
		}
		nk, err := change(sk)
		if err != nil || nk == nil {
			return err
		}
		nb, err := wrapKeys(ctx, k.currentKEKs()[0], sourceID, nk)
		if err != nil {
			return err
		}
		err = k.store.Put(ctx, sourceID, version, nb)
		k.cache.forget(sourceID)
		if errors.Is(err, ErrConflict) && attempt+1 < maxCASAttempts {
			continue
		}
		if err != nil {
			return storeErr(err)
		}
		return nil
	}
}

// RewrapAll makes newKEK the key-encryption key and rewraps every stored
// keyset with it, without touching any data ciphertext. It returns how many
// keysets it rewrapped.
//
// From the call on, this Keyring wraps new keysets with newKEK and still
// opens those wrapped by the former KEKs. If RewrapAll fails part way, call
// it again with the same newKEK: keysets already rewrapped are skipped.
// Other Keyrings sharing the store must run with newKEK as their KEK (and
// the old one in [Options.PreviousKEKs]) before RewrapAll starts: a keyset
// they create with the old KEK after RewrapAll has passed it stays wrapped
// by the old KEK. Once RewrapAll has returned without error under those
// conditions, the old KEK may be destroyed, which also makes every copy of
// the old wrapped keysets (backups, logs) useless. RewrapAll needs a
// store that implements [KeyLister]; otherwise it returns ErrNotSupported.
func (k *Keyring) RewrapAll(ctx context.Context, newKEK tink.AEAD) (int, error) {
	if k.closed.Load() {
		return 0, ErrClosed
	}
	if newKEK == nil {
		return 0, errors.New("encryption: nil KEK")
	}
	lister, ok := k.store.(KeyLister)
	if !ok {
		return 0, ErrNotSupported
	}
	k.kmu.Lock()
	if k.keks[0] != newKEK {
		keks := []tink.AEAD{newKEK}
		for _, old := range k.keks {
			if old != newKEK {
				keks = append(keks, old)
			}
		}
		k.keks = keks
	}
	k.kmu.Unlock()

	n := 0
	after := ""
	for {
		ids, err := lister.List(ctx, after, 256)
		if err != nil {
			return n, storeErr(err)
		}
		for _, id := range ids {
			done, err := k.rewrapOne(ctx, id)
			if err != nil {
				return n, withContext(err, fmt.Sprintf("rewrap stopped after %d keysets", n))
			}
			if done {
				n++
			}
		}
		if len(ids) < 256 {
			break
		}
		after = ids[len(ids)-1]
	}
	if err := k.audit(ctx, "encryption.kek.rewrap", "*", audit.Success, audit.Int("keysets", int64(n))); err != nil {
		return n, err
	}
	return n, nil
}

// rewrapOne rewraps sourceID's keyset with the current KEK unless it is
// already wrapped by it.
func (k *Keyring) rewrapOne(ctx context.Context, sourceID string) (bool, error) {
	for attempt := 0; ; attempt++ {
		blob, version, err := k.store.Get(ctx, sourceID)
		if errors.Is(err, ErrShredded) || errors.Is(err, ErrUnknownSource) {
			return false, nil // shredded meanwhile: nothing to rewrap
		}
		if err != nil {
			return false, storeErr(err)
		}
		keks := k.currentKEKs()
		sk, used, err := unwrapKeys(ctx, keks, sourceID, blob, version)
		if err != nil {
			return false, err
		}
		if used == 0 {
			return false, nil
		}
		nb, err := wrapKeys(ctx, keks[0], sourceID, sk)
		if err != nil {
			return false, err
		}
		err = k.store.Put(ctx, sourceID, version, nb)
		if errors.Is(err, ErrShredded) {
			return false, nil
		}
		if errors.Is(err, ErrConflict) && attempt+1 < maxCASAttempts {
			continue
		}
		if err != nil {
			return false, storeErr(err)
		}
		k.cache.forget(sourceID)
		return true, nil
	}
}

// Record is one stored record handed to [Keyring.Reencrypt] by the
// caller's iterator.
type Record struct {
	// Ciphertext is the stored ciphertext. Reencrypt replaces it with the
	// new ciphertext; the iterator then writes it back to storage.
	Ciphertext []byte
	// AssociatedData is the associated data the record was encrypted with.
	AssociatedData []byte
}

// Reencrypt re-encrypts, under sourceID's current primary key, every record
// that records yields and that was encrypted under an older key. For each
// such record it sets Ciphertext to the new ciphertext before the yield
// returns, so the iterator can store it right after yield:
//
//	func(yield func(*encryption.Record) bool) {
//		for each row {
//			rec := &encryption.Record{Ciphertext: row.Data, AssociatedData: row.Key}
//			if !yield(rec) { return }
//			save(row.ID, rec.Ciphertext) // unchanged when already current
//		}
//	}
//
// It returns how many records it re-encrypted. It stops at the first record
// that fails to open (ErrDecrypt) and at ctx's end; records re-encrypted
// before stay re-encrypted.
func (k *Keyring) Reencrypt(ctx context.Context, sourceID string, records iter.Seq[*Record]) (int, error) {
	if err := k.check(sourceID); err != nil {
		return 0, err
	}
	sk, err := k.keysFor(ctx, sourceID, false)
	if err != nil {
		return 0, err
	}
	n, i := 0, 0
	for rec := range records {
		i++
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if rec == nil {
			continue
		}
		if bytes.HasPrefix(rec.Ciphertext, sk.primaryPrefix[:]) {
			continue
		}
		pt, err := k.Decrypt(ctx, sourceID, rec.Ciphertext, rec.AssociatedData)
		if err != nil {
			return n, withContext(err, fmt.Sprintf("reencrypt record %d", i))
		}
		ct, err := k.Encrypt(ctx, sourceID, pt, rec.AssociatedData)
		clear(pt)
		if err != nil {
			return n, withContext(err, fmt.Sprintf("reencrypt record %d", i))
		}
		rec.Ciphertext = ct
		n++
	}
	return n, nil
}
