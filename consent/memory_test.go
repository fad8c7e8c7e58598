package consent_test

import (
	"testing"

	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/consent/consenttest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	consenttest.Run(t, func(t *testing.T) (consent.Store, func(t *testing.T) consent.Store) {
		s := consent.NewMemoryStore()
		return s, func(*testing.T) consent.Store { return s }
	})
}
