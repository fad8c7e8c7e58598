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
// Eviction is least-recently-used, approximated: a hit only stores its time
// in an atomic (hits take no lock), and an insert into a full cache scans
// for the entry used longest ago. Inserts happen on misses, which cost
// an unwrap (often a KMS call), so the scan is cheap by comparison.
type cache struct {
	size   int // <= 0: nothing is kept
	maxAge time.Duration
	now    func() time.Time
	// since is time.Since for the real clock (one monotonic clock read,
	// about half the cost of time.Now on the hot path), or now().Sub(t).
	since func(t time.Time) time.Duration
	epoch time.Time // origin of lastUse

	entries sync.Map // string -> *cacheEntry; lock-free reads

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

type cacheEntry struct {
	keys      *sourceKeys
	loaded    time.Time
	loadedOff time.Duration // loaded - cache epoch
	lastUse   atomic.Int64  // nanoseconds since the cache epoch at the last hit
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
// time.Now, so that hits can read the monotonic clock alone.
func newCache(size int, maxAge time.Duration, now func() time.Time, realClock bool) *cache {
	c := &cache{
		size:    size,
		maxAge:  maxAge,
		now:     now,
		since:   time.Since,
		epoch:   now(),
		flights: make(map[string]*flight),
	}
	if !realClock {
		c.since = func(t time.Time) time.Duration { return now().Sub(t) }
	}
	return c
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
	age := c.since(e.loaded)
	if age >= c.maxAge || age < 0 {
		return nil
	}
	e.lastUse.Store(int64(e.loadedOff + age))
	return e.keys
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
	e := &cacheEntry{keys: keys, loaded: now, loadedOff: now.Sub(c.epoch)}
	e.lastUse.Store(int64(e.loadedOff))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.closed {
		return
	}
	if _, loaded := c.entries.Swap(sourceID, e); loaded {
		return
	}
	c.count++
	if c.count > c.size {
		c.evictLocked(now, sourceID)
	}
}

// evictLocked removes expired entries, and if none was, the least recently
// used one other than keep.
func (c *cache) evictLocked(now time.Time, keep string) {
	var oldestID string
	var oldest int64
	found, expired := false, false
	c.entries.Range(func(k, v any) bool {
		id, e := k.(string), v.(*cacheEntry)
		if id == keep {
			return true
		}
		if now.Sub(e.loaded) >= c.maxAge {
			c.entries.Delete(id)
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
		c.entries.Delete(oldestID)
		c.count--
	}
}

// forget drops sourceID's entry and stops loads in flight from caching.
func (c *cache) forget(sourceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if _, ok := c.entries.LoadAndDelete(sourceID); ok {
		c.count--
	}
}

// forgetAll drops every entry and stops loads in flight from caching.
func (c *cache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries.Clear()
	c.count = 0
}

// clear drops every entry; later puts are ignored.
func (c *cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.closed = true
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
