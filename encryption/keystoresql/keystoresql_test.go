package keystoresql_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/encryption/encryptiontest"
	"github.com/inferlabs/privkit/encryption/keystoresql"
	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
)

func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		encryptiontest.Run(t, func(t *testing.T) encryption.KeyStore { return newStore(t, sqldbtest.SQLite(t)) })
	})
	t.Run("postgres", func(t *testing.T) {
		sqldbtest.PostgresDSN(t) // skips, saying why, without PRIVKIT_POSTGRES_DSN
		encryptiontest.Run(t, func(t *testing.T) encryption.KeyStore { return newStore(t, sqldbtest.Postgres(t)) })
	})
}

func newStore(t *testing.T, db *sqldb.DB) *keystoresql.Store {
	t.Helper()
	s, err := keystoresql.New(context.Background(), db.DB)
	require.NoError(t, err)
	return s
}

// TestMigrateTwice: a second New on the same database (a restart, or a
// second instance) finds the table and keeps its content.
func TestMigrateTwice(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s1 := newStore(t, db)
		require.NoError(t, s1.Put(ctx, "src", 0, []byte("k")))
		s2 := newStore(t, db)
		got, v, err := s2.Get(ctx, "src")
		require.NoError(t, err)
		assert.Equal(t, []byte("k"), got)
		assert.EqualValues(t, 1, v)
	})
}

// TestShredLeavesNoBytesInSQLiteFiles reads every file of the SQLite
// database byte for byte after a shred: the wrapped keyset must be in none.
func TestShredLeavesNoBytesInSQLiteFiles(t *testing.T) {
	ctx := context.Background()
	db, path := sqldbtest.SQLitePath(t)
	store := newStore(t, db)
	kek, err := encryption.GenerateLocalKEK()
	require.NoError(t, err)
	k, err := encryption.NewKeyring(store, kek, nil)
	require.NoError(t, err)
	defer k.Close()

	// Several sources, so that the shredded row shares pages with live ones.
	for _, id := range []string{"before", "victim", "after"} {
		_, err := k.Encrypt(ctx, id, []byte("data of "+id), nil)
		require.NoError(t, err)
	}
	v1, _, err := store.Get(ctx, "victim")
	require.NoError(t, err)
	require.NoError(t, k.Rotate(ctx, "victim")) // version 1 now sits in freed space or the WAL
	wrapped, _, err := store.Get(ctx, "victim")
	require.NoError(t, err)
	require.Greater(t, len(wrapped), 100)

	files := []string{path, path + "-wal", path + "-shm"}
	// Probe: distinctive slices of the wrapped keyset (Tink's encrypted
	// keyset bytes are random-looking, so 32 bytes cannot occur by chance).
	probes := [][]byte{
		wrapped[len(wrapped)-32:], wrapped[len(wrapped)/2 : len(wrapped)/2+32], wrapped[8:40],
		v1[len(v1)-32:], v1[len(v1)/2 : len(v1)/2+32], v1[8:40],
	}
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, p := range probes {
			found = found || bytes.Contains(b, p)
		}
	}
	require.True(t, found, "test precondition: before the shred the wrapped keyset is in some file")

	require.NoError(t, k.Shred(ctx, "victim"))
	if st, err := os.Stat(path + "-wal"); err == nil {
		assert.Zero(t, st.Size(), "the write-ahead log is truncated")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for i, p := range probes {
			assert.False(t, bytes.Contains(b, p), "after Shred, %s still holds probe %d of the wrapped keyset", f, i)
		}
	}
	// The other sources are intact.
	for _, id := range []string{"before", "after"} {
		_, _, err := store.Get(ctx, id)
		require.NoError(t, err, "source %s must survive another's shred", id)
	}
}

