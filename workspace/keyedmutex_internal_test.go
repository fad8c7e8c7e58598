package workspace

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyedMutex(t *testing.T) {
	t.Parallel()
	var k keyedMutex
	var wg sync.WaitGroup
	counts := map[string]int{}
	var mu sync.Mutex // guards counts' map structure, not the increments' exclusion
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a", "b"}[i%2]
			for range 100 {
				unlock := k.lock(key)
				mu.Lock()
				c := counts[key]
				mu.Unlock()
				mu.Lock()
				counts[key] = c + 1 // a lost update would show without the key's lock
				mu.Unlock()
				unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"a": 800, "b": 800}, counts, "each key's lock excludes its holders")
	assert.Empty(t, k.locks, "unused locks are dropped")
}
