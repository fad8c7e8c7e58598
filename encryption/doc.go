// Package encryption encrypts every byte a privkit host stores, one set of
// keys per data source, and deletes a data source by destroying its keys
// (crypto-shredding). It also hashes login passwords and pseudonymises
// identifiers such as IP addresses.
//
// Tink (github.com/tink-crypto/tink-go/v2) supplies the primitives;
// this package supplies key management per data source.
//
// # Keyring
//
// Most users want a [Keyring]: build one with [NewKeyring] over a
// [KeyStore] ([NewMemoryKeyStore] for tests, keystoresql for SQLite or
// PostgreSQL) and a key-encryption key (KEK), then:
//
//   - [Keyring.Encrypt] and [Keyring.Decrypt] seal and open records;
//   - [Keyring.NewEncryptingWriter] and [Keyring.NewDecryptingReader] stream
//     files of any size in constant memory;
//   - [Keyring.Shred] destroys a data source's keys;
//   - [Keyring.Rotate], [Keyring.Reencrypt], [Keyring.ReencryptStream] and
//     [Keyring.RewrapAll] rotate data keys and the KEK.
//
// Each data source gets, on first use, its keys: two Tink keysets, stored
// together as one blob, AES-256-GCM for records and AES-256-GCM-HKDF with
// 1 MiB segments for streams (Tink builds a primitive from keys of one
// kind, so the two kinds cannot share a keyset). The store
// only ever holds them as Tink encrypted keysets wrapped by the KEK, with
// associated data binding the keyset to its use and to the data-source ID,
// so a wrapped keyset copied to another source does not open. Unwrapped
// keysets are cached in memory, bounded by [Options.CacheSize] and
// [Options.CacheMaxAge], so hot paths never unwrap (or call a KMS) per
// message; concurrent first uses of a source unwrap once.
//
// # Several instances
//
// Keyrings in many processes may share one PostgreSQL key store and one
// KEK. Creating a source's keys is a conditional insert, so two instances
// racing on a new source agree on one keyset; rotation and rewrapping are
// compare-and-swap updates that retry. A record sealed under a key another
// instance added is noticed at once (its key ID is unknown here, so the
// store is read again), and opening a stream always checks the store's
// version of the source's keys, so streams see a shred or rotation
// elsewhere at once. For records, a store that implements [KeyWatcher]
// tells every Keyring of a shred, rotation or rewrap elsewhere, and each
// drops its cached copy: keystoresql does so at once for Keyrings sharing
// one Store, and on PostgreSQL for every instance within milliseconds
// (LISTEN/NOTIFY, in the transaction that changed the keyset). Without such
// news (another process on one SQLite file, or a lost notification while
// the listener reconnects, after which every cached keyset is dropped) a
// Keyring may still open and seal records of a shredded source until its
// cached copy is [Options.CacheMaxAge] old.
//
// # Formats
//
// Record ciphertexts are Tink AEAD ciphertexts: a 5-byte key-ID prefix
// (0x01 and the key ID), a 12-byte nonce, the ciphertext and a 16-byte tag.
// The associated data given to Tink is, each part prefixed with its length
// as 8 bytes big-endian: the label "privkit/encryption/record/v1", the
// data-source ID and the caller's associated data. A ciphertext moved to
// another source, or to another row whose associated data differs, fails
// with [ErrDecrypt]. Streams are Tink streaming AEAD ciphertexts
// (AES-256-GCM-HKDF, 1 MiB segments) with the label
// "privkit/encryption/stream/v1" in the same construction. privkit reads
// and writes them segment by segment itself, sealing and opening each in
// place, and its tests check that Tink's own implementation reads what
// privkit writes and the other way round. Every authentication failure is
// the one opaque [ErrDecrypt].
//
// A [KeyStore] holds, per source, one blob: the 4 bytes "pkks", a version
// byte (1), then the record keyset and the stream keyset, each preceded by
// its length as a uvarint. Each is a Tink EncryptedKeyset (binary) wrapped
// by the KEK with associated data made like a record's from the label
// "privkit/encryption/keyset/record/v1" (or ".../stream/v1"), the
// data-source ID and nothing: a wrapped keyset moved to another source
// fails to unwrap ([ErrUnwrap]). testdata/golden/format_v1.json pins all
// of these formats.
//
// # Crypto-shredding
//
// [Keyring.Shred] deletes the wrapped keyset from the store and the cache
// and leaves a tombstone: afterwards every ciphertext of the source, in the
// database, in files, in backups, fails with [ErrShredded], and the source
// never gets keys again. The SQLite store overwrites the deleted bytes
// (secure_delete) and truncates its write-ahead log, so the wrapped keyset
// is in no file of the database. The PostgreSQL store vacuums its table,
// but PostgreSQL may keep the bytes in free space of the table file and in
// write-ahead log segments until they are reused or recycled, and in every
// base backup and WAL archive taken before the shred.
//
// What those copies hold is the keyset wrapped by the KEK. They stay
// useless as long as the KEK is not available to whoever holds them, and
// become useless for good once the KEK that wrapped them is destroyed. So
// the promise "deleted, backups included" is kept by rotating the KEK
// ([Keyring.RewrapAll]) at least as often as backups are kept and then
// destroying the old KEK (for a KMS key, destroying the old key version).
// Until then, a backup plus the live KEK can still open the data of a
// source shredded after the backup was taken.
//
// # KEK
//
// A KEK is any [tink.AEAD]. [LocalKEK] is a Tink AES-256-GCM keyset in
// memory, kept in a file protected by a passphrase through argon2id
// ([GenerateLocalKEK], [LocalKEK.WriteFile], [OpenLocalKEKFile]) or supplied
// by the host ([NewLocalKEK]).
//
// A KMS key plugs in the same way, through Tink's KMS client modules, which
// the host imports (privkit imports no cloud SDK). For Google Cloud KMS
// (github.com/tink-crypto/tink-go-gcpkms/v2/integration/gcpkms):
//
//	client, err := gcpkms.NewClientWithOptions(ctx, "gcp-kms://")
//	kek, err := client.GetAEAD("gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k")
//	ring, err := encryption.NewKeyring(store, kek, nil)
//
// AWS KMS (github.com/tink-crypto/tink-go-awskms/v2/integration/awskms) and
// HashiCorp Vault (github.com/tink-crypto/tink-go-hcvault/v2/integration/hcvault)
// work alike: their client's GetAEAD(keyURI) returns a tink.AEAD. A KEK that
// also implements [tink.AEADWithContext] receives the caller's context.
// Each cache miss costs one KMS call per keyset (two per source).
//
// # Passwords and pseudonyms
//
// [HashPassword] and [VerifyPassword] store login passwords as argon2id PHC
// strings with the OWASP parameters by default, and report when a stored
// hash should be upgraded. [Pseudonymizer] derives keyed, deterministic
// pseudonyms per domain, and [TruncateIP] keeps the /24 of an IPv4 address
// or the /48 of an IPv6 one.
//
// # Non-goals
//
// The package does not store ciphertexts (the host does), does not manage
// KMS keys (their creation, rotation schedule and destruction belong to the
// KMS), and does not hide the length of plaintexts.
package encryption
