package encryption

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// cache keeps the unwrapped keys of recently used data sources, bounded by
// count and age, and makes concurrent loads of one source share a single
// unwrap. It is safe for concurrent use.
//
// A hit reads no clock and takes no lock: with the real clock each entry
// has a runtime timer that marks it expired at its max age (a clock read
// costs about as much as the rest of a hit on some virtual machines); with
// an injected clock, a hit compares the clock with the entry's age.
// Eviction is least-recently-used, approximated: a hit stores the number of
// the latest insert in an atomic, and an insert into a full cache evicts
// the entry whose last hit is oldest by that count. Inserts happen on
// misses, which cost an unwrap (often a KMS call), so the scan is cheap by
// comparison.
type cache struct {
	size      int // <= 0: nothing is kept
	maxAge    time.Duration
	now       func() time.Time
	realClock bool // now is time.Now: entries expire by timer
	// afterFunc is time.AfterFunc; tests replace it to fire expiries.
	afterFunc func(d time.Duration, f func()) stopper

	entries sync.Map      // string -> *cacheEntry; lock-free reads
	inserts atomic.Uint64 // number of the latest insert

	mu     sync.Mutex // serialises writers; guards count, gen, closed
	count  int
	closed bool
	// gen increases whenever an entry is forgotten; a load that began under
	// an older gen does not insert its result, so a keyset read just before
	// a shred or rotation never lands in the cache after it.
	gen uint64

	fmu     sync.Mutex
	flights map[string]*flight

	// testHookWait, if set, runs when a caller joins a load in flight.
	testHookWait func()
}

// stopper is what time.AfterFunc returns.
type stopper interface{ Stop() bool }

type cacheEntry struct {
	keys    *sourceKeys
	loaded  time.Time
	expired atomic.Bool   // set by timer (real clock only)
	timer   stopper       // nil with an injected clock
	lastUse atomic.Uint64 // c.inserts at the last hit
}

// stop stops the entry's expiry timer, if any.
func (e *cacheEntry) stop() {
	if e.timer != nil {
		e.timer.Stop()
	}
}

// flight is one load of a source's keys in progress. Every caller wanting
// the same source waits for it, whether it may create keys or not.
type flight struct {
	done   chan struct{}
	create bool // the load may create keys
	keys   *sourceKeys
	err    error
}

// newCache returns a cache on the clock now; realClock says now is
// time.Now, so that entries can expire by timer.
func newCache(size int, maxAge time.Duration, now func() time.Time, realClock bool) *cache {
	return &cache{
		size:      size,
		maxAge:    maxAge,
		now:       now,
		realClock: realClock,
		afterFunc: func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) },
		flights:   make(map[string]*flight),
	}
}

// get returns the cached keys of sourceID, or nil if absent or too old.
func (c *cache) get(sourceID string) *sourceKeys {
	if c.size <= 0 {
		return nil
	}
	v, ok := c.entries.Load(sourceID)
	if !ok {
		return nil
	}
	e := v.(*cacheEntry)
	if c.expiredAt(e, time.Time{}) {
		return nil
	}
	if n := c.inserts.Load(); e.lastUse.Load() != n {
		e.lastUse.Store(n)
	}
	return e.keys
}

// expiredAt reports whether e is past its max age; now is read from the
// injected clock when it is zero and needed.
func (c *cache) expiredAt(e *cacheEntry, now time.Time) bool {
	if c.realClock {
		return e.expired.Load()
	}
	if now.IsZero() {
		now = c.now()
	}
	age := now.Sub(e.loaded)
	return age >= c.maxAge || age < 0
}

// generation returns the current generation, to be passed to put.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches keys for sourceID unless an entry was forgotten since gen.
func (c *cache) put(sourceID string, keys *sourceKeys, gen uint64) {
	if c.size <= 0 {
		return
	}
	now := c.now()
	e := &cacheEntry{keys: keys, loaded: now}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.closed {
		return
	}
	e.lastUse.Store(c.inserts.Add(1))
	if c.realClock {
		e.timer = c.afterFunc(c.maxAge, func() { c.expire(sourceID, e) })
	}
	if old, loaded := c.entries.Swap(sourceID, e); loaded {
		old.(*cacheEntry).stop()
		return
	}
	c.count++
	if c.count > c.size {
		c.evictLocked(now, sourceID)
	}
}

// expire drops e, at its max age, unless it was replaced or dropped since.
func (c *cache) expire(sourceID string, e *cacheEntry) {
	e.expired.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries.CompareAndDelete(sourceID, e) {
		c.count--
	}
}

// evictLocked removes expired entries, and if none was, the least recently
// used one other than keep.
func (c *cache) evictLocked(now time.Time, keep string) {
	var oldestID string
	var oldest uint64
	found, expired := false, false
	c.entries.Range(func(k, v any) bool {
		id, e := k.(string), v.(*cacheEntry)
		if id == keep {
			return true
		}
		if c.expiredAt(e, now) {
			c.entries.Delete(id)
			e.stop()
			c.count--
			expired = true
			return true
		}
		if u := e.lastUse.Load(); !found || u < oldest {
			oldestID, oldest, found = id, u, true
		}
		return true
	})
	if !expired && found {
		if v, ok := c.entries.LoadAndDelete(oldestID); ok {
			v.(*cacheEntry).stop()
		}
		c.count--
	}
}

// forget drops sourceID's entry and stops loads in flight from caching.
func (c *cache) forget(sourceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if v, ok := c.entries.LoadAndDelete(sourceID); ok {
		v.(*cacheEntry).stop()
		c.count--
	}
}

// forgetAll drops every entry and stops loads in flight from caching.
func (c *cache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropAllLocked()
}

// clear drops every entry; later puts are ignored.
func (c *cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.dropAllLocked()
}

func (c *cache) dropAllLocked() {
	c.gen++
	c.entries.Range(func(k, v any) bool {
		v.(*cacheEntry).stop()
		return true
	})
	c.entries.Clear()
	c.count = 0
}

// len returns the number of cached entries.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// do runs load once for all concurrent callers wanting sourceID's keys and
// gives each its result. A caller whose ctx ends stops waiting. A waiter
// runs its own load after the shared one if that one cannot answer it: it
// failed only because its own caller's ctx ended, or it found no keys while
// not allowed to create them and the waiter is.
func (c *cache) do(ctx context.Context, sourceID string, create bool, load func() (*sourceKeys, error)) (*sourceKeys, error) {
	for {
		c.fmu.Lock()
		if f, ok := c.flights[sourceID]; ok {
			c.fmu.Unlock()
			if c.testHookWait != nil {
				c.testHookWait()
			}
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.err != nil && isContextErr(f.err) && ctx.Err() == nil {
				continue
			}
			if create && !f.create && errors.Is(f.err, ErrUnknownSource) {
				continue
			}
			return f.keys, f.err
		}
		f := &flight{done: make(chan struct{}), create: create, err: errLoadPanicked}
		c.flights[sourceID] = f
		c.fmu.Unlock()

		func() {
			defer func() {
				c.fmu.Lock()
				delete(c.flights, sourceID)
				c.fmu.Unlock()
				close(f.done)
			}()
			f.keys, f.err = load()
		}()
		return f.keys, f.err
	}
}

var errLoadPanicked = errors.New("encryption: key load panicked")

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