// TestShredVacuumsPostgres: on PostgreSQL the row loses its keyset and the
// table is vacuumed after the shred.
func TestShredVacuumsPostgres(t *testing.T) {
	db := sqldbtest.Postgres(t)
	ctx := context.Background()
	store := newStore(t, db)
	require.NoError(t, store.Put(ctx, "victim", 0, []byte("wrapped-keyset-bytes")))
	var before int64
	require.NoError(t, db.QueryRow(ctx, "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'encryption_keysets'::regclass").Scan(&before))
	require.NoError(t, store.Shred(ctx, "victim"))

	var wrapped []byte
	var version int64
	var shreddedAt *int64
	require.NoError(t, db.QueryRow(ctx, "SELECT wrapped, version, shredded_at FROM encryption_keysets WHERE source_id = ?", "victim").Scan(&wrapped, &version, &shreddedAt))
	assert.Nil(t, wrapped, "the tombstone holds no keyset")
	assert.Zero(t, version)
	assert.NotNil(t, shreddedAt, "the tombstone records when")
	var after int64
	require.NoError(t, db.QueryRow(ctx, "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'encryption_keysets'::regclass").Scan(&after))
	assert.Greater(t, after, before, "Shred vacuums the table")
}

// TestTwoInstancesPostgres: two Keyrings in two "processes" (separate
// connection pools on one schema) agree on keys and on shredding.
func TestTwoInstancesPostgres(t *testing.T) {
	dsn := sqldbtest.PostgresDSN(t)
	ctx := context.Background()
	kek, err := encryption.GenerateLocalKEK()
	require.NoError(t, err)
	var rings [2]*encryption.Keyring
	for i := range rings {
		rings[i] = newRing(t, newStore(t, sqldbtest.Open(t, dsn)), kek)
	}
	// Both create the source's keys at once: one wins, both end up with it.
	cts := make([][]byte, 2)
	errs := make(chan error, 2)
	for i, k := range rings {
		go func() {
			ct, err := k.Encrypt(ctx, "shared", []byte("hello"), nil)
			cts[i] = ct
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	for i, k := range rings {
		for j, ct := range cts {
			_, err := k.Decrypt(ctx, "shared", ct, nil)
			require.NoError(t, err, "instance %d opens instance %d's ciphertext", i, j)
		}
	}
	require.NoError(t, rings[0].Shred(ctx, "shared"))
	_, err = rings[1].Encrypt(ctx, "other", nil, nil)
	require.NoError(t, err)
	k3 := newRing(t, newStore(t, sqldbtest.Open(t, dsn)), kek)
	_, err = k3.Decrypt(ctx, "shared", cts[0], nil)
	assert.ErrorIs(t, err, encryption.ErrShredded)
}

func TestNewRejectsBadHandles(t *testing.T) {
	ctx := context.Background()
	_, err := keystoresql.New(ctx, nil)
	assert.Error(t, err, "nil handle")

	// A SQLite database opened without secure_delete cannot promise that a
	// shred leaves no bytes behind.
	plain, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "plain.db"))
	require.NoError(t, err)
	defer plain.Close()
	_, err = keystoresql.New(ctx, plain)
	assert.ErrorIs(t, err, sqldb.ErrSQLiteSettings)
}

// TestShredUnderLoadSQLite: shreds succeed, with the log truncated, while
// other connections keep reading and writing.
func TestShredUnderLoadSQLite(t *testing.T) {
	ctx := context.Background()
	db, path := sqldbtest.SQLitePath(t)
	store := newStore(t, db)
	for i := range 8 {
		require.NoError(t, store.Put(ctx, fmt.Sprint("victim-", i), 0, []byte("k")))
	}
	require.NoError(t, store.Put(ctx, "hot", 0, []byte("k")))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if g == 0 {
					assert.NoError(t, store.Put(ctx, fmt.Sprint("new-", n), 0, []byte("k")))
					continue
				}
				_, _, err := store.Get(ctx, "hot")
				assert.NoError(t, err)
			}
		}()
	}
	for i := range 8 {
		assert.NoError(t, store.Shred(ctx, fmt.Sprint("victim-", i)), "shred %d under load", i)
	}
	close(stop)
	wg.Wait()
	_, err := os.Stat(path)
	require.NoError(t, err)
}

