package clock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/inferlabs/privkit/internal/clock"
)

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := clock.NewFake(t0)
	assert.Equal(t, t0, f.Now(), "a fake clock starts where it is set")
	assert.Equal(t, t0, f.Now(), "and does not move by itself")
	assert.Equal(t, t0.Add(time.Hour), f.Advance(time.Hour))
	f.Set(t0)
	assert.Equal(t, t0, f.Now())

	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); f.Advance(time.Second); _ = f.Now() }()
	}
	wg.Wait()
	assert.Equal(t, t0.Add(8*time.Second), f.Now(), "concurrent advances all count")
}

func TestNowFunc(t *testing.T) {
	f := clock.NewFake(time.Unix(42, 0))
	assert.Equal(t, time.Unix(42, 0), clock.NowFunc(f.Now)())
	before := time.Now()
	got := clock.NowFunc(nil)()
	assert.False(t, got.Before(before), "nil means the real clock")
}
