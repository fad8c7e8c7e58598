package encryption

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id cost parameters. The zero value of each field
// means the OWASP recommendation for argon2id: 19 MiB of memory, 2 passes,
// 1 lane, a 16-byte salt and a 32-byte hash.
type PasswordParams struct {
	// Memory is the memory cost in KiB; 0 means 19456 (19 MiB).
	Memory uint32
	// Time is the number of passes; 0 means 2.
	Time uint32
	// Threads is the degree of parallelism; 0 means 1.
	Threads uint8
	// SaltLen is the salt length in bytes; 0 means 16.
	SaltLen uint32
	// KeyLen is the hash length in bytes; 0 means 32.
	KeyLen uint32
}

// Limits on argon2id parameters, for hashing and for stored hashes: a
// stored string can never make verification use more than
// MaxPasswordMemory KiB of memory or more than MaxPasswordTime passes.
const (
	MaxPasswordMemory  = 256 * 1024 // KiB: 256 MiB
	MaxPasswordTime    = 16
	MaxPasswordThreads = 16
	minSaltLen         = 8
	maxSaltLen         = 64
	minKeyLen          = 16
	maxKeyLen          = 64
	maxPHCLen          = 256
)

// ErrInvalidHash reports a stored password hash that is not an argon2id PHC
// string privkit accepts: malformed, of another algorithm or version, or
// with parameters outside the limits.
var ErrInvalidHash = errors.New("encryption: invalid password hash")

// ErrPasswordParams reports PasswordParams outside the limits.
var ErrPasswordParams = errors.New("encryption: password parameters out of range")

// withDefaults returns p with zero fields replaced by the defaults.
func (p *PasswordParams) withDefaults() PasswordParams {
	var q PasswordParams
	if p != nil {
		q = *p
	}
	if q.Memory == 0 {
		q.Memory = 19456
	}
	if q.Time == 0 {
		q.Time = 2
	}
	if q.Threads == 0 {
		q.Threads = 1
	}
	if q.SaltLen == 0 {
		q.SaltLen = 16
	}
	if q.KeyLen == 0 {
		q.KeyLen = 32
	}
	return q
}

// check reports whether q is within the limits.
func (q PasswordParams) check() bool {
	return q.Threads >= 1 && q.Threads <= MaxPasswordThreads &&
		q.Memory >= 8*uint32(q.Threads) && q.Memory <= MaxPasswordMemory &&
		q.Time >= 1 && q.Time <= MaxPasswordTime &&
		q.SaltLen >= minSaltLen && q.SaltLen <= maxSaltLen &&
		q.KeyLen >= minKeyLen && q.KeyLen <= maxKeyLen
}

// HashPassword hashes password with argon2id and a fresh random salt and
// returns it in PHC string format, for example
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (unpadded standard base64).
// params nil means the OWASP defaults.
func HashPassword(password []byte, params *PasswordParams) (string, error) {
	q := params.withDefaults()
	if !q.check() {
		return "", ErrPasswordParams
	}
	salt := make([]byte, q.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("encryption: read random salt: %w", err)
	}
	hash := argon2.IDKey(password, salt, q.Time, q.Memory, q.Threads, q.KeyLen)
	return formatPHC(q, salt, hash), nil
}

func formatPHC(q PasswordParams, salt, hash []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, q.Memory, q.Time, q.Threads, b64.EncodeToString(salt), b64.EncodeToString(hash))
}

// VerifyPassword checks password against encoded, a hash from
// [HashPassword] (or any argon2id v=19 PHC string within the limits), in
// constant time. ok reports a match. needsRehash reports, when ok, that the
// hash was made with parameters other than params (nil: the defaults): hash
// the password again and store the new string. A malformed or out-of-limits
// encoded string returns an error wrapping ErrInvalidHash, never a panic
// and never a costly computation.
func VerifyPassword(password []byte, encoded string, params *PasswordParams) (ok, needsRehash bool, err error) {
	q, salt, hash, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey(password, salt, q.Time, q.Memory, q.Threads, uint32(len(hash)))
	if subtle.ConstantTimeCompare(got, hash) != 1 {
		return false, false, nil
	}
	return true, q != params.withDefaults(), nil
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" strictly: the
// parameters in this order, decimal without sign or leading zeros, salt and
// hash in unpadded canonical standard base64, everything within the limits.
func parsePHC(s string) (PasswordParams, []byte, []byte, error) {
	var q PasswordParams
	bad := func(why string) (PasswordParams, []byte, []byte, error) {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: %s", ErrInvalidHash, why)
	}
	if len(s) > maxPHCLen {
		return bad("too long")
	}
	// encoding/base64 skips line breaks even in strict mode; a canonical
	// PHC string has none.
	if strings.ContainsAny(s, "\r\n") {
		return bad("contains a line break")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return bad("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	ps := strings.Split(parts[3], ",")
	if len(ps) != 3 {
		return bad("want parameters m, t, p")
	}
	var vals [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(ps[i], name)
		if !ok {
			return bad("want parameters m, t, p in this order")
		}
		n, ok := parseDecimal(v)
		if !ok {
			return bad("parameter is not a canonical decimal")
		}
		vals[i] = n
	}
	if vals[2] == 0 || vals[2] > MaxPasswordThreads {
		return bad("parameters out of range")
	}
	q.Memory, q.Time, q.Threads = vals[0], vals[1], uint8(vals[2])
	b64 := base64.RawStdEncoding.Strict()
	if len(parts[4]) > b64.EncodedLen(maxSaltLen) || len(parts[5]) > b64.EncodedLen(maxKeyLen) {
		return bad("salt or hash too long")
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return bad("salt is not canonical unpadded base64")
	}
	hash, err := b64.DecodeString(parts[5])
	if err != nil {
		return bad("hash is not canonical unpadded base64")
	}
	q.SaltLen, q.KeyLen = uint32(len(salt)), uint32(len(hash))
	if !q.check() {
		return bad("parameters out of range")
	}
	return q, salt, hash, nil
}

// parseDecimal parses a canonical unsigned decimal that fits in 32 bits.
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
