package redact

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// Kind names a category of personal data or secret. Built-in kinds are the
// constants below; host recognizers may report their own kinds.
//
// A kind appears inside placeholders (`[KIND_n]`), so it must match
// `[A-Z][A-Z0-9_]*` and be at most [MaxKindLen] bytes long; see [ValidKind].
// A host finding with an invalid kind is redacted as [Other].
type Kind string

// Built-in kinds.
const (
	Email      Kind = "EMAIL"
	Phone      Kind = "PHONE"
	CreditCard Kind = "CREDIT_CARD"
	IBAN       Kind = "IBAN"
	USSSN      Kind = "US_SSN"
	IPAddress  Kind = "IP_ADDRESS"
	Secret     Kind = "SECRET"

	// Other is the kind given to a host finding whose kind is not valid
	// (see [ValidKind]). It is never reported by a built-in recognizer.
	Other Kind = "PII"
)

// MaxKindLen is the longest valid [Kind], in bytes.
const MaxKindLen = 32

// BuiltinKinds returns the kinds of the built-in recognizers, in a stable
// order. The caller owns the returned slice.
func BuiltinKinds() []Kind {
	return []Kind{Email, Phone, CreditCard, IBAN, USSSN, IPAddress, Secret}
}

// ValidKind reports whether k can be used in a placeholder: it matches
// `[A-Z][A-Z0-9_]*`, does not end with '_' and is at most [MaxKindLen] bytes.
func ValidKind(k Kind) bool {
	if len(k) == 0 || len(k) > MaxKindLen || k[0] < 'A' || k[0] > 'Z' || k[len(k)-1] == '_' {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Finding is one piece of personal data found in a text: its kind and its
// byte span [Start, End) in the UTF-8 input, end exclusive (Go's slice
// convention, so text[f.Start:f.End] is the value).
type Finding struct {
	Kind       Kind
	Start, End int
}

// Recognizer finds personal data of one or more kinds in a text.
//
// Find appends its findings to dst and returns the extended slice. Findings
// may come in any order and may overlap; the [Redactor] sorts them, drops
// findings that are out of bounds or empty, and resolves overlaps. Find must
// not keep text or dst after it returns. A Recognizer given to [New] must be
// safe for concurrent use.
//
// Host services use a Recognizer to add what the built-in ones cannot see,
// such as names of people, postal addresses or customer numbers.
type Recognizer interface {
	Find(text string, dst []Finding) []Finding
}

// RecognizerFunc adapts a function to a [Recognizer].
type RecognizerFunc func(text string, dst []Finding) []Finding

// Find calls f(text, dst).
func (f RecognizerFunc) Find(text string, dst []Finding) []Finding { return f(text, dst) }

var _ Recognizer = RecognizerFunc(nil)

// Options configure a [Redactor]. A nil *Options means defaults.
type Options struct {
	// Kinds selects the built-in recognizers. Nil means all of them
	// ([BuiltinKinds]); an empty non-nil slice means none (only
	// Recognizers). Naming a kind that has no built-in recognizer is a
	// programmer error and makes New panic.
	Kinds []Kind

	// Recognizers are extra, host-supplied recognizers, run after the
	// built-in ones. Nil means none.
	Recognizers []Recognizer
}

// Redactor finds personal data and secrets in text. Use [New]; a Redactor is
// safe for concurrent use.
type Redactor struct {
	builtin []recognizer
	host    []Recognizer
}

// recognizer is a built-in recognizer: a scanner for one kind.
type recognizer struct {
	kind Kind
	find func(text string, dst []Finding) []Finding
	// need is what every finding of the kind contains; a text with less is
	// not scanned.
	need need
	// findCounted, if set, is find for a text with the counts c: it may
	// skip the parts of its scan that c rules out, and finds the same as
	// find.
	findCounted func(text string, c textCounts, dst []Finding) []Finding
}

// need is a cheap necessary condition for a kind: at least so many ASCII
// digits, dots, colons and capitals, one of the flags in any (if any is
// set) and each of the flags in all; or, if alt is set, what alt says
// (IPv4 or IPv6).
type need struct {
	digits, dots, colons, uppers int
	any, all                     uint16
	alt                          *need
}

// textCounts are the counts need looks at.
type textCounts struct {
	digits, dots, colons, uppers int
	seen                         uint16 // flags of the bytes and pairs present
}

// Flags of bytes and pairs of bytes whose presence some kind needs.
const (
	hasAt         = 1 << iota // '@': e-mail addresses
	hasDash                   // '-': "sk-", "xoxb-", PEM headers
	hasUnderscore             // '_': "ghp_", "sk_live_", AWS labels
	hasA                      // 'A': "AKIA", "AIza", "SecretAccessKey"
	hasJ                      // 'J': "eyJ"
	hasDigitDot               // a digit followed by '.': IPv4 addresses
	hasUpperUpper             // a capital followed by a capital: IBANs
	hasUpperDigit             // a capital followed by a digit: IBANs
	hasDigitDigit             // a digit followed by a digit: IBANs
	hasDashDash               // "--": PEM headers
)

// byteClass packs, for each byte, what countText adds up: one 8-bit field
// each for digits, dots, colons and capitals (bits 0-31); bits that
// countText matches with those of the byte before (bits 40-47, see
// pairBits); and the byte's flag (bits 48-52), which countText ORs rather
// than adds.
var byteClass = func() (t [256]uint64) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= 1 | 1<<40 | 1<<44 | 1<<45
	}
	t['.'] |= 1<<8 | 1<<41
	t[':'] |= 1 << 16
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= 1<<24 | 1<<42 | 1<<43
	}
	t['-'] |= 1<<46 | 1<<47
	for c, f := range map[byte]uint64{'@': hasAt, '-': hasDash, '_': hasUnderscore, 'A': hasA, 'J': hasJ} {
		t[c] |= f << 48
	}
	return t
}()

