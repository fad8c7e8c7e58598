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
		if wordBefore(text, i) {
			i = skipWord(text, i)
			continue
		}
		n, ok := ibanLen[text[i:i+2]]
		if !ok {
			i += 2
			continue
		}
		if end, ok := scanIBAN(text, i, n, buf[:0]); ok {
			dst = append(dst, Finding{Kind: IBAN, Start: i, End: end})
			i = end
			continue
		}
		i = skipWord(text, i)
	}
	return dst
}

// fastPaths pairs each fast scanner with its reference.
var fastPaths = []struct {
	name      string
	fast, ref func(text string, dst []Finding) []Finding
}{
	{"IBAN", findIBANs, findIBANsRef},
}

// fastPathSeeds are texts near the edges of the fast paths: candidates at
// the start and end of the text, next to capitals, digits and other
// candidates.
var fastPathSeeds = []string{
	"DE89370400440532013000", "xDE89370400440532013000", "DE89 3704 0044 0532 0130 00.",
	"ABDE89370400440532013000", "A1DE89 3704 0044 0532 0130 00", "DE8", "DE89", " DE89",
	"IBAN:DE89370400440532013000,GB29NWBK60161331926819 FR1420041010050500013M02606",
	"GB82 WEST 1234 5698 7654 32 and NL91ABNA0417164300; NO9386011117947",
}

func checkFastPaths(t *testing.T, text string) {
	t.Helper()
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
