package encryption

import (
	"bytes"
	"net/netip"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPseudonym(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32) // test-only key; use 32 random bytes
	p, err := NewPseudonymizer(key)
	require.NoError(t, err)
	a := p.Pseudonym("user", "alice")
	assert.Equal(t, a, p.Pseudonym("user", "alice"), "deterministic")
	assert.NotEqual(t, a, p.Pseudonym("user", "bob"), "different ids")
	assert.NotEqual(t, a, p.Pseudonym("ip", "alice"), "domains separate")
	assert.NotEqual(t, p.Pseudonym("a", "bc"), p.Pseudonym("ab", "c"), "domain and id are length-prefixed")
	assert.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`), a, "URL-safe text")
	assert.NotContains(t, a, "alice")

	key[0] ^= 1 // NewPseudonymizer copied the key
	assert.Equal(t, a, p.Pseudonym("user", "alice"), "the key was copied")
	q, err := NewPseudonymizer(key)
	require.NoError(t, err)
	assert.NotEqual(t, a, q.Pseudonym("user", "alice"), "another key, another pseudonym")

	_, err = NewPseudonymizer(make([]byte, 31))
	assert.ErrorIs(t, err, ErrShortKey)
	assert.NotContains(t, p.String(), "\x07")
}

func TestPseudonymIP(t *testing.T) {
	t.Parallel()
	p, err := NewPseudonymizer(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	v4 := netip.MustParseAddr("192.0.2.33")
	mapped := netip.MustParseAddr("::ffff:192.0.2.33")
	assert.Equal(t, p.IP(v4), p.IP(mapped), "IPv4-mapped IPv6 is the same address")
	assert.Equal(t, p.Pseudonym("ip", "192.0.2.33"), p.IP(v4))
	assert.Equal(t, p.IP(netip.MustParseAddr("fe80::1")), p.IP(netip.MustParseAddr("fe80::1%eth0")), "zone ignored")
	assert.Empty(t, p.IP(netip.Addr{}), "no pseudonym for no address")
}

func TestTruncateIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		reason         string
	}{
		{"ipv4", "192.0.2.133", "192.0.2.0", "IPv4 keeps its /24"},
		{"ipv4 already truncated", "10.1.2.0", "10.1.2.0", "idempotent"},
		{"ipv4 broadcast", "255.255.255.255", "255.255.255.0", "host bits cleared"},
		{"ipv6", "2001:db8:abcd:1234:5678::1", "2001:db8:abcd::", "IPv6 keeps its /48"},
		{"ipv6 zone", "fe80::1:2:3%eth0", "fe80::", "zone dropped"},
		{"ipv4-mapped", "::ffff:198.51.100.7", "198.51.100.0", "mapped addresses truncate as IPv4"},
		{"loopback6", "::1", "::", "host part gone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := TruncateIP(netip.MustParseAddr(tc.in))
			assert.Equal(t, tc.want, got.String(), tc.reason)
			assert.Equal(t, got, TruncateIP(got), "truncating twice changes nothing")
		})
	}
	assert.False(t, TruncateIP(netip.Addr{}).IsValid(), "the zero Addr stays zero")
}

// TestPseudonymGolden pins the pseudonym format: pseudonyms stored in logs
// must match the ones computed after an upgrade. The expected values were
// computed independently (Python hmac: HMAC-SHA256 of the 8-byte big-endian
// length-prefixed domain and id, unpadded URL-safe base64).
func TestPseudonymGolden(t *testing.T) {
	t.Parallel()
	p, err := NewPseudonymizer(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	for _, tc := range []struct{ domain, id, want string }{
		{"ip", "192.0.2.1", "vdPzTNpkaJSbrx69aLKB_lLXar_9N1s6uURDL7J0r6c"},
		{"user", "u_42", "rbYGnxvhLo8_5zdceAOXL6SlV2W7mJ60N4fiNeD00Xo"},
		{"", "", "REV2JCGGHFy4Itr1oXV5KNpEQDCcDd7rIKSVHOgFPfA"},
	} {
		assert.Equal(t, tc.want, p.Pseudonym(tc.domain, tc.id), "%q/%q", tc.domain, tc.id)
	}
}
