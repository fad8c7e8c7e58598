package redact

import (
	"reflect"
	"strings"
	"testing"
)

// The scanners below are the straightforward versions of scanners that
// were made faster; the fast ones must find exactly what these find.

// findIBANsRef looks at every byte for a candidate.
func findIBANsRef(text string, dst []Finding) []Finding {
	var buf [maxIBANLen]byte
	for i := 0; i+4 <= len(text); {
		if !isUpper(text[i]) || !isUpper(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) {
			i++
			continue
		}
		i, dst = ibanCandidate(text, i, buf[:0], dst)
	}
	return dst
}

// validLabelsRef is validLabels with strings.IndexByte.
func validLabelsRef(dom string) bool {
	for rest := dom; rest != ""; {
		label := rest
		if k := strings.IndexByte(rest, '.'); k >= 0 {
			label, rest = rest[:k], rest[k+1:]
		} else {
			rest = ""
		}
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}

// checkEmailHelpers checks the e-mail scanner's byte loops against the
// strings functions they stand for, on text and on each of its
// dot-separated tails (the domains the scanner looks at).
func checkEmailHelpers(t *testing.T, text string) {
	t.Helper()
	for s := text; ; {
		if got, want := firstDoubleDot(s), strings.Index(s, ".."); got != want {
			t.Fatalf("firstDoubleDot(%q) = %d, want %d", s, got, want)
		}
		if got, want := lastDoubleDot(s), strings.LastIndex(s, ".."); got != want {
			t.Fatalf("lastDoubleDot(%q) = %d, want %d", s, got, want)
		}
		if got, want := trimDotsDashes(s), strings.TrimRight(s, ".-"); got != want {
			t.Fatalf("trimDotsDashes(%q) = %q, want %q", s, got, want)
		}
		// The scanner passes validLabels only domains trimmed of dots and
		// dashes, never "" (where the two differ).
		if d := trimDotsDashes(s); d != "" {
			if got, want := validLabels(d), validLabelsRef(d); got != want {
				t.Fatalf("validLabels(%q) = %v, want %v", d, got, want)
			}
		}
		k := strings.IndexAny(s, ".@ ")
		if k < 0 {
			return
		}
		s = s[k+1:]
	}
}

// findSecretsRef tries every rule at every token start and searches for
// every label and PEM header.
func findSecretsRef(text string, dst []Finding) []Finding {
	for i := 0; i < len(text); i++ {
		if i > 0 && isTokenChar(text[i-1]) {
			continue
		}
		for _, r := range secretRules {
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
	// Every label, whatever the text holds (indexLabel is checked against
	// strings.Index in checkFastPaths).
	for _, l := range awsSecretLabels {
		dst = findAWSSecrets(text, l, dst)
	}
	return findPEM(text, dst)
}

// findSecretsCountedRef is findSecrets as Find runs it.
func findSecretsCountedRef(text string, dst []Finding) []Finding {
	return findSecretsCounted(text, countText(text), dst)
}

// fastPaths pairs each fast scanner with its reference.
var fastPaths = []struct {
	name      string
	fast, ref func(text string, dst []Finding) []Finding
}{
	{"IBAN", findIBANs, findIBANsRef},
	{"SECRET", findSecrets, findSecretsRef},
	{"SECRET counted", findSecretsCountedRef, findSecretsRef},
}

// fastPathSeeds are texts near the edges of the fast paths: candidates at
// the start and end of the text, next to capitals, digits and other
// candidates.
var fastPathSeeds = []string{
	"DE89370400440532013000", "xDE89370400440532013000", "DE89 3704 0044 0532 0130 00.",
	"ABDE89370400440532013000", "A1DE89 3704 0044 0532 0130 00", "DE8", "DE89", " DE89",
	"IBAN:DE89370400440532013000,GB29NWBK60161331926819 FR1420041010050500013M02606",
	"GB82 WEST 1234 5698 7654 32 and NL91ABNA0417164300; NO9386011117947",
	"..", "..a@b.de", "a@b.de..", ".a..b.", "-", "a-.b.-",
	"a..b@c.de a.b..@c.de ..a@c.de a@b..c.de a@b.c..de a@.b.de a@b.de.. a@b-.de a@-b.de a@b.de-",
	"a@b.c1.de- x@y.z. x@y.zz.1 x@" + strings.Repeat("a", 64) + ".de x@a.b.c.d.e.f.gh.-",
	"xoxb-1234567890", "xoxb-123456789", "-xoxb-1234567890 xoxp-abcdefghij-", "sk_live_" + strings.Repeat("a1", 8),
	"AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE.", "_AKIAIOSFODNN7EXAMPLE", "AIza" + strings.Repeat("x_-", 12) + "y",
	"ghp_" + strings.Repeat("Ab", 18) + " gho_x github_pat_" + strings.Repeat("a_", 25) + " rk_test_" + strings.Repeat("Z", 16),
	"sk-ant-api03-" + strings.Repeat("a1", 10) + " sk-proj-" + strings.Repeat("B2", 10) + " sk-" + strings.Repeat("c", 19) + "3",
	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0. eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig.x",
	"secret_access_key=" + strings.Repeat("a/+B", 10) + " SecretAccessKey: '" + strings.Repeat("Ab0/", 10) + "'",
	"-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY----- -----BEGIN PRIVATE KEY-----",
}

// countTextRef is countText one byte and one pair at a time.
func countTextRef(text string) textCounts {
	var c textCounts
	flags := map[byte]uint16{'@': hasAt, '-': hasDash, '_': hasUnderscore, 'A': hasA, 'J': hasJ}
	for i := 0; i < len(text); i++ {
		b := text[i]
		switch {
		case isDigit(b):
			c.digits++
		case b == '.':
			c.dots++
		case b == ':':
			c.colons++
		case isUpper(b):
			c.uppers++
		}
		c.seen |= flags[b]
		if i == 0 {
			continue
		}
		switch a := text[i-1]; {
		case isDigit(a) && b == '.':
			c.seen |= hasDigitDot
		case isUpper(a) && isUpper(b):
			c.seen |= hasUpperUpper
		case isUpper(a) && isDigit(b):
			c.seen |= hasUpperDigit
		case isDigit(a) && isDigit(b):
			c.seen |= hasDigitDigit
		case a == '-' && b == '-':
			c.seen |= hasDashDash
		}
	}
	return c
}

func checkFastPaths(t *testing.T, text string) {
	t.Helper()
	if got, want := countText(text), countTextRef(text); got != want {
		t.Fatalf("countText(%q) = %+v, want %+v", text, got, want)
	}
	checkEmailHelpers(t, text)
	for _, l := range awsSecretLabels {
		if got, want := indexLabel(text, l), strings.Index(text, l); got != want {
			t.Fatalf("indexLabel(%q, %q) = %d, strings.Index = %d", text, l, got, want)
		}
	}
	for _, p := range fastPaths {
		if got, want := p.fast(text, nil), p.ref(text, nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: fast scanner found %v in %q, reference %v", p.name, got, text, want)
		}
	}
}

func TestFastPathsMatchReference(t *testing.T) {
	t.Parallel()
	var texts []string
	texts = append(texts, fastPathSeeds...)
	texts = append(texts, prefilterSeeds...)
	for _, l := range readCorpus(t) {
		texts = append(texts, l.Text)
		for _, e := range l.Entities {
			texts = append(texts, e.Value)
		}
	}
	// Texts longer than countText's 255-byte chunks, with pairs across
	// the chunk boundaries.
	for _, n := range []int{254, 255, 256, 509, 510, 511} {
		for _, pair := range []string{"1.", "AB", "A1", "12", "--", "@", "-", "_", "A", "J"} {
			texts = append(texts, strings.Repeat("x", n-1)+pair, strings.Repeat("9", n)+pair+strings.Repeat(".:", n))
		}
	}
	for _, s := range texts {
		checkFastPaths(t, s)
		// Every suffix and prefix moves candidates against the ends.
		for i := 1; i < len(s) && i < 40; i++ {
			checkFastPaths(t, s[i:])
			checkFastPaths(t, s[:len(s)-i])
		}
	}
}

func FuzzFastPaths(f *testing.F) {
	for _, s := range fastPathSeeds {
		f.Add(s)
	}
	f.Add(strings.Repeat("AB12 ", 5))
	f.Fuzz(func(t *testing.T, text string) {
		checkFastPaths(t, text)
	})
}

func TestBuiltinIndex(t *testing.T) {
	for i, b := range builtins {
		if got := builtinIndex(b.kind); got != i {
			t.Errorf("builtinIndex(%s) = %d, want %d", b.kind, got, i)
		}
	}
	for _, k := range []Kind{Other, "NAME", "", "EMAIL_", "email"} {
		if got := builtinIndex(k); got != -1 {
			t.Errorf("builtinIndex(%q) = %d, want -1", k, got)
		}
	}
}

// TestCountsHostAndBuiltin checks that Counts adds up built-in kinds and
// host kinds, including a host recognizer that reports a built-in kind.
func TestCountsHostAndBuiltin(t *testing.T) {
	host := RecognizerFunc(func(text string, dst []Finding) []Finding {
		if i := strings.Index(text, "Bob"); i >= 0 {
			dst = append(dst, Finding{Kind: "NAME", Start: i, End: i + 3})
		}
		if i := strings.Index(text, "mail me"); i >= 0 {
			dst = append(dst, Finding{Kind: Email, Start: i, End: i + 7})
		}
		if i := strings.Index(text, "bad"); i >= 0 {
			dst = append(dst, Finding{Kind: "bad kind", Start: i, End: i + 3})
		}
		return dst
	})
	v := NewVault(New(&Options{Recognizers: []Recognizer{host}}))
	v.Redact("Bob: mail me at a@b.co, call +44 20 7946 0958, bad")
	v.Redact("Bob again, a@b.co")
	want := map[Kind]int{"NAME": 2, Email: 3, Phone: 1, Other: 1}
	if got := v.Counts(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Counts() = %v, want %v", got, want)
	}
}
