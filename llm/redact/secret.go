package redact

import "strings"

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
}

var secretRules = []secretRule{
	{"sk-", matchOpenAI},
	{"AKIA", matchAWSKeyID},
	{"ASIA", matchAWSKeyID},
	{"ABIA", matchAWSKeyID},
	{"ACCA", matchAWSKeyID},
	{"ghp_", matchGitHubClassic},
	{"gho_", matchGitHubClassic},
	{"ghu_", matchGitHubClassic},
	{"ghs_", matchGitHubClassic},
	{"ghr_", matchGitHubClassic},
	{"github_pat_", matchGitHubFine},
	{"sk_live_", matchStripe},
	{"rk_live_", matchStripe},
	{"sk_test_", matchStripe},
	{"rk_test_", matchStripe},
	{"xox", matchSlack},
	{"AIza", matchGoogle},
	{"eyJ", matchJWT},
}

// Labels that announce an AWS secret access key.
var awsSecretLabels = []string{"ecret_access_key", "ECRET_ACCESS_KEY", "ecretAccessKey"}

// awsLabelNeeds flags, for each of awsSecretLabels, a byte it holds that
// countText looks for.
var awsLabelNeeds = [...]uint16{hasUnderscore, hasUnderscore, hasA}

// secretByFirst lists, for each byte, the rules whose prefix starts with
// it, in secretRules order.
var secretByFirst = func() (t [256][]secretRule) {
	for _, r := range secretRules {
		t[r.prefix[0]] = append(t[r.prefix[0]], r)
	}
	return t
}()

// secretFirst marks the first bytes of the prefixes in secretRules.
var secretFirst = func() (t [256]bool) {
	for _, r := range secretRules {
		t[r.prefix[0]] = true
	}
	return t
}()

// secretBytes flags the bytes of which every secret holds one: '-' ("sk-",
// "xoxb-", PEM), '_' (GitHub, Stripe, AWS labels), 'A' (AWS key IDs,
// "AIza", "SecretAccessKey") or 'J' ("eyJ").
const secretBytes = hasDash | hasUnderscore | hasA | hasJ

func findSecrets(text string, dst []Finding) []Finding {
	return findSecretsSeen(text, secretBytes, dst)
}

// findSecretsCounted is findSecrets for a text with the counts c: it skips
// the searches for labels and headers whose bytes the text lacks.
func findSecretsCounted(text string, c textCounts, dst []Finding) []Finding {
	return findSecretsSeen(text, c.seen, dst)
}

// findSecretsSeen is findSecrets for a text that holds none of the flagged
// bytes (see textCounts.seen) that seen does not flag.
func findSecretsSeen(text string, seen uint16, dst []Finding) []Finding {
	// One pass: at each token start whose first byte begins some prefix,
	// try the rules with that first byte.
	for i := 0; i < len(text); i++ {
		if !secretFirst[text[i]] || i > 0 && isTokenChar(text[i-1]) {
			continue
		}
		for _, r := range secretByFirst[text[i]] {
			if !strings.HasPrefix(text[i:], r.prefix) {
				continue
			}
			if e := r.match(text, i); e > 0 {
				dst = append(dst, Finding{Kind: Secret, Start: i, End: e})
				i = e - 1
				break
			}
		}
	}
	for j, l := range awsSecretLabels {
		if seen&awsLabelNeeds[j] == 0 {
			continue
		}
		for off := 0; ; {
			k := indexLabel(text[off:], l)
			if k < 0 {
				break
			}
			off += k + len(l)
			if s, e := matchAWSSecret(text, off); e > 0 {
				dst = append(dst, Finding{Kind: Secret, Start: s, End: e})
				off = e
			}
		}
	}
	if seen&hasDash == 0 {
		return dst // no PEM header
	}
	return findPEM(text, dst)
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
