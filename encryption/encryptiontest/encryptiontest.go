package encryptiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/inferlabs/privkit/encryption"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Run tests the KeyStore that newStore returns; newStore must return an
// empty store each time it is called. Subtests run in parallel only where
// each uses a store of its own.
func Run(t *testing.T, newStore func(t *testing.T) encryption.KeyStore) {
	t.Helper()
	ctx := context.Background()

	t.Run("GetUnknown", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.Get(ctx, "never-stored")
		if !errors.Is(err, encryption.ErrUnknownSource) {
			t.Fatalf("Get of a never-stored source = %v, want ErrUnknownSource", err)
		}
	})

	t.Run("CreateGetUpdate", func(t *testing.T) {
		s := newStore(t)
		w1 := []byte("wrapped-v1\x00\xff")
		mustPut(t, s, "src", 0, w1)
		expectGet(t, s, "src", w1, 1)

		if err := s.Put(ctx, "src", 0, []byte("other")); !errors.Is(err, encryption.ErrConflict) {
			t.Fatalf("second create = %v, want ErrConflict (creation must be conditional)", err)
		}
		expectGet(t, s, "src", w1, 1)

		w2 := []byte("wrapped-v2")
		mustPut(t, s, "src", 1, w2)
		expectGet(t, s, "src", w2, 2)

		if err := s.Put(ctx, "src", 1, []byte("stale")); !errors.Is(err, encryption.ErrConflict) {
			t.Fatalf("Put with a stale version = %v, want ErrConflict", err)
		}
		if err := s.Put(ctx, "src", 5, []byte("future")); !errors.Is(err, encryption.ErrConflict) {
			t.Fatalf("Put with a version ahead of the store = %v, want ErrConflict", err)
		}
		if err := s.Put(ctx, "absent", 3, []byte("x")); !errors.Is(err, encryption.ErrConflict) {
			t.Fatalf("update of an absent source = %v, want ErrConflict", err)
		}
		expectGet(t, s, "src", w2, 2)
	})

	t.Run("OddIDs", func(t *testing.T) {
		s := newStore(t)
		ids := []string{"a'b", `a"b`, "100%_x", "é/ü/中", "semi;colon--", " spaced ", strings.Repeat("é", encryption.MaxSourceIDLen/2)}
		for i, id := range ids {
			mustPut(t, s, id, 0, fmt.Appendf(nil, "k%d", i))
		}
		for i, id := range ids {
			expectGet(t, s, id, fmt.Appendf(nil, "k%d", i), 1)
		}
		if err := s.Shred(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids[1:] {
			expectGet(t, s, id, fmt.Appendf(nil, "k%d", i+1), 1) // shredding one touches no other
		}
		if _, _, err := s.Get(ctx, "a"); !errors.Is(err, encryption.ErrUnknownSource) {
			t.Fatalf("Get of a prefix of a stored ID = %v, want ErrUnknownSource", err)
		}
	})

	t.Run("SlicesNotRetained", func(t *testing.T) {
		s := newStore(t)
		w := []byte("wrapped-bytes")
		mustPut(t, s, "src", 0, w)
		w[0] = 'X' // the caller reuses its buffer
		got, _, err := s.Get(ctx, "src")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, []byte("wrapped-bytes")) {
			t.Fatalf("store kept the caller's slice: got %q", got)
		}
		got[0] = 'Y' // the caller modifies what it got
		expectGet(t, s, "src", []byte("wrapped-bytes"), 1)
	})

	t.Run("Shred", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "src", 0, []byte("secret-keyset"))
		mustPut(t, s, "keep", 0, []byte("other-keyset"))
		if err := s.Shred(ctx, "src"); err != nil {
			t.Fatalf("Shred: %v", err)
		}
		if _, _, err := s.Get(ctx, "src"); !errors.Is(err, encryption.ErrShredded) {
			t.Fatalf("Get after Shred = %v, want ErrShredded", err)
		}
		for _, prev := range []int64{0, 1, 2} {
			if err := s.Put(ctx, "src", prev, []byte("recreated")); !errors.Is(err, encryption.ErrShredded) {
				t.Fatalf("Put(prev=%d) after Shred = %v, want ErrShredded: a shredded source never gets keys again", prev, err)
			}
		}
		if err := s.Shred(ctx, "src"); err != nil {
			t.Fatalf("second Shred = %v, want nil (idempotent)", err)
		}
		if _, _, err := s.Get(ctx, "src"); !errors.Is(err, encryption.ErrShredded) {
			t.Fatalf("Get after second Shred = %v, want ErrShredded", err)
		}
		expectGet(t, s, "keep", []byte("other-keyset"), 1)
	})

	t.Run("ShredUnknown", func(t *testing.T) {
		s := newStore(t)
		if err := s.Shred(ctx, "never-stored"); err != nil {
			t.Fatalf("Shred of an unknown source = %v, want nil", err)
		}
		if _, _, err := s.Get(ctx, "never-stored"); !errors.Is(err, encryption.ErrShredded) {
			t.Fatalf("Get after shredding an unknown source = %v, want ErrShredded (tombstone)", err)
		}
		if err := s.Put(ctx, "never-stored", 0, []byte("k")); !errors.Is(err, encryption.ErrShredded) {
			t.Fatalf("create after shredding an unknown source = %v, want ErrShredded", err)
		}
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		s := newStore(t)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Put(ctx, "src", 0, fmt.Appendf(nil, "keyset-%d", i))
			}()
		}
		wg.Wait()
		wins := 0
		var winner int
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				winner = i
			case !errors.Is(err, encryption.ErrConflict):
				t.Fatalf("concurrent create %d = %v, want nil or ErrConflict", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent creates won, want exactly 1", wins)
		}
		expectGet(t, s, "src", fmt.Appendf(nil, "keyset-%d", winner), 1)
	})

	t.Run("ConcurrentUpdate", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "src", 0, []byte("v1"))
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Put(ctx, "src", 1, fmt.Appendf(nil, "v2-%d", i))
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			if err == nil {
				wins++
			} else if !errors.Is(err, encryption.ErrConflict) {
				t.Fatalf("concurrent update %d = %v, want nil or ErrConflict", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent updates of version 1 won, want exactly 1 (compare-and-swap)", wins)
		}
		if _, v, err := s.Get(ctx, "src"); err != nil || v != 2 {
			t.Fatalf("after concurrent updates: version %d, %v; want 2", v, err)
		}
	})

	t.Run("ShredRacesCreate", func(t *testing.T) {
		s := newStore(t)
		for i := range 20 {
			id := fmt.Sprintf("race-%d", i)
			var wg sync.WaitGroup
			wg.Add(2)
			var putErr, shredErr error
			go func() { defer wg.Done(); putErr = s.Put(ctx, id, 0, []byte("k")) }()
			go func() { defer wg.Done(); shredErr = s.Shred(ctx, id) }()
			wg.Wait()
			if shredErr != nil {
				t.Fatalf("Shred: %v", shredErr)
			}
			if putErr != nil && !errors.Is(putErr, encryption.ErrShredded) {
				t.Fatalf("Put racing Shred = %v, want nil or ErrShredded", putErr)
			}
			if _, _, err := s.Get(ctx, id); !errors.Is(err, encryption.ErrShredded) {
				t.Fatalf("after Put racing Shred, Get = %v, want ErrShredded whatever the order", err)
			}
		}
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		l, ok := s.(encryption.KeyLister)
		if !ok {
			t.Skip("store does not implement encryption.KeyLister")
		}
		ids := []string{"b", "a", "c/1", "c", "Z", "é", "a0", "dead"}
		for _, id := range ids {
			mustPut(t, s, id, 0, []byte("k-"+id))
		}
		if err := s.Shred(ctx, "dead"); err != nil {
			t.Fatal(err)
		}
		if err := s.Shred(ctx, "ghost"); err != nil {
			t.Fatal(err)
		}
		want := []string{"Z", "a", "a0", "b", "c", "c/1", "é"} // byte order, live only
		if !sort.StringsAreSorted(want) {
			t.Fatal("test bug: want is not in byte order")
		}
		var got []string
		after := ""
		for page := 0; page < 10; page++ {
			ids, err := l.List(ctx, after, 3)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			got = append(got, ids...)
			if len(ids) < 3 {
				break
			}
			after = ids[len(ids)-1]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("List pages = %q, want %q (byte order, shredded excluded)", got, want)
		}
		if ids, err := l.List(ctx, "", 0); err != nil || len(ids) != 0 {
			t.Fatalf("List with limit 0 = %q, %v; want nothing", ids, err)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(cctx, "src", 0, []byte("k")); err == nil {
			t.Fatal("Put with a canceled context succeeded")
		}
	})

	t.Run("Keyring", func(t *testing.T) {
		s := newStore(t)
		kek, err := encryption.GenerateLocalKEK()
		if err != nil {
			t.Fatal(err)
		}
		k, err := encryption.NewKeyring(s, kek, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		ct, err := k.Encrypt(ctx, "src", []byte("hello"), []byte("row"))
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if err := k.Rotate(ctx, "src"); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		ct2, err := k.Encrypt(ctx, "src", []byte("world"), []byte("row"))
		if err != nil {
			t.Fatalf("Encrypt after Rotate: %v", err)
		}
		// A second Keyring (another instance) reads the same store.
		k2, err := encryption.NewKeyring(s, kek, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer k2.Close()
		for _, c := range [][]byte{ct, ct2} {
			if _, err := k2.Decrypt(ctx, "src", c, []byte("row")); err != nil {
				t.Fatalf("Decrypt by a second Keyring: %v", err)
			}
		}
		kek2, err := encryption.GenerateLocalKEK()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.RewrapAll(ctx, kek2); err != nil && !errors.Is(err, encryption.ErrNotSupported) {
			t.Fatalf("RewrapAll: %v", err)
		}
		if err := k.Shred(ctx, "src"); err != nil {
			t.Fatalf("Shred: %v", err)
		}
		// k2 has the source's keys cached: a store that tells Keyrings of
		// changes (KeyWatcher) makes it refuse the source at once.
		if _, ok := s.(encryption.KeyWatcher); ok {
			if _, err := k2.Decrypt(ctx, "src", ct, []byte("row")); !errors.Is(err, encryption.ErrShredded) {
				t.Fatalf("Decrypt by a Keyring sharing the KeyWatcher store after Shred = %v, want ErrShredded", err)
			}
		}
		k3, err := encryption.NewKeyring(s, kek2, &encryption.Options{PreviousKEKs: []tink.AEAD{kek}})
		if err != nil {
			t.Fatal(err)
		}
		defer k3.Close()
		if _, err := k3.Decrypt(ctx, "src", ct, []byte("row")); !errors.Is(err, encryption.ErrShredded) {
			t.Fatalf("Decrypt after Shred by a fresh Keyring = %v, want ErrShredded", err)
		}
	})
}

func mustPut(t *testing.T, s encryption.KeyStore, id string, prev int64, w []byte) {
	t.Helper()
	if err := s.Put(context.Background(), id, prev, w); err != nil {
		t.Fatalf("Put(%q, %d): %v", id, prev, err)
	}
}

func expectGet(t *testing.T, s encryption.KeyStore, id string, want []byte, wantVersion int64) {
	t.Helper()
	got, v, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	if !bytes.Equal(got, want) || v != wantVersion {
		t.Fatalf("Get(%q) = %q version %d, want %q version %d", id, got, v, want, wantVersion)
	}
}