// pairBits maps the bits that countText sets in pairs, where the byte
// before had bit b-1 and the byte bit b, to flags: a digit's bit 40 meets
// a dot's 41, a capital's 42 a capital's 43, a capital's 43 a digit's 44,
// a digit's 44 a digit's 45, a dash's 46 a dash's 47. No other byte has
// these bits.
var pairBits = [...]struct {
	bit  uint
	flag uint16
}{{41, hasDigitDot}, {43, hasUpperUpper}, {44, hasUpperDigit}, {45, hasDigitDigit}, {47, hasDashDash}}

// countText is one cheap pass over text that spares the scanners of kinds
// that cannot occur: a text with five digits holds no phone number (8 at
// least), card number (12) or SSN (9), one without '@' no e-mail address.
// It adds up the byte classes of up to 255 bytes at a time, so that no
// 8-bit field overflows into the next (bits 32 and up may: they are read
// from the ORs).
func countText(text string) textCounts {
	var c textCounts
	var seen, pairs, prev uint64
	for len(text) > 0 {
		chunk := text[:min(len(text), 255)]
		text = text[len(chunk):]
		var acc uint64
		for i := 0; i < len(chunk); i++ {
			t := byteClass[chunk[i]]
			acc += t
			seen |= t
			pairs |= prev & t
			prev = t << 1
		}
		c.digits += int(acc & 0xFF)
		c.dots += int(acc >> 8 & 0xFF)
		c.colons += int(acc >> 16 & 0xFF)
		c.uppers += int(acc >> 24 & 0xFF)
	}
	c.seen = uint16(seen >> 48 & 0x1F)
	for _, p := range pairBits {
		if pairs>>p.bit&1 != 0 {
			c.seen |= p.flag
		}
	}
	return c
}

func (n *need) metBy(c *textCounts) bool {
	return n.metAlone(c) || n.alt != nil && n.alt.metAlone(c)
}

// metAlone is metBy without alt.
func (n *need) metAlone(c *textCounts) bool {
	return c.digits >= n.digits && c.dots >= n.dots && c.colons >= n.colons && c.uppers >= n.uppers &&
		(n.any == 0 || c.seen&n.any != 0) && c.seen&n.all == n.all
}

// Needs of IPv4 and IPv6 addresses, and of either.
var (
	needIPv4 = need{digits: 4, dots: 3, all: hasDigitDot}
	needIPv6 = need{colons: 2}
	needIP   = func() need { n := needIPv4; n.alt = &needIPv6; return n }()
)

// builtins lists the built-in recognizers in BuiltinKinds order, each with
// the least its findings contain (see the rules beside each scanner).
var builtins = [...]recognizer{
	{Email, findEmails, need{any: hasAt}, nil},
	{Phone, findPhones, need{digits: 8}, nil},
	{CreditCard, findCards, need{digits: 12}, nil},
	// "DE89": capital, capital, digit, digit.
	{IBAN, findIBANs, need{digits: 2, uppers: 2, all: hasUpperUpper | hasUpperDigit | hasDigitDigit}, nil},
	{USSSN, findSSNs, need{digits: 9}, nil},
	{IPAddress, findIPs, needIP, findIPsCounted},
	{Secret, findSecrets, need{any: secretBytes}, findSecretsCounted},
}

// numBuiltin is the number of built-in kinds.
const numBuiltin = len(builtins)

// builtinIndex returns the index in builtins of the built-in kind k, or -1
// if k is not one.
func builtinIndex(k Kind) int {
	for i := range builtins {
		if builtins[i].kind == k {
			return i
		}
	}
	return -1
}

// priority breaks ties between overlapping findings of the same length: the
// kind whose recognizer is more specific (checksums, fixed prefixes) wins.
func priority(k Kind) int {
	switch k {
	case Secret:
		return 8
	case IBAN:
		return 7
	case CreditCard:
		return 6
	case Email:
		return 5
	case USSSN:
		return 4
	case IPAddress:
		return 3
	case Phone:
		return 2
	}
	return 1 // host kinds
}

