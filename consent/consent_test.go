package consent_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/internal/clock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newManager(t *testing.T, store consent.Store, opts *consent.Options) (*consent.Manager, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(t0)
	if opts == nil {
		opts = &consent.Options{}
	}
	if opts.Now == nil {
		opts.Now = fake.Now
	}
	m, err := consent.New(store, opts)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m, fake
}

func TestGrantWithdrawAllowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), nil)

	ok, err := m.Allowed(ctx, "u1", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "unknown region is the strictest regime: opt-in, so no consent yet")

	_, err = m.Grant(ctx, "u1", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "de"})
	require.NoError(t, err)
	ok, err = m.Allowed(ctx, "u1", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok, "granted")

	_, err = m.Withdraw(ctx, "u1", consent.Analytics, consent.Meta{Method: consent.MethodSettings})
	require.NoError(t, err)
	ok, err = m.Allowed(ctx, "u1", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "a withdrawal takes effect at once")

	ok, err = m.Allowed(ctx, "u1", "nope")
	require.ErrorIs(t, err, consent.ErrUnknownPurpose)
	assert.False(t, ok, "fails closed")
}
