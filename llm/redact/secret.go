package redact

import (
	"bytes"
	"strings"
)

// Secrets: API keys and tokens with a documented, recognisable shape.
//
//   - OpenAI: "sk-", optionally "proj-", "svcacct-" or "admin-", then at
//     least 20 characters of [A-Za-z0-9_-] with a letter and a digit.
//   - Anthropic: "sk-ant-" (api03-, admin01-, ...) likewise.
//   - AWS access key IDs: AKIA, ASIA (and the other IAM unique-ID prefixes
//     ABIA, ACCA) then 16 capitals or digits; secret access keys (40
//     characters of [A-Za-z0-9/+]) when labelled aws_secret_access_key,
//     AWS_SECRET_ACCESS_KEY or SecretAccessKey, followed by '=' or ':'.
//   - GitHub: classic tokens ghp_, gho_, ghu_, ghs_, ghr_ then 36 letters or
//     digits; fine-grained tokens github_pat_ then at least 50 of
//     [A-Za-z0-9_].
//   - Stripe: sk_live_, rk_live_, sk_test_, rk_test_ then at least 16
//     letters or digits.
//   - Slack: xoxa-, xoxb-, xoxp-, xoxr-, xoxs- then at least 10 of
//     [A-Za-z0-9-].
//   - Google API keys: "AIza" then 35 of [A-Za-z0-9_-].
//   - JWTs: three base64url segments separated by dots, the first two
//     starting "eyJ" (a JSON object), the signature possibly empty.
//   - PEM private keys: from "-----BEGIN ... PRIVATE KEY-----" to the
//     matching END line (to the end of the text if it is cut off).
//
// Token prefixes are found in one pass over the text (only at the start of
// a token), labels and PEM headers with strings.Index; each candidate is
// then scanned forward: linear in the text.

type secretRule struct {
	prefix string
	// match returns the end of the secret that starts at text[i] (where
	// prefix was found), or -1.
	match func(text string, i int) int
	// needs flags a byte that every such secret holds (see textCounts).
	needs uint16
}

var secretRules = []secretRule{
	{"sk-", matchOpenAI, hasDash},
	{"AKIA", matchAWSKeyID, hasA},
	{"ASIA", matchAWSKeyID, hasA},
	{"ABIA", matchAWSKeyID, hasA},
	{"ACCA", matchAWSKeyID, hasA},
	{"ghp_", matchGitHubClassic, hasUnderscore},
	{"gho_", matchGitHubClassic, hasUnderscore},
	{"ghu_", matchGitHubClassic, hasUnderscore},
	{"ghs_", matchGitHubClassic, hasUnderscore},
	{"ghr_", matchGitHubClassic, hasUnderscore},
	{"github_pat_", matchGitHubFine, hasUnderscore},
	{"sk_live_", matchStripe, hasUnderscore},
	{"rk_live_", matchStripe, hasUnderscore},
	{"sk_test_", matchStripe, hasUnderscore},
	{"rk_test_", matchStripe, hasUnderscore},
	{"xox", matchSlack, hasDash}, // "xoxb-"
	{"AIza", matchGoogle, hasA},
	{"eyJ", matchJWT, hasJ},
}

// minSecretLen is the length of the shortest secret a rule matches: a
// Slack token, "xoxb-" and 10 more.
const minSecretLen = 15

// Labels that announce an AWS secret access key.
var awsSecretLabels = []string{"ecret_access_key", "ECRET_ACCESS_KEY", "ecretAccessKey"}

// awsLabelNeeds flags, for each of awsSecretLabels, the bytes it holds of
// those a secret holds one of (secretBytes): a text with none of them holds
// no such label.
var awsLabelNeeds = func() []uint16 {
	n := make([]uint16, len(awsSecretLabels))
	for i, l := range awsSecretLabels {
		n[i] = countText(l).seen & secretBytes
	}
	return n
}()

// secretByFirst lists, for each byte, the rules whose prefix starts with
// it, in secretRules order.
var secretByFirst = func() (t [256][]secretRule) {
	for _, r := range secretRules {
		t[r.prefix[0]] = append(t[r.prefix[0]], r)
	}
	return t
}()