func newRing(t *testing.T, s encryption.KeyStore, kek *encryption.LocalKEK) *encryption.Keyring {
	t.Helper()
	k, err := encryption.NewKeyring(s, kek, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// cacheOnBoth seals a record of "src" through a and opens it through b,
// so that both cache the keys, and returns the record.
func cacheOnBoth(t *testing.T, a, b *encryption.Keyring) []byte {
	t.Helper()
	ctx := context.Background()
	ct, err := a.Encrypt(ctx, "src", []byte("x"), nil)
	require.NoError(t, err)
	_, err = b.Decrypt(ctx, "src", ct, nil)
	require.NoError(t, err)
	return ct
}

// cacheThenRotate is cacheOnBoth, then a rotation of the source through a;
// it returns the record and one sealed by a under the new primary key.
func cacheThenRotate(t *testing.T, a, b *encryption.Keyring) (ct, ctA []byte) {
	t.Helper()
	ctx := context.Background()
	ct = cacheOnBoth(t, a, b)
	require.NoError(t, a.Rotate(ctx, "src"))
	ctA, err := a.Encrypt(ctx, "src", nil, nil)
	require.NoError(t, err)
	return ct, ctA
}

// TestWatchSameStore: Keyrings sharing one Store hear of a rotation and a
// shred through another at once: the one that cached the keys seals under
// the new primary key and refuses the shredded source, without waiting
// for CacheMaxAge. Two Stores on one SQLite file, as two processes would
// have, hear nothing: that Keyring serves its cached copy until
// CacheMaxAge, as the package documents.
func TestWatchSameStore(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		kek, err := encryption.GenerateLocalKEK()
		require.NoError(t, err)
		s := newStore(t, db)
		a, b := newRing(t, s, kek), newRing(t, s, kek)
		ct, ctA := cacheThenRotate(t, a, b)
		ctB, err := b.Encrypt(ctx, "src", nil, nil)
		require.NoError(t, err)
		assert.Equal(t, ctA[:5], ctB[:5], "b seals under the new primary key at once")
		assert.NotEqual(t, ct[:5], ctB[:5])

		require.NoError(t, a.Shred(ctx, "src"))
		_, err = b.Decrypt(ctx, "src", ct, nil)
		assert.ErrorIs(t, err, encryption.ErrShredded, "b refuses the shredded source at once")
		_, err = b.Encrypt(ctx, "src", nil, nil)
		assert.ErrorIs(t, err, encryption.ErrShredded)
	})
	t.Run("sqlite-two-stores", func(t *testing.T) {
		ctx := context.Background()
		db, path := sqldbtest.SQLitePath(t)
		other, err := sqldb.OpenSQLite(ctx, path)
		require.NoError(t, err)
		t.Cleanup(func() { other.Close() })
		kek, err := encryption.GenerateLocalKEK()
		require.NoError(t, err)
		a, b := newRing(t, newStore(t, db), kek), newRing(t, newStore(t, other), kek)
		ct := cacheOnBoth(t, a, b)
		require.NoError(t, a.Shred(ctx, "src"))
		_, err = b.Decrypt(ctx, "src", ct, nil)
		assert.NoError(t, err, "no news across processes on SQLite: the cached copy serves until CacheMaxAge")
		_, err = newRing(t, newStore(t, other), kek).Decrypt(ctx, "src", ct, nil)
		assert.ErrorIs(t, err, encryption.ErrShredded, "a Keyring without the cached copy refuses it")
	})
}

// TestWatchPostgresInstances: on PostgreSQL a shred or rotation through one
// instance reaches the cached keys of another instance (its own Store and
// connection pool) through LISTEN/NOTIFY, without waiting for CacheMaxAge.
func TestWatchPostgresInstances(t *testing.T) {
	dsn := sqldbtest.PostgresDSN(t)
	ctx := context.Background()
	kek, err := encryption.GenerateLocalKEK()
	require.NoError(t, err)
	sa, sb := newStore(t, sqldbtest.Open(t, dsn)), newStore(t, sqldbtest.Open(t, dsn))
	a, b := newRing(t, sa, kek), newRing(t, sb, kek)
	require.NoError(t, sb.WaitListening(ctx))
	ct, ctA := cacheThenRotate(t, a, b)
	require.Eventually(t, func() bool {
		ctB, err := b.Encrypt(ctx, "src", nil, nil)
		return err == nil && bytes.Equal(ctA[:5], ctB[:5])
	}, 5*time.Second, 5*time.Millisecond, "b seals under the new primary key")

	require.NoError(t, a.Shred(ctx, "src"))
	require.Eventually(t, func() bool {
		_, err := b.Decrypt(ctx, "src", ct, nil)
		return errors.Is(err, encryption.ErrShredded)
	}, 5*time.Second, 5*time.Millisecond, "b refuses the shredded source")
}
