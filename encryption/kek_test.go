package encryption

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
)

func TestLocalKEKFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "master.kek")
	pass := []byte("a long passphrase")
	require.NoError(t, kek.writeFile(path, pass, cheapKEKFile))

	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "KEK file is private")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	assert.ErrorIs(t, kek.WriteFile(path, pass), fs.ErrExist, "an existing KEK file is never overwritten")

	opened, err := OpenLocalKEKFile(path, pass)
	require.NoError(t, err)
	// Keysets wrapped by the original open with the reopened KEK.
	store := NewMemoryKeyStore()
	k1, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	ct, err := k1.Encrypt(ctx, "s", []byte("hi"), nil)
	require.NoError(t, err)
	k2, err := NewKeyring(store, opened, nil)
	require.NoError(t, err)
	pt, err := k2.Decrypt(ctx, "s", ct, nil)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(pt))

	_, err = OpenLocalKEKFile(path, []byte("a long passphrasE"))
	assert.ErrorIs(t, err, ErrDecrypt, "wrong passphrase")
	assert.Equal(t, "encryption: open KEK file (wrong passphrase or altered file): message authentication failed", err.Error(), "package prefix once")

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, i := range []int{0, len(kekFileMagic) + 12, len(raw) - 1} {
		mut := bytes.Clone(raw)
		mut[i] ^= 1
		_, err := parseLocalKEK(mut, pass)
		assert.Error(t, err, "flipped byte %d", i)
	}
	_, err = OpenLocalKEKFile(filepath.Join(t.TempDir(), "missing"), pass)
	assert.Error(t, err)
	assert.Error(t, kek.WriteFile(filepath.Join(t.TempDir(), "x"), nil), "empty passphrase refused")
}

// cheapKEKFile keeps tests fast; WriteFile itself uses kekFileParams.
var cheapKEKFile = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestLocalKEKWriteFileDefaults checks the real parameters once.
func TestLocalKEKWriteFileDefaults(t *testing.T) {
	t.Parallel()
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "master.kek")
	require.NoError(t, kek.WriteFile(path, []byte("pw")))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	q, _, _, _, err := parseKEKFileHeader(raw)
	require.NoError(t, err)
	assert.Equal(t, uint32(64*1024), q.Memory, "64 MiB")
	assert.Equal(t, uint32(3), q.Time)
	// Opening it costs the same argon2 run again; TestLocalKEKFile covers
	// the round trip with cheap parameters.
}

func TestKEKFileRejectsAbsurdParams(t *testing.T) {
	t.Parallel()
	for _, q := range []PasswordParams{
		{Memory: 1 << 31, Time: 1, Threads: 1},
		{Memory: 64, Time: 1 << 30, Threads: 1},
		{Memory: 64, Time: 1, Threads: 200},
	} {
		h := kekFileHeader(q, make([]byte, 16))
		_, err := parseLocalKEK(append(h, 1, 2, 3), []byte("p"))
		assert.ErrorIs(t, err, ErrInvalidKEKFile, "%+v must be refused before any argon2 work", q)
	}
	_, err := parseLocalKEK([]byte("not a kek file"), []byte("p"))
	assert.ErrorIs(t, err, ErrInvalidKEKFile)
}

func TestLocalKEKRedacted(t *testing.T) {
	t.Parallel()
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	assert.Equal(t, "encryption.LocalKEK(REDACTED)", fmt.Sprint(kek))
	assert.Equal(t, "encryption.LocalKEK(REDACTED)", kek.LogValue().String())
}

func TestNewLocalKEKRejectsOtherKeyTypes(t *testing.T) {
	t.Parallel()
	h, err := keyset.NewHandle(mac.HMACSHA256Tag256KeyTemplate())
	require.NoError(t, err)
	_, err = NewLocalKEK(h)
	assert.Error(t, err)
	h, err = keyset.NewHandle(aead.AES128GCMKeyTemplate())
	require.NoError(t, err)
	_, err = NewLocalKEK(h)
	assert.Error(t, err, "AES-128 is not accepted as a KEK")
	_, err = NewLocalKEK(nil)
	assert.Error(t, err)
}

func FuzzKEKFile(f *testing.F) {
	kek, err := GenerateLocalKEK()
	require.NoError(f, err)
	path := filepath.Join(f.TempDir(), "k")
	require.NoError(f, kek.writeFile(path, []byte("pw"), cheapKEKFile))
	raw, err := os.ReadFile(path)
	require.NoError(f, err)
	f.Add(raw)
	f.Add([]byte(kekFileMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.Clone(b)
		// Keep the fuzzer off expensive argon2 parameters that are legal.
		if len(b) >= len(kekFileMagic)+8 {
			if m := binary.BigEndian.Uint32(b[len(kekFileMagic):]); m > 1024 {
				binary.BigEndian.PutUint32(b[len(kekFileMagic):], 64)
			}
			if tt := binary.BigEndian.Uint32(b[len(kekFileMagic)+4:]); tt > 2 {
				binary.BigEndian.PutUint32(b[len(kekFileMagic)+4:], 1)
			}
		}
		k, err := parseLocalKEK(b, []byte("pw"))
		if err == nil && k == nil {
			t.Fatal("nil KEK without error")
		}
	})
}