// secretByte holds, for each byte, what findSecretPrefixes needs to know
// about it as the byte before a token, as a token's first byte and as its
// second: bits 16-23 are all set if it is not a token character; bits
// 8-15 and 0-7 have a bit per first byte of the prefixes (in order of first
// appearance in secretRules), set in 8-15 for that first byte and in 0-7 if
// some prefix with that first byte has the byte second.
// secretGroupNeeds has, per bit, the needs of its rules.
var secretByte, secretGroupNeeds = func() (t [256]uint32, needs [8]uint16) {
	var groups []byte
	for _, r := range secretRules {
		k := bytes.IndexByte(groups, r.prefix[0])
		if k < 0 {
			k = len(groups)
			groups = append(groups, r.prefix[0])
		}
		t[r.prefix[0]] |= 1 << (8 + k)
		t[r.prefix[1]] |= 1 << k
		needs[k] |= r.needs
	}
	if len(groups) > 8 {
		panic("redact: too many secret prefix groups")
	}
	for c := range t {
		if !isTokenChar(byte(c)) {
			t[c] |= 0xFF << 16
		}
	}
	return t, needs
}()

// secretBytes flags the bytes of which every secret holds one: '-' ("sk-",
// "xoxb-", PEM), '_' (GitHub, Stripe, AWS labels), 'A' (AWS key IDs,
// "AIza", "SecretAccessKey") or 'J' ("eyJ").
const secretBytes = hasDash | hasUnderscore | hasA | hasJ

func findSecrets(text string, dst []Finding) []Finding {
	return findSecretsSeen(text, ^uint16(0), dst)
}

// findSecretsCounted is findSecrets for a text with the counts c: it skips
// the searches for labels and headers whose bytes the text lacks.
func findSecretsCounted(text string, c textCounts, dst []Finding) []Finding {
	return findSecretsSeen(text, c.seen, dst)
}

// findSecretsSeen is findSecrets for a text that holds none of the flagged
// bytes (see textCounts.seen) that seen does not flag.
func findSecretsSeen(text string, seen uint16, dst []Finding) []Finding {
	dst = findSecretPrefixes(text, seen, dst)
	for j, l := range awsSecretLabels {
		if seen&awsLabelNeeds[j] != 0 {
			dst = findAWSSecrets(text, l, dst)
		}
	}
	if seen&hasDashDash == 0 {
		return dst // no PEM header
	}
	return findPEM(text, dst)
}

// findAWSSecrets finds the AWS secret access keys that follow the label l.
func findAWSSecrets(text, l string, dst []Finding) []Finding {
	for off := 0; ; {
		k := indexLabel(text[off:], l)
		if k < 0 {
			return dst
		}
		off += k + len(l)
		if s, e := matchAWSSecret(text, off); e > 0 {
			dst = append(dst, Finding{Kind: Secret, Start: s, End: e})
			off = e
		}
	}
}

// findSecretPrefixes finds the secrets of secretRules in one pass: at each
// token start whose first two bytes begin some prefix, it tries the rules
// with that first byte. The rules that need a flag seen lacks are not
// tried.
func findSecretPrefixes(text string, seen uint16, dst []Finding) []Finding {
	var groups uint8 // the prefix groups whose rules may match
	for k, n := range secretGroupNeeds {
		if seen&n != 0 {
			groups |= 1 << k
		}
	}
	if groups == 0 {
		return dst
	}
	// No secret starts after last; text[i+1] is always in bounds. The
	// classes of text[i-1], text[i] and text[i+1] roll through prev, cur
	// and next.
	last := len(text) - minSecretLen
	if last < 0 {
		return dst
	}
	prev, cur := uint32(0xFF<<16), secretByte[text[0]] // nothing before text[0]
	for i := 0; i <= last; i++ {
		next := secretByte[text[i+1]]
		m := uint8(prev>>16) & uint8(cur>>8) & uint8(next) & groups
		prev, cur = cur, next
		if m == 0 {
			continue
		}
		for _, r := range secretByFirst[text[i]] {
			if seen&r.needs == 0 || !strings.HasPrefix(text[i:], r.prefix) {
				continue
			}
			if e := r.match(text, i); e > 0 {
				dst = append(dst, Finding{Kind: Secret, Start: i, End: e})
				i = e - 1
				prev = secretByte[text[i]]
				if e < len(text) {
					cur = secretByte[text[e]]
				}
				break
			}
		}
	}
	return dst
}

// indexLabel is strings.Index(s, l) for the AWS labels, which all have 'c'
// or 'C' second: it looks for that rarer byte rather than 'e' (the most
// common letter of English prose, where strings.Index would stop at every
// one).
func indexLabel(s, l string) int {
	for off := 1; off < len(s); {
		k := strings.IndexByte(s[off:], l[1])
		if k < 0 {
			return -1
		}
		i := off + k - 1
		if strings.HasPrefix(s[i:], l) {
			return i
		}
		off += k + 1
	}
	return -1
}

// isTokenChar: characters of base64url tokens; a secret must not continue one.
func isTokenChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// run returns the end of the run of bytes satisfying ok from text[i].
func run(text string, i int, ok func(byte) bool) int {
	for i < len(text) && ok(text[i]) {
		i++
	}
	return i
}

