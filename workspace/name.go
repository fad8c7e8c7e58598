package workspace

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes is the longest file name, in bytes of its NFC form.
const MaxNameBytes = 255

// ValidName checks a file name and returns its canonical form: the Unicode
// NFC normalisation, so that two names that differ only in normalisation
// name the same file. The error wraps [ErrInvalidName].
//
// Workspace names are flat: a name is one path element, never a path. A
// valid name is valid UTF-8, at most [MaxNameBytes] bytes, not "." or
// "..", holds no "/" or "\", no NUL or other control character, no
// invisible formatting character (bidirectional overrides, zero-width
// characters), no private-use or unassigned code point, does not start or
// end with a space, and does not turn into any of these under compatibility
// normalisation (NFKC), which catches look-alikes such as "．．" and "／".
// File names never reach the disk (on-disk names are random IDs), so the
// rules guard the consumers of names — the sandbox writing inputs, the user
// reading a listing — rather than the workspace itself.
func ValidName(name string) (string, error) {
	if name == "" {
		return "", invalidName("empty")
	}
	if len(name) > 4*MaxNameBytes {
		return "", invalidName("too long")
	}
	if !utf8.ValidString(name) {
		return "", invalidName("not valid UTF-8")
	}
	n := norm.NFC.String(name)
	if len(n) > MaxNameBytes {
		return "", invalidName("too long")
	}
	if err := checkElem(n); err != nil {
		return "", err
	}
	if k := norm.NFKC.String(n); k != n {
		if err := checkElem(k); err != nil {
			return "", invalidName("look-alike of a forbidden name")
		}
	}
	return n, nil
}

func checkElem(n string) error {
	if n == "." || n == ".." {
		return invalidName("dot name")
	}
	if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") {
		return invalidName("leading or trailing space")
	}
	for _, r := range n {
		switch {
		case r == '/' || r == '\\':
			return invalidName("path separator")
		case r == utf8.RuneError:
			return invalidName("replacement character")
		case unicode.Is(unicode.Cc, r):
			return invalidName("control character")
		case unicode.Is(unicode.Cf, r):
			return invalidName("formatting character")
		case unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
			return invalidName("private-use or surrogate code point")
		case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs):
			return invalidName("unassigned or separator code point")
		}
	}
	return nil
}

func invalidName(why string) error {
	return fmt.Errorf("%w: %s", ErrInvalidName, why)
}