// New returns a Redactor with the given options (nil means all built-in
// recognizers and no host recognizers). It panics if opts.Kinds names a
// kind that has no built-in recognizer.
func New(opts *Options) *Redactor {
	if opts == nil {
		opts = &Options{}
	}
	r := &Redactor{}
	if opts.Kinds == nil {
		r.builtin = slices.Clone(builtins[:])
	} else {
		for _, k := range opts.Kinds {
			i := builtinIndex(k)
			if i < 0 {
				panic("redact: no built-in recognizer for kind " + string(k))
			}
			if !slices.ContainsFunc(r.builtin, func(b recognizer) bool { return b.kind == k }) {
				r.builtin = append(r.builtin, builtins[i])
			}
		}
	}
	for _, h := range opts.Recognizers {
		if h != nil {
			r.host = append(r.host, h)
		}
	}
	return r
}

// Find returns the personal data found in text: sorted by Start, not
// overlapping, each with a valid kind. Where candidates overlap, the longest
// wins; between equally long ones, the more specific kind wins (SECRET, IBAN,
// CREDIT_CARD, EMAIL, US_SSN, IP_ADDRESS, PHONE, then host kinds). Find
// returns nil when nothing is found.
func (r *Redactor) Find(text string) []Finding {
	var fs []Finding
	counts := countText(text)
	for i := range r.builtin {
		if b := &r.builtin[i]; !b.need.metBy(&counts) {
			continue
		} else if b.findCounted != nil {
			fs = b.findCounted(text, counts, fs)
		} else {
			fs = b.find(text, fs)
		}
	}
	if len(r.host) > 0 {
		n := len(fs)
		for _, h := range r.host {
			fs = h.Find(text, fs)
		}
		// Host findings are untrusted: drop bad spans, fix bad kinds.
		out := fs[:n]
		for _, f := range fs[n:] {
			if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
				continue
			}
			if !ValidKind(f.Kind) {
				f.Kind = Other
			}
			out = append(out, f)
		}
		fs = out
	}
	return resolve(fs)
}

// resolve sorts findings and removes overlaps. Findings are grouped into
// clusters of transitively overlapping spans (almost always of one finding);
// within a cluster the longest wins, then the higher kind priority, then the
// leftmost, and each accepted finding excludes those it overlaps.
func resolve(fs []Finding) []Finding {
	if len(fs) == 0 {
		return nil
	}
	slices.SortFunc(fs, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
	overlap := false
	for i := 1; i < len(fs) && !overlap; i++ {
		overlap = fs[i].Start < fs[i-1].End
	}
	if !overlap {
		return fs // the usual case: sorted and disjoint already
	}
	out := make([]Finding, 0, len(fs))
	for i := 0; i < len(fs); {
		j, end := i+1, fs[i].End
		for j < len(fs) && fs[j].Start < end {
			end = max(end, fs[j].End)
			j++
		}
		if j == i+1 {
			out = append(out, fs[i])
		} else {
			out = append(out, resolveCluster(fs[i:j])...)
		}
		i = j
	}
	return out
}

// resolveCluster resolves one cluster of overlapping findings; it reorders
// cl and returns a new slice sorted by Start.
func resolveCluster(cl []Finding) []Finding {
	slices.SortFunc(cl, func(a, b Finding) int {
		if la, lb := a.End-a.Start, b.End-b.Start; la != lb {
			return lb - la
		}
		if pa, pb := priority(a.Kind), priority(b.Kind); pa != pb {
			return pb - pa
		}
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		if a.Kind < b.Kind {
			return -1
		}
		if a.Kind > b.Kind {
			return 1
		}
		return 0
	})
	// accepted is kept sorted by Start; it is disjoint, so overlap with a
	// candidate can only come from its neighbours.
	var accepted []Finding
	for _, f := range cl {
		i, _ := slices.BinarySearchFunc(accepted, f.Start, func(a Finding, s int) int { return a.Start - s })
		if i > 0 && accepted[i-1].End > f.Start {
			continue
		}
		if i < len(accepted) && accepted[i].Start < f.End {
			continue
		}
		accepted = slices.Insert(accepted, i, f)
	}
	return accepted
}

// Byte classes shared by the scanners.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

// isWord reports whether c continues a word: an ASCII letter or digit, '_',
// or any byte of a multi-byte UTF-8 sequence. Scanners use it to skip a
// rejected token; boundaries use wordBefore and wordAt.
func isWord(c byte) bool { return isAlnum(c) || c == '_' || c >= utf8.RuneSelf }

// isWordRune reports whether r is part of a word: a letter, a digit, a
// combining mark or '_'. Spaces, punctuation, symbols and emoji are not,
// nor are letters of scripts written without spaces between words (Han,
// kana, Thai, Lao, Khmer, Myanmar), where "电话+86 …" or "请联系jane@…"
// must still bound the data.
func isWordRune(r rune) bool {
	if r == '_' {
		return true
	}
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// wordBefore reports whether the rune that ends at text[i] is part of a
// word ("é4111…", "ID4111…").
func wordBefore(text string, i int) bool {
	if i <= 0 {
		return false
	}
	if c := text[i-1]; c < utf8.RuneSelf {
		return isAlnum(c) || c == '_'
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return isWordRune(r)
}

// wordAt reports whether the rune that starts at text[i] is part of a word.
func wordAt(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	if c := text[i]; c < utf8.RuneSelf {
		return isAlnum(c) || c == '_'
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return isWordRune(r)
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
