package encryption

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cheap are small parameters that keep tests fast.
var cheap = &PasswordParams{Memory: 64, Time: 1, Threads: 1}

func TestHashAndVerifyPassword(t *testing.T) {
	t.Parallel()
	enc, err := HashPassword([]byte("correct horse"), cheap)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$"), "PHC string: %s", enc)
	assert.NotContains(t, enc, "correct horse")

	ok, rehash, err := VerifyPassword([]byte("correct horse"), enc, cheap)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash, "same parameters: no rehash")

	ok, rehash, err = VerifyPassword([]byte("correct horsf"), enc, cheap)
	require.NoError(t, err)
	assert.False(t, ok, "wrong password")
	assert.False(t, rehash, "needsRehash is only reported on a match")

	enc2, err := HashPassword([]byte("correct horse"), cheap)
	require.NoError(t, err)
	assert.NotEqual(t, enc, enc2, "a fresh salt each time")
}

func TestPasswordNeedsRehash(t *testing.T) {
	t.Parallel()
	enc, err := HashPassword([]byte("pw"), cheap)
	require.NoError(t, err)
	tests := []struct {
		name   string
		params *PasswordParams
		want   bool
	}{
		{"same", cheap, false},
		{"more memory", &PasswordParams{Memory: 128, Time: 1, Threads: 1}, true},
		{"more passes", &PasswordParams{Memory: 64, Time: 2, Threads: 1}, true},
		{"more lanes", &PasswordParams{Memory: 64, Time: 1, Threads: 2}, true},
		{"longer hash", &PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 64}, true},
		{"defaults (OWASP) are stronger", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := VerifyPassword([]byte("pw"), enc, tc.params)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, tc.want, rehash)
		})
	}
}

func TestDefaultPasswordParams(t *testing.T) {
	t.Parallel()
	q := (*PasswordParams)(nil).withDefaults()
	assert.Equal(t, PasswordParams{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, q, "OWASP argon2id: m=19 MiB, t=2, p=1")
	enc, err := HashPassword([]byte("pw"), nil)
	require.NoError(t, err)
	assert.Contains(t, enc, "$m=19456,t=2,p=1$")
}

func TestHashPasswordRejectsAbsurdParams(t *testing.T) {
	t.Parallel()
	for _, p := range []*PasswordParams{
		{Memory: MaxPasswordMemory + 1},
		{Time: MaxPasswordTime + 1},
		{Threads: MaxPasswordThreads + 1},
		{Memory: 8, Threads: 2}, // argon2 needs 8 KiB per lane
		{SaltLen: 4},
		{KeyLen: 8},
		{KeyLen: 1 << 20},
	} {
		_, err := HashPassword([]byte("pw"), p)
		assert.ErrorIs(t, err, ErrPasswordParams, "%+v", *p)
	}
}

func TestVerifyPasswordRejectsMalformed(t *testing.T) {
	t.Parallel()
	good := "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	_, _, err := VerifyPassword([]byte("x"), good, nil)
	require.NoError(t, err, "test precondition: the base string parses")
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"argon2d", strings.Replace(good, "argon2id", "argon2d", 1)},
		{"old version", strings.Replace(good, "v=19", "v=16", 1)},
		{"no version", strings.Replace(good, "$v=19", "", 1)},
		{"params out of order", strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1)},
		{"extra param", strings.Replace(good, "p=1", "p=1,keyid=x", 1)},
		{"leading zero", strings.Replace(good, "m=64", "m=064", 1)},
		{"sign", strings.Replace(good, "m=64", "m=+64", 1)},
		{"negative", strings.Replace(good, "t=1", "t=-1", 1)},
		{"overflow", strings.Replace(good, "m=64", "m=99999999999", 1)},
		{"absurd memory (4 TiB)", strings.Replace(good, "m=64", "m=4294967295", 1)},
		{"memory just over the limit", strings.Replace(good, "m=64", "m=262145", 1)},
		{"absurd time", strings.Replace(good, "t=1", "t=4294967295", 1)},
		{"zero time", strings.Replace(good, "t=1", "t=0", 1)},
		{"zero lanes", strings.Replace(good, "p=1", "p=0", 1)},
		{"too many lanes", strings.Replace(good, "p=1", "p=255", 1)},
		{"padded base64", good + "="},
		{"non-canonical base64", strings.Replace(good, "c29tZXNhbHQ", "c29tZXNhbHR", 1)},
		{"url base64", strings.Replace(good, "c29tZXNhbHQ", "c29tZXNh-HQ", 1)},
		{"short salt", strings.Replace(good, "c29tZXNhbHQ", "c29tZQ", 1)},
		{"short hash", strings.Replace(good, "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "CTFhFdXPJO1aFaMa", 1)},
		{"huge hash", strings.Replace(good, "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", strings.Repeat("A", 200), 1)},
		{"trailing field", good + "$x"},
		{"no leading $", good[1:]},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"very long", good + strings.Repeat("A", 10000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := VerifyPassword([]byte("password"), tc.enc, nil)
			assert.ErrorIs(t, err, ErrInvalidHash)
			assert.False(t, ok)
			assert.False(t, rehash)
			if err != nil {
				assert.True(t, strings.HasPrefix(err.Error(), "encryption: "), "message: %v", err)
			}
		})
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2i$v=19$m=1,t=1,p=1$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		q, salt, hash, err := parsePHC(s)
		if err != nil {
			return
		}
		// Whatever parsed is within the limits, and re-encodes to itself.
		if !q.check() || q.Memory > MaxPasswordMemory || q.Time > MaxPasswordTime {
			t.Fatalf("accepted out-of-limits parameters %+v", q)
		}
		if got := formatPHC(q, salt, hash); got != s {
			t.Fatalf("parse/format round trip: %q -> %q", s, got)
		}
	})
}
