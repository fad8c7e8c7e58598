//go:build tools

// This file pins dependencies that packages adopt as they land; it is never compiled.

package privkit

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/stretchr/testify/assert"
	_ "github.com/stretchr/testify/require"
	_ "github.com/tink-crypto/tink-go/v2/aead"
	_ "github.com/tink-crypto/tink-go/v2/daead"
	_ "github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	_ "github.com/tink-crypto/tink-go/v2/keyset"
	_ "github.com/tink-crypto/tink-go/v2/mac"
	_ "github.com/tink-crypto/tink-go/v2/streamingaead"
	_ "github.com/tink-crypto/tink-go/v2/testing/fakekms"
	_ "github.com/tink-crypto/tink-go/v2/tink"
	_ "github.com/transparency-dev/merkle/proof"
	_ "github.com/transparency-dev/merkle/rfc6962"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/crypto/hkdf"
	_ "golang.org/x/mod/sumdb/note"
	_ "golang.org/x/mod/sumdb/tlog"
	_ "golang.org/x/text/unicode/norm"
	_ "modernc.org/sqlite"
)
