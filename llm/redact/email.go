package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// E-mail addresses: a local part of letters, digits and ._%+- (at most 64
// bytes, no leading, trailing or doubled dot), '@', and a domain of at
// least two dot-separated labels (letters, digits, inner hyphens; at most 63
// bytes each, 253 in all) whose last label, the TLD, is at least two letters
// or an IDNA "xn--" label. Letters may be non-ASCII (internationalized
// addresses, RFC 6531, and IDN domains: "jürgen@müller.de"), except letters
// of scripts written without spaces (Han, kana, Thai...), which bound an
// address instead ("请联系jane@example.com"). Quoted local parts and
// IP-literal domains are not recognized.
//
// The scanner jumps from '@' to '@' with strings.IndexByte and looks at most
// 64 bytes back and 253 forward, so it is linear in the text.

func isLocalChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainChar(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

func findEmails(text string, dst []Finding) []Finding {
	from := 0 // the previous match's end: no finding starts before it
	for off := 0; ; {
		i := strings.IndexByte(text[off:], '@')
		if i < 0 {
			return dst
		}
		at := off + i
		off = at + 1
		start, ok := emailLocalStart(text, at, from)
		if !ok {
			continue
		}
		end := emailDomainEnd(text, at+1)
		if end < 0 {
			continue
		}
		dst = append(dst, Finding{Kind: Email, Start: start, End: end})
		from, off = end, end
	}
}

// emailLocalStart returns where the local part ending before text[at] begins,
// looking no further back than from.
func emailLocalStart(text string, at, from int) (int, bool) {
	s := at
	for s > from && at-s <= 64 {
		if c := text[s-1]; c < utf8.RuneSelf {
			if !isLocalChar(c) {
				break
			}
			s--
			continue
		}
		r, n := utf8.DecodeLastRuneInString(text[:s])
		if !isWordRune(r) {
			break
		}
		s -= n
	}
	if at-s > 64 || s == at || s < from {
		return 0, false
	}
	// A doubled dot cannot be inside a local part: start after the last.
	if k := lastDoubleDot(text[s:at]); k >= 0 {
		s += k + 2
	}
	for s < at && text[s] == '.' {
		s++
	}
	if s == at || text[at-1] == '.' {
		return 0, false
	}
	return s, true
}

// emailDomainEnd returns the end of the domain starting at text[i], or -1.
func emailDomainEnd(text string, i int) int {
	e := i
	for e < len(text) && e-i <= 253 {
		if c := text[e]; c < utf8.RuneSelf {
			if !isDomainChar(c) {
				break
			}
			e++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[e:])
		if !isWordRune(r) || r == '_' {
			break
		}
		e += n
	}
	if e-i > 253 {
		return -1
	}
	// A domain followed by a non-ASCII letter is part of a longer word.
	if wordAt(text, e) {
		return -1
	}
	dom := text[i:e]
	// Cut at the first empty label (".." or a leading dot).
	if k := firstDoubleDot(dom); k >= 0 {
		dom = dom[:k]
	}
	// Drop trailing dots and hyphens (end of sentence, dash).
	dom = trimDotsDashes(dom)
	// Drop trailing labels until the last one is a valid TLD.
	for {
		dot := strings.LastIndexByte(dom, '.')
		if dot <= 0 {
			return -1
		}
		if validTLD(dom[dot+1:]) {
			break
		}
		dom = trimDotsDashes(dom[:dot])
	}
	if !validLabels(dom) {
		return -1
	}
	return i + len(dom)
}

// validLabels reports whether every label of the domain dom is 1-63 bytes
// with no hyphen at either end.
func validLabels(dom string) bool {
	start := 0
	for k := 0; k <= len(dom); k++ {
		if k < len(dom) && dom[k] != '.' {
			continue
		}
		if n := k - start; n == 0 || n > 63 || dom[start] == '-' || dom[k-1] == '-' {
			return false
		}
		start = k + 1
	}
	return true
}

// firstDoubleDot is strings.Index(s, ".."), without its search machinery
// for the short strings of an address.
func firstDoubleDot(s string) int {
	for k := 0; k+1 < len(s); k++ {
		if s[k] == '.' && s[k+1] == '.' {
			return k
		}
	}
	return -1
}

// lastDoubleDot is strings.LastIndex(s, "..").
func lastDoubleDot(s string) int {
	for k := len(s) - 2; k >= 0; k-- {
		if s[k] == '.' && s[k+1] == '.' {
			return k
		}
	}
	return -1
}

// trimDotsDashes is strings.TrimRight(s, ".-").
func trimDotsDashes(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '.' || s[len(s)-1] == '-') {
		s = s[:len(s)-1]
	}
	return s
}

func validTLD(t string) bool {
	if len(t) < 2 || len(t) > 63 {
		return false
	}
	if len(t) > 4 && (t[:4] == "xn--" || t[:4] == "XN--") {
		return true
	}
	for _, r := range t {
		if r < utf8.RuneSelf && !isAlpha(byte(r)) || r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsMark(r) {
			return false
		}
	}
	return true
}
