package redact

import (
	"net/netip"
	"strings"
)

// IP addresses.
//
// IPv4: four decimal octets 0–255 separated by dots, without leading zeros,
// not part of a longer dotted sequence ("v1.2.3.4", "1.2.3.4.5" are not
// addresses) and not announced as a version ("version 1.3.0.1",
// "v 1.10.2.3", "rev. 2.0.1.4").
//
// IPv6: every textual form of RFC 4291 and RFC 5952 — full, with leading
// zeros dropped, compressed with "::", with an embedded IPv4 address
// ("::ffff:192.0.2.1", "64:ff9b::192.0.2.1") and with a zone
// ("fe80::1%eth0") — validated by net/netip. A candidate is a maximal run
// of hex digits, colons and dots holding at least two colons and two
// groups, not part of a word; "14:03", MAC addresses, C++ "a::b" and
// Python slices "x[::2]", "x[1::2]" (two decimal groups around "::") are
// not addresses (nor, therefore, are
// "::1" and "2001::" alone).

func findIPs(text string, dst []Finding) []Finding {
	return findIPsOf(text, true, true, dst)
}

// findIPsCounted is findIPs for a text with the counts c: it skips the
// scan for IPv4 addresses when c rules them out or fewer than three dots
// follow a digit, and the scan for IPv6 addresses when c rules them out.
func findIPsCounted(text string, c textCounts, dst []Finding) []Finding {
	return findIPsOf(text, needIPv4.metBy(&c) && digitDots(text, 3), needIPv6.metBy(&c), dst)
}

// findIPsOf scans text for IPv4 addresses if v4, and for IPv6 addresses
// (which must not overlap the IPv4 ones) if v6.
func findIPsOf(text string, v4, v6 bool, dst []Finding) []Finding {
	n4 := len(dst)
	if v4 {
		dst = findIPv4(text, dst)
	}
	if !v6 {
		return dst
	}
	return findIPv6(text, dst, dst[n4:])
}

// digitDots reports whether text holds at least n dots that follow a
// digit, as every IPv4 address holds three ("1.2.3.4").
func digitDots(text string, n int) bool {
	for off := 1; off < len(text); {
		k := strings.IndexByte(text[off:], '.')
		if k < 0 {
			return false
		}
		off += k
		if isDigit(text[off-1]) {
			if n--; n == 0 {
				return true
			}
		}
		off++
	}
	return false
}

func findIPv4(text string, dst []Finding) []Finding {
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		if wordBefore(text, i) || i > 0 && text[i-1] == '.' {
			i = skipDotted(text, i)
			continue
		}
		if end, ok := scanIPv4(text, i); ok && ipv4End(text, end) && !versionContext(text, i) {
			dst = append(dst, Finding{Kind: IPAddress, Start: i, End: end})
			i = end
			continue
		}
		i = skipDotted(text, i)
	}
	return dst
}

// versionContext reports whether the word before text[i] (across blanks)
// announces a version number: "version 1.3.0.1", "v 1.10.2.3", "rev. 2.0.1.4".
func versionContext(text string, i int) bool {
	j := i
	for j > 0 && (text[j-1] == ' ' || text[j-1] == '\t' || text[j-1] == '.' || text[j-1] == ':') && i-j < 4 {
		j--
	}
	k := j
	for k > 0 && isAlpha(text[k-1]) && j-k < 8 {
		k--
	}
	if wordBefore(text, k) {
		return false
	}
	switch w := text[k:j]; len(w) {
	case 1:
		return w == "v" || w == "V"
	default:
		for _, l := range []string{"ver", "version", "rev", "revision", "release", "build"} {
			if len(w) == len(l) && asciiEqualFold(w, l) {
				return true
			}
		}
	}
	return false
}

// ipv4End reports whether an IPv4 address may end before text[e]: not in
// a word, not followed by another dotted part.
func ipv4End(text string, e int) bool {
	if e == len(text) {
		return true
	}
	c := text[e]
	return !wordAt(text, e) && !(c == '.' && e+1 < len(text) && isAlnum(text[e+1]))
}

// skipDotted skips a run of word bytes and dots.
func skipDotted(text string, i int) int {
	for i < len(text) && (isWord(text[i]) || text[i] == '.') {
		i++
	}
	return i
}

// scanIPv4 reads a dotted quad at text[i:].
func scanIPv4(text string, i int) (int, bool) {
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(text) || text[i] != '.' {
				return i, false
			}
			i++
		}
		s, v := i, 0
		for i < len(text) && isDigit(text[i]) && i-s < 4 {
			v = v*10 + int(text[i]-'0')
			i++
		}
		if i == s || i-s > 3 || v > 255 || i-s > 1 && text[s] == '0' {
			return i, false
		}
	}
	return i, true
}

func isIPv6Char(c byte) bool { return isHex(c) || c == ':' || c == '.' }

func findIPv6(text string, dst []Finding, v4 []Finding) []Finding {
	for off := 0; ; {
		k := strings.IndexByte(text[off:], ':')
		if k < 0 {
			return dst
		}
		c := off + k
		// Expand to the maximal run of hex digits, colons and dots.
		s := c
		for s > off && isIPv6Char(text[s-1]) {
			s--
		}
		e := c
		for e < len(text) && isIPv6Char(text[e]) && e-s < 64 {
			e++
		}
		off = e
		if e-s >= 64 {
			for off < len(text) && isIPv6Char(text[off]) {
				off++
			}
			continue
		}
		if wordBefore(text, s) || s > 0 && text[s-1] == '%' {
			continue
		}
		cand := text[s:e]
		// Trim a sentence's final dot or colon.
		for len(cand) > 0 && (cand[len(cand)-1] == '.' || cand[len(cand)-1] == ':' && !strings.HasSuffix(cand, "::")) {
			cand = cand[:len(cand)-1]
		}
		if strings.Count(cand, ":") < 2 || hexGroups(cand) < 2 || sliceLike(cand) {
			continue
		}
		end := s + len(cand)
		if wordAt(text, end) {
			continue
		}
		a, err := netip.ParseAddr(cand)
		if err != nil || !a.Is6() {
			continue
		}
		// A zone: '%' and letters, digits, '_', '.', '-'.
		if end+1 < len(text) && text[end] == '%' && isZoneChar(text[end+1]) {
			z := end + 1
			for z < len(text) && isZoneChar(text[z]) && z-end <= 16 {
				z++
			}
			if _, err := netip.ParseAddr(text[s:z]); err == nil && !wordAt(text, z) {
				end = z
			}
		}
		dst = append(dst, Finding{Kind: IPAddress, Start: s, End: end})
		off = max(off, end)
	}
}

// hexGroups counts the non-empty colon-separated groups of an IPv6
// candidate.
func hexGroups(s string) int {
	n := 0
	for _, g := range strings.Split(s, ":") {
		if g != "" {
			n++
		}
	}
	return n
}

// sliceLike reports whether an IPv6 candidate with "::" has two groups of
// decimal digits only, like the Python slice "x[1::2]".
func sliceLike(s string) bool {
	if hexGroups(s) != 2 || !strings.Contains(s, "::") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != ':' {
			return false
		}
	}
	return true
}

func isZoneChar(c byte) bool { return isAlnum(c) || c == '_' || c == '.' || c == '-' }
