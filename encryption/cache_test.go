package encryption

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/clock"
)

func TestCacheAvoidsUnwrap(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	kek := newCountingKEK(t)
	k, err := NewKeyring(NewMemoryKeyStore(), kek, &Options{CacheMaxAge: time.Minute, Now: fake.Now})
	require.NoError(t, err)
	ct, err := k.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, kek.encrypts.Load(), "creation wraps two keysets")
	for range 100 {
		_, err := k.Decrypt(ctx, "s", ct, nil)
		require.NoError(t, err)
		_, err = k.Encrypt(ctx, "s", []byte("x"), nil)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 0, kek.decrypts.Load(), "hot path never unwraps")
	for range 10 {
		w, err := k.NewEncryptingWriter(ctx, "s", io.Discard, nil)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	assert.EqualValues(t, 0, kek.decrypts.Load(), "opening streams checks the store's version, never unwraps")

	fake.Advance(59 * time.Second)
	_, err = k.Decrypt(ctx, "s", ct, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 0, kek.decrypts.Load(), "still fresh")
	fake.Advance(time.Second)
	_, err = k.Decrypt(ctx, "s", ct, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, kek.decrypts.Load(), "at max age the keyset is read and unwrapped again")
}
func TestCacheBoundedBySize(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	k, _, _ := newTestKeyring(t, &Options{CacheSize: 3, Now: fake.Now})
	for i := range 10 {
		fake.Advance(time.Millisecond)
		_, err := k.Encrypt(ctx, fmt.Sprint("s", i), []byte("x"), nil)
		require.NoError(t, err)
		assert.LessOrEqual(t, k.cache.len(), 3)
	}
	// s9, s8, s7 are cached; touching s7 makes s8 the least recently used.
	fake.Advance(time.Millisecond)
	require.NotNil(t, k.cache.get("s7"))
	fake.Advance(time.Millisecond)
	_, err := k.Encrypt(ctx, "new", []byte("x"), nil)
	require.NoError(t, err)
	assert.NotNil(t, k.cache.get("s7"), "recently used stays")
	assert.NotNil(t, k.cache.get("s9"))
	assert.Nil(t, k.cache.get("s8"), "least recently used is evicted")
}
func TestCacheDisabled(t *testing.T) {
	t.Parallel()
	kek := newCountingKEK(t)
	k, err := NewKeyring(NewMemoryKeyStore(), kek, &Options{CacheSize: -1})
	require.NoError(t, err)
	ct, err := k.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)
	_, err = k.Decrypt(ctx, "s", ct, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, kek.decrypts.Load(), "without a cache every call unwraps")
}

// TestConcurrentUnwrapOnce: many goroutines opening a cold source unwrap it
// once; the rest wait for that one unwrap.
func TestConcurrentUnwrapOnce(t *testing.T) {
	t.Parallel()
	kek := newCountingKEK(t)
	store := NewMemoryKeyStore()
	k0, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	ct, err := k0.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)

	k, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	kek.entered, kek.release = make(chan struct{}), make(chan struct{})
	const n = 16
	joined := make(chan struct{}, n)
	k.cache.testHookWait = func() { joined <- struct{}{} }
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch i % 3 { // readers and writers share the one unwrap
			case 0:
				_, err = k.Decrypt(ctx, "s", ct, nil)
			case 1:
				_, err = k.Encrypt(ctx, "s", []byte("y"), nil)
			default:
				_, err = k.NewDecryptingReader(ctx, "s", bytes.NewReader(nil), nil)
			}
			errs <- err
		}()
	}
	<-kek.entered // the leader is unwrapping the record keyset
	for range n - 1 {
		<-joined // every other caller waits on the leader
	}
	close(kek.release)
	<-kek.entered // stream keyset
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.EqualValues(t, 2, kek.decrypts.Load(), "one unwrap (two keysets) for %d callers", n)
}

// TestShredDuringUnwrap: a keyset read before a shred and unwrapped after
// it must not land in the cache.
func TestShredDuringUnwrap(t *testing.T) {
	t.Parallel()
	kek := newCountingKEK(t)
	store := NewMemoryKeyStore()
	k0, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	ct, err := k0.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)

	k, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	kek.entered, kek.release = make(chan struct{}, 2), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = k.Decrypt(ctx, "s", ct, nil) // may succeed: it began before the shred
	}()
	<-kek.entered
	require.NoError(t, k.Shred(ctx, "s"))
	close(kek.release)
	<-done
	kek.entered = nil
	assert.Nil(t, k.cache.get("s"), "a keyset unwrapped across a shred is not cached")
	_, err = k.Decrypt(ctx, "s", ct, nil)
	assert.ErrorIs(t, err, ErrShredded)
}
func TestLeaderCanceledWaiterRetries(t *testing.T) {
	t.Parallel()
	kek := newCountingKEK(t)
	store := NewMemoryKeyStore()
	k0, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	ct, err := k0.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)

	k, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	kek.entered, kek.release = make(chan struct{}, 4), make(chan struct{})
	joined := make(chan struct{}, 1)
	k.cache.testHookWait = func() { joined <- struct{}{} }
	lctx, cancel := context.WithCancel(ctx)
	leaderErr := make(chan error, 1)
	go func() {
		_, err := k.Decrypt(lctx, "s", ct, nil)
		leaderErr <- err
	}()
	<-kek.entered
	waiterErr := make(chan error, 1)
	go func() {
		_, err := k.Decrypt(ctx, "s", ct, nil)
		waiterErr <- err
	}()
	<-joined
	cancel()
	close(kek.release) // the leader's unwrap now sees its canceled context
	lerr := <-leaderErr
	assert.ErrorIs(t, lerr, context.Canceled)
	assert.NoError(t, <-waiterErr, "a waiter with a live context retries the load")
}