func matchOpenAI(text string, i int) int {
	e := run(text, i+3, isTokenChar)
	body := text[i+3 : e]
	for _, p := range []string{"proj-", "svcacct-", "admin-", "ant-"} {
		if strings.HasPrefix(body, p) {
			body = body[len(p):]
			break
		}
	}
	if len(body) < 20 || !strings.ContainsAny(body, "0123456789") || !hasLetter(body) {
		return -1
	}
	return e
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if isAlpha(s[i]) {
			return true
		}
	}
	return false
}

func isUpperDigit(c byte) bool { return isUpper(c) || isDigit(c) }

func matchAWSKeyID(text string, i int) int {
	e := run(text, i+4, isUpperDigit)
	if e-i != 20 || e < len(text) && isTokenChar(text[e]) {
		return -1
	}
	return e
}

func matchAWSSecret(text string, i int) (int, int) {
	// Optional closing quote of a key, blanks, '=' or ':', blanks, quote.
	if i < len(text) && (text[i] == '"' || text[i] == '\'') {
		i++
	}
	i = run(text, i, func(c byte) bool { return c == ' ' || c == '\t' })
	if i >= len(text) || text[i] != '=' && text[i] != ':' {
		return 0, -1
	}
	i++
	i = run(text, i, func(c byte) bool { return c == ' ' || c == '\t' })
	if i < len(text) && (text[i] == '"' || text[i] == '\'') {
		i++
	}
	e := run(text, i, func(c byte) bool { return isAlnum(c) || c == '/' || c == '+' })
	if e-i != 40 || e < len(text) && (text[e] == '=' || isTokenChar(text[e])) {
		return 0, -1
	}
	return i, e
}

func matchGitHubClassic(text string, i int) int {
	e := run(text, i+4, isAlnum)
	if e-i-4 != 36 || e < len(text) && isTokenChar(text[e]) {
		return -1
	}
	return e
}

func matchGitHubFine(text string, i int) int {
	e := run(text, i+11, func(c byte) bool { return isAlnum(c) || c == '_' })
	if e-i-11 < 50 || e < len(text) && text[e] == '-' {
		return -1
	}
	return e
}

func matchStripe(text string, i int) int {
	e := run(text, i+8, isAlnum)
	if e-i-8 < 16 || e < len(text) && isTokenChar(text[e]) {
		return -1
	}
	return e
}

func matchSlack(text string, i int) int {
	if i+5 > len(text) || !strings.ContainsRune("abprs", rune(text[i+3])) || text[i+4] != '-' {
		return -1
	}
	e := run(text, i+5, func(c byte) bool { return isAlnum(c) || c == '-' })
	if e-i-5 < 10 || e < len(text) && text[e] == '_' {
		return -1
	}
	return e
}

func matchGoogle(text string, i int) int {
	e := run(text, i+4, isTokenChar)
	if e-i-4 != 35 {
		return -1
	}
	return e
}

func matchJWT(text string, i int) int {
	h := run(text, i, isTokenChar)
	if h-i < 10 || h+4 > len(text) || text[h] != '.' || text[h+1:h+4] != "eyJ" {
		return -1
	}
	p := run(text, h+1, isTokenChar)
	if p-h-1 < 10 || p >= len(text) || text[p] != '.' {
		return -1
	}
	e := run(text, p+1, isTokenChar)
	if e < len(text) && text[e] == '.' && e+1 < len(text) && isTokenChar(text[e+1]) {
		return -1 // a fourth segment: JWE or something else
	}
	return e
}

// findPEM finds PEM private key blocks.
func findPEM(text string, dst []Finding) []Finding {
	const begin = "-----BEGIN "
	for off := 0; ; {
		k := strings.Index(text[off:], begin)
		if k < 0 {
			return dst
		}
		s := off + k
		off = s + len(begin)
		// The label: capitals, digits and spaces, then "PRIVATE KEY-----".
		l := run(text, off, func(c byte) bool { return isUpperDigit(c) || c == ' ' })
		if !strings.HasSuffix(text[off:l], "PRIVATE KEY") || !strings.HasPrefix(text[l:], "-----") {
			continue
		}
		label := text[off:l]
		endLine := "-----END " + label + "-----"
		e := strings.Index(text[l:], endLine)
		if e < 0 {
			// Cut off: the rest of the text is key material.
			return append(dst, Finding{Kind: Secret, Start: s, End: len(text)})
		}
		end := l + e + len(endLine)
		dst = append(dst, Finding{Kind: Secret, Start: s, End: end})
		off = end
	}
}
