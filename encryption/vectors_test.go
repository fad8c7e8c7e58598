package encryption

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/secretdata"
	"golang.org/x/crypto/argon2"
)

type wycheproofFile struct {
	Algorithm  string `json:"algorithm"`
	TestGroups []struct {
		IVSize  int `json:"ivSize"`
		KeySize int `json:"keySize"`
		TagSize int `json:"tagSize"`
		Tests   []struct {
			TCID    int    `json:"tcId"`
			Comment string `json:"comment"`
			Key     string `json:"key"`
			IV      string `json:"iv"`
			AAD     string `json:"aad"`
			Msg     string `json:"msg"`
			CT      string `json:"ct"`
			Tag     string `json:"tag"`
			Result  string `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// loadJSON decodes a JSON file under testdata into v.
func loadJSON(t *testing.T, v any, path ...string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, path...)...))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, v))
}

// loadWycheproofAESGCM reads the Wycheproof AES-GCM vectors.
func loadWycheproofAESGCM(t *testing.T) wycheproofFile {
	t.Helper()
	var f wycheproofFile
	loadJSON(t, &f, "wycheproof", "aes_gcm_test.json")
	require.Equal(t, "AES-GCM", f.Algorithm)
	return f
}

// TestWycheproofAESGCM runs the Wycheproof AES-GCM vectors through the path
// privkit's records take: a Tink AES-GCM key (12-byte IV, 16-byte tag) with
// the TINK output prefix, in a keyset turned into primitives by
// newSourceKeys, exactly as a data source's record keyset is. Vectors with
// other IV or tag sizes, which privkit never uses, are skipped and counted.
func TestWycheproofAESGCM(t *testing.T) {
	t.Parallel()
	f := loadWycheproofAESGCM(t)

	streamKeys, err := generateSourceKeys() // any valid stream keyset
	require.NoError(t, err)
	ran, valid, invalid := 0, 0, 0
	for _, g := range f.TestGroups {
		if g.IVSize != 96 || g.TagSize != 128 || g.KeySize != 256 {
			continue // privkit's records use AES-256, 12-byte nonces, 16-byte tags only
		}
		for _, tc := range g.Tests {
			const keyID = 0x0a0b0c0d
			params, err := aesgcm.NewParameters(aesgcm.ParametersOpts{KeySizeInBytes: 32, IVSizeInBytes: 12, TagSizeInBytes: 16, Variant: aesgcm.VariantTink})
			require.NoError(t, err)
			key, err := aesgcm.NewKey(secretdata.NewBytesFromData(unhex(t, tc.Key), insecuresecretdataaccess.Token{}), keyID, params)
			require.NoError(t, err, "tcId %d", tc.TCID)
			m := keyset.NewManager()
			id, err := m.AddKey(key)
			require.NoError(t, err)
			require.NoError(t, m.SetPrimary(id))
			h, err := m.Handle()
			require.NoError(t, err)
			sk, err := newSourceKeys(h, streamKeys.stream, 1)
			require.NoError(t, err, "tcId %d: privkit must accept an AES-256-GCM keyset", tc.TCID)

			ct := binary.BigEndian.AppendUint32([]byte{1}, keyID)
			ct = append(ct, unhex(t, tc.IV)...)
			ct = append(ct, unhex(t, tc.CT)...)
			ct = append(ct, unhex(t, tc.Tag)...)
			pt, err := sk.aead.Decrypt(ct, unhex(t, tc.AAD))
			switch tc.Result {
			case "valid":
				valid++
				require.NoError(t, err, "tcId %d (%s) must open", tc.TCID, tc.Comment)
				assert.Equal(t, unhex(t, tc.Msg), append([]byte{}, pt...), "tcId %d plaintext", tc.TCID)
			case "invalid":
				invalid++
				assert.Error(t, err, "tcId %d (%s) must not open", tc.TCID, tc.Comment)
				assert.Nil(t, pt, "tcId %d: no plaintext on failure", tc.TCID)
			}
			ran++
		}
	}
	t.Logf("wycheproof AES-GCM: %d vectors through the record path (%d valid, %d invalid)", ran, valid, invalid)
	require.Greater(t, valid, 20, "the AES-256 12-byte-IV group must be exercised")
	require.Greater(t, invalid, 10, "invalid vectors (modified tags) must be exercised")
}

// TestWycheproofAESGCMStreamSegments runs the same vectors through the
// AES-GCM that privkit's streams drive themselves (newSegmentGCM), opening
// both into a fresh slice and in place, as the stream reader does, and
// sealing in place, as the stream writer does.
func TestWycheproofAESGCMStreamSegments(t *testing.T) {
	t.Parallel()
	f := loadWycheproofAESGCM(t)
	valid, invalid := 0, 0
	for _, g := range f.TestGroups {
		if g.IVSize != 96 || g.TagSize != 128 || g.KeySize != 256 {
			continue // stream segments use AES-256, 12-byte nonces, 16-byte tags only
		}
		for _, tc := range g.Tests {
			a, err := newSegmentGCM(unhex(t, tc.Key))
			require.NoError(t, err, "tcId %d", tc.TCID)
			iv, aad, msg := unhex(t, tc.IV), unhex(t, tc.AAD), unhex(t, tc.Msg)
			ct := append(unhex(t, tc.CT), unhex(t, tc.Tag)...)
			pt, err := a.Open(nil, iv, ct, aad)
			inPlace := bytes.Clone(ct)
			pt2, err2 := a.Open(inPlace[:0], iv, inPlace, aad)
			switch tc.Result {
			case "valid":
				valid++
				require.NoError(t, err, "tcId %d (%s) must open", tc.TCID, tc.Comment)
				require.NoError(t, err2, "tcId %d in place", tc.TCID)
				assert.Equal(t, msg, append([]byte{}, pt...), "tcId %d plaintext", tc.TCID)
				assert.Equal(t, msg, append([]byte{}, pt2...), "tcId %d plaintext in place", tc.TCID)
				buf := make([]byte, len(msg), len(msg)+16)
				copy(buf, msg)
				assert.Equal(t, ct, a.Seal(buf[:0], iv, buf, aad), "tcId %d sealed in place", tc.TCID)
			case "invalid":
				invalid++
				assert.Error(t, err, "tcId %d (%s) must not open", tc.TCID, tc.Comment)
				assert.Error(t, err2, "tcId %d in place", tc.TCID)
				assert.Nil(t, pt, "tcId %d: no plaintext on failure", tc.TCID)
				assert.Nil(t, pt2, "tcId %d: no plaintext on failure in place", tc.TCID)
			}
		}
	}
	t.Logf("wycheproof AES-GCM: %d valid and %d invalid vectors through the stream segment path", valid, invalid)
	require.Greater(t, valid, 20, "the AES-256 12-byte-IV group must be exercised")
	require.Greater(t, invalid, 10, "invalid vectors (modified tags) must be exercised")
}

// TestRecordKeysAreWycheproofPath: the keys privkit generates are the key
// type the Wycheproof test runs (AES-256-GCM, 12-byte IV, 16-byte tag,
// TINK prefix).
func TestRecordKeysAreWycheproofPath(t *testing.T) {
	t.Parallel()
	sk, err := generateSourceKeys()
	require.NoError(t, err)
	rot, err := sk.rotated()
	require.NoError(t, err)
	for _, h := range []*keyset.Handle{sk.record, rot.record} {
		for i := 0; i < h.Len(); i++ {
			e, err := h.Entry(i)
			require.NoError(t, err)
			k, ok := e.Key().(*aesgcm.Key)
			require.True(t, ok, "record keys are aesgcm keys")
			p := k.Parameters().(*aesgcm.Parameters)
			assert.Equal(t, 32, p.KeySizeInBytes())
			assert.Equal(t, 12, p.IVSizeInBytes())
			assert.Equal(t, 16, p.TagSizeInBytes())
			assert.Equal(t, aesgcm.VariantTink, p.Variant())
		}
	}
}

type argon2Vectors struct {
	PHC []struct {
		Password string `json:"password"`
		Encoded  string `json:"encoded"`
		HashHex  string `json:"hash_hex"`
	} `json:"phc_winner_test_c"`
	XCrypto []struct {
		T       uint32 `json:"t"`
		M       uint32 `json:"m_kib"`
		P       uint8  `json:"p"`
		HashHex string `json:"hash_hex"`
	} `json:"xcrypto"`
}

func loadArgon2Vectors(t *testing.T) argon2Vectors {
	t.Helper()
	var v argon2Vectors
	loadJSON(t, &v, "argon2", "argon2id_vectors.json")
	require.NotEmpty(t, v.PHC)
	require.NotEmpty(t, v.XCrypto)
	return v
}

// TestArgon2PHCVectors verifies the reference implementation's PHC strings
// with VerifyPassword, and their wrong-password twins fail. The 256 MiB
// vector runs only with PRIVKIT_SLOW_TESTS set.
func TestArgon2PHCVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadArgon2Vectors(t).PHC {
		t.Run(v.Encoded, func(t *testing.T) {
			t.Parallel()
			q, _, hash, err := parsePHC(v.Encoded)
			require.NoError(t, err)
			assert.Equal(t, unhex(t, v.HashHex), hash, "parsed hash")
			if q.Memory > 64*1024 && os.Getenv("PRIVKIT_SLOW_TESTS") == "" {
				t.Skip("256 MiB vector: set PRIVKIT_SLOW_TESTS=1 to run it")
			}
			ok, _, err := VerifyPassword([]byte(v.Password), v.Encoded, nil)
			require.NoError(t, err)
			assert.True(t, ok, "the reference hash must verify")
			if q.Memory <= 1024 { // the 64 MiB ones are slow under -race; "differentpassword" covers them
				ok, _, err = VerifyPassword([]byte(v.Password+"x"), v.Encoded, nil)
				require.NoError(t, err)
				assert.False(t, ok, "a different password must not verify")
			}
		})
	}
}

// TestArgon2XCryptoVectors pins the argon2id primitive privkit calls.
func TestArgon2XCryptoVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadArgon2Vectors(t).XCrypto {
		got := argon2.IDKey([]byte("password"), []byte("somesalt"), v.T, v.M, v.P, 24)
		assert.Equal(t, v.HashHex, hex.EncodeToString(got), "t=%d m=%d p=%d", v.T, v.M, v.P)
		// The same hash, as a PHC string, verifies through privkit's parser
		// when its parameters are within the limits.
		enc := formatPHC(PasswordParams{Memory: v.M, Time: v.T, Threads: v.P}, []byte("somesalt"), got)
		ok, _, err := VerifyPassword([]byte("password"), enc, nil)
		if v.M < 8*uint32(v.P) {
			assert.ErrorIs(t, err, ErrInvalidHash)
			continue
		}
		require.NoError(t, err, "%s", enc)
		assert.True(t, ok, "%s", enc)
		assert.True(t, strings.HasPrefix(enc, "$argon2id$v=19$"))
	}
}