// TestDecryptRacingFirstEncrypt: an Encrypt that joins a Decrypt's load of
// a source without keys still creates them.
func TestDecryptRacingFirstEncrypt(t *testing.T) {
	t.Parallel()
	store := &gatedStore{MemoryKeyStore: NewMemoryKeyStore(), entered: make(chan struct{}, 4), release: make(chan struct{})}
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	k, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	joined := make(chan struct{}, 1)
	k.cache.testHookWait = func() { joined <- struct{}{} }
	decErr := make(chan error, 1)
	go func() {
		_, err := k.Decrypt(ctx, "new", make([]byte, 40), nil)
		decErr <- err
	}()
	<-store.entered // the Decrypt's load is reading the store
	encErr := make(chan error, 1)
	go func() {
		_, err := k.Encrypt(ctx, "new", []byte("x"), nil)
		encErr <- err
	}()
	<-joined
	close(store.release)
	assert.ErrorIs(t, <-decErr, ErrUnknownSource)
	assert.NoError(t, <-encErr, "the Encrypt runs its own load and creates the keys")
}

// gatedStore holds Get calls at a gate.
type gatedStore struct {
	*MemoryKeyStore
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStore) Get(ctx context.Context, id string) ([]byte, int64, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.MemoryKeyStore.Get(ctx, id)
}

// fakeTimers stands in for time.AfterFunc in a real-clock cache, so that
// tests fire entry expiries themselves.
type fakeTimers struct {
	mu sync.Mutex
	ts []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	fire    func()
	stopped atomic.Bool
}

func (t *fakeTimer) Stop() bool { return !t.stopped.Swap(true) }

func (f *fakeTimers) afterFunc(d time.Duration, fn func()) stopper {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{d: d, fire: fn}
	f.ts = append(f.ts, t)
	return t
}

func (f *fakeTimers) all() []*fakeTimer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ts)
}

// TestCacheRealClockExpiresByTimer: with the real clock, hits read no
// clock; an entry's timer expires it at CacheMaxAge, after which the keys
// are unwrapped again. Forgetting, replacing and closing stop timers.
func TestCacheRealClockExpiresByTimer(t *testing.T) {
	t.Parallel()
	kek := newCountingKEK(t)
	k, err := NewKeyring(NewMemoryKeyStore(), kek, &Options{CacheMaxAge: time.Minute})
	require.NoError(t, err)
	ft := &fakeTimers{}
	k.cache.afterFunc = ft.afterFunc
	ct, err := k.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)
	ts := ft.all()
	require.Len(t, ts, 1, "one timer for the new entry")
	assert.Equal(t, time.Minute, ts[0].d)
	for range 10 {
		_, err := k.Decrypt(ctx, "s", ct, nil)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 0, kek.decrypts.Load(), "hits never unwrap")

	ts[0].fire() // a minute has passed
	assert.Nil(t, k.cache.get("s"), "expired at max age")
	assert.Equal(t, 0, k.cache.len())
	_, err = k.Decrypt(ctx, "s", ct, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, kek.decrypts.Load(), "read and unwrapped again")
	ts = ft.all()
	require.Len(t, ts, 2, "the new entry has its own timer")
	ts[0].fire() // a late firing of the old timer leaves the new entry alone
	assert.NotNil(t, k.cache.get("s"))

	require.NoError(t, k.Shred(ctx, "s"))
	assert.True(t, ts[1].stopped.Load(), "forgetting stops the timer")
	_, err = k.Encrypt(ctx, "t", nil, nil)
	require.NoError(t, err)
	require.NoError(t, k.Close())
	for i, tm := range ft.all() {
		assert.True(t, tm.stopped.Load() || i == 0, "timer %d stopped by Close", i)
	}
}

// TestCacheRealClockTimer: the real timer expires an entry (a short max
// age, waited for by polling).
func TestCacheRealClockTimer(t *testing.T) {
	t.Parallel()
	k, err := NewKeyring(NewMemoryKeyStore(), newCountingKEK(t), &Options{CacheMaxAge: 20 * time.Millisecond})
	require.NoError(t, err)
	defer k.Close()
	_, err = k.Encrypt(ctx, "s", nil, nil)
	require.NoError(t, err)
	require.NotNil(t, k.cache.get("s"))
	require.Eventually(t, func() bool { return k.cache.get("s") == nil && k.cache.len() == 0 }, 5*time.Second, 5*time.Millisecond)
}
