package encryption_test

import (
	"testing"

	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/encryption/encryptiontest"
)

func TestMemoryKeyStoreConformance(t *testing.T) {
	t.Parallel()
	encryptiontest.Run(t, func(t *testing.T) encryption.KeyStore { return encryption.NewMemoryKeyStore() })
}
