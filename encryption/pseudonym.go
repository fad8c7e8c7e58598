package encryption

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/netip"
)

// Pseudonymizer turns identifiers (IP addresses, user IDs) into keyed,
// deterministic pseudonyms: the same key, domain and identifier always give
// the same pseudonym, so logs can still be joined and abuse counted, while
// without the key the identifier cannot be recovered or even tested by
// guessing. It is safe for concurrent use.
type Pseudonymizer struct {
	key []byte
}

// ErrShortKey reports a pseudonym key shorter than 32 bytes.
var ErrShortKey = errors.New("encryption: pseudonym key must be at least 32 bytes")

// NewPseudonymizer returns a Pseudonymizer keyed by key, which must be at
// least 32 random bytes and kept secret like any key. The key is copied.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < 32 {
		return nil, ErrShortKey
	}
	return &Pseudonymizer{key: append([]byte(nil), key...)}, nil
}

// Pseudonym returns the pseudonym of id in domain (such as "ip" or "user"):
// HMAC-SHA256 under the key of the length-prefixed domain and id, as 43
// characters of unpadded URL-safe base64. Domains separate uses: the same
// id gives unrelated pseudonyms in different domains.
func (p *Pseudonymizer) Pseudonym(domain, id string) string {
	m := hmac.New(sha256.New, p.key)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(domain)))
	m.Write(n[:])
	m.Write([]byte(domain))
	binary.BigEndian.PutUint64(n[:], uint64(len(id)))
	m.Write(n[:])
	m.Write([]byte(id))
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(m.Sum(sum[:0]))
}

// IP returns the pseudonym of addr in the domain "ip". An IPv4-mapped IPv6
// address and its IPv4 form give the same pseudonym; a zone is ignored.
// The zero (invalid) Addr gives "".
func (p *Pseudonymizer) IP(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	return p.Pseudonym("ip", addr.Unmap().WithZone("").String())
}

// String returns a redacted description.
func (p *Pseudonymizer) String() string { return "encryption.Pseudonymizer(REDACTED)" }

// LogValue implements [slog.LogValuer] with a redacted value.
func (p *Pseudonymizer) LogValue() slog.Value { return slog.StringValue(p.String()) }

// TruncateIP keeps the network part of addr that security logs need and
// drops the rest: the /24 of an IPv4 address and the /48 of an IPv6 one.
// An IPv4-mapped IPv6 address is truncated as IPv4 and returned in IPv4
// form; a zone is dropped. The zero Addr is returned unchanged.
func TruncateIP(addr netip.Addr) netip.Addr {
	if !addr.IsValid() {
		return netip.Addr{}
	}
	addr = addr.Unmap().WithZone("")
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	pfx, err := addr.Prefix(bits)
	if err != nil {
		return netip.Addr{}
	}
	return pfx.Addr()
}
