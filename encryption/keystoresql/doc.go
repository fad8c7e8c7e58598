// Package keystoresql keeps the wrapped keysets of an [encryption.Keyring]
// in SQLite or PostgreSQL.
//
// Open the database with privkit.OpenSQLite or privkit.OpenPostgres and
// pass the handle to [New]; the store shares the database with privkit's
// other backends (its table is encryption_keysets).
//
// # Several instances
//
// A Store is an [encryption.KeyWatcher]: every Keyring over it hears of a
// rotation, rewrap or shred made through the same Store before that call
// returns, and drops its cached keys of the source. On PostgreSQL, Put and
// Shred also send a notification on [Channel] (payload the source ID) in
// their transaction, and a Store that Keyrings watch holds one dedicated
// connection that LISTENs for them, so the Keyrings of every other instance
// drop their cached copy within milliseconds; the connection is released
// when the last of its Keyrings is closed. After that connection was lost
// the Keyrings drop every cached keyset, since news may have been missed.
// On SQLite, other processes sharing the file are not told: their cached
// keys serve until encryption.Options.CacheMaxAge.
//
// # What a shred leaves behind
//
// [Store.Shred] deletes the wrapped keyset and keeps a tombstone row (the
// source ID, version 0, no keyset, the time of the shred) so that the
// source can never get keys again.
//
// On SQLite, which privkit opens with secure_delete=ON, the deleted bytes
// are overwritten with zeros in the database file, and Shred then
// checkpoints the write-ahead log into the database and truncates it, so the
// wrapped keyset is in no file of the database (.db, -wal, -shm) when Shred
// returns; the package's tests read those files byte for byte to check it.
// Copies the host made of the database file before the shred are not
// touched.
//
// On PostgreSQL, Shred runs VACUUM on the table after the delete commits.
// The wrapped keyset may still exist, for a while, in: the table file's
// free space (VACUUM makes the dead row's space reusable but does not zero
// it; it is overwritten as new rows arrive, and VACUUM cannot remove a row
// that an older transaction, anywhere in the database cluster, may still
// see); write-ahead log segments, until checkpoints recycle them (typically
// minutes to hours, per max_wal_size and wal_keep_size); replicas' copies of
// both; and, for as long as they are kept, WAL archives and base backups.
// Every one of those copies holds the keyset only wrapped by the KEK: it
// becomes useless once the KEK that wrapped it is destroyed, which is why
// the encryption package asks hosts to rotate the KEK (Keyring.RewrapAll)
// within their backup retention and destroy the old one. Until then, a
// backup taken before the shred plus the live KEK can still open that
// source's data.
package keystoresql
