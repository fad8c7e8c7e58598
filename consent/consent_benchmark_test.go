package consent_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/inferlabs/privkit/consent"
)

// BenchmarkCheck compares a cached Check with its baseline, a map[string]bool
// read under a sync.RWMutex. Both look up one of 1024 subjects.
func BenchmarkCheck(b *testing.B) {
	const n = 1024
	subjects := make([]string, n)
	for i := range subjects {
		subjects[i] = "subject-" + strconv.Itoa(i)
	}
	b.Run("map-lookup", func(b *testing.B) {
		var mu sync.RWMutex
		m := make(map[string]bool, n)
		for i, s := range subjects {
			m[s] = i%2 == 0
		}
		b.ReportAllocs()
		b.ResetTimer()
		hits := 0
		for i := 0; b.Loop(); i++ {
			mu.RLock()
			if m[subjects[i&(n-1)]] {
				hits++
			}
			mu.RUnlock()
		}
		sink = hits
	})
	b.Run("check", func(b *testing.B) {
		ctx := context.Background()
		m, err := consent.New(consent.NewMemoryStore(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		for i, s := range subjects {
			meta := consent.Meta{Method: consent.MethodSettings, Region: "DE"}
			if i%2 == 0 {
				_, err = m.Grant(ctx, s, consent.Analytics, meta)
			} else {
				_, err = m.Withdraw(ctx, s, consent.Analytics, meta)
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Check(ctx, s, consent.Analytics); err != nil { // warm the cache
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		hits := 0
		for i := 0; b.Loop(); i++ {
			r, err := m.Check(ctx, subjects[i&(n-1)], consent.Analytics)
			if err != nil {
				b.Fatal(err)
			}
			if r.Allowed {
				hits++
			}
		}
		sink = hits
	})
}

var sink int
