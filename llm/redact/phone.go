package redact

import "strings"

// Phone numbers.
//
// A candidate is a run of digit groups separated by single spaces, dashes,
// dots or slashes (or no-break and thin spaces, no-break hyphens and en
// dashes), where a group may be in parentheses ("(030)", "(0)"),
// optionally after '+'. The whole run must have one of these shapes
// (groups counted in digits):
//
//   - international: '+' or "00", a country calling code of the ITU list,
//     8 to 15 digits in all (E.164), any grouping, an optional "(0)"
//     trunk prefix ("+44 (0)20 7946 0958"); "+1" numbers have 11 digits;
//   - North America (US, CA): optional "1", then 3-3-4 with an area code
//     and exchange that start with 2–9, the same separator throughout
//     unless the area code is in parentheses: "(415) 555-0132",
//     "415-555-0132", "415.555.0132", "1 415 555 0132";
//   - France: 0X XX XX XX XX (X not 0), by spaces, dots or dashes;
//   - trunk-prefix national numbers (UK, Germany, India, France...): a
//     first group of 3 to 6 digits starting with 0 and not 00 ("020",
//     "0161", "07700", "030", "0151", "098765"), one to three more groups
//     of at least 2 digits, 9 to 12 digits in all: "020 7946 0958",
//     "07700 900123", "030 1234567", "089/12345678", "011 2345 6789"
//     (but not a US ZIP+4 code, "02110-1301");
//   - India mobile: 5-5 digits starting with 6–9: "98765 43210".
//
// Numbers written without any separator are recognized only in the
// international form ("+4930901820"); a bare run of digits is as likely an
// order or account number. Dates, times, versions, card-like and IBAN-like
// digit groups do not have these shapes.

const (
	maxPhoneDigits = 17
	maxPhoneGroups = 8
)

type phoneRun struct {
	plus     bool
	end      int
	digits   []byte
	lens     []int
	paren    []bool
	seps     []byte // separator before each group after the first (0: none)
	starts   []int  // start of each group
	overflow bool
}

// phoneBufs backs the slices of a phoneRun, so that they need one
// allocation, made at the first candidate.
type phoneBufs struct {
	digits [maxPhoneDigits]byte
	lens   [maxPhoneGroups]int
	paren  [maxPhoneGroups]bool
	seps   [maxPhoneGroups]byte
	starts [maxPhoneGroups]int
}

func (pr *phoneRun) init() {
	b := new(phoneBufs)
	pr.digits, pr.lens, pr.paren, pr.seps, pr.starts = b.digits[:0], b.lens[:0], b.paren[:0], b.seps[:0], b.starts[:0]
}

func findPhones(text string, dst []Finding) []Finding {
	var pr phoneRun
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '+' || c == '(':
			if wordBefore(text, i) {
				i++
				continue
			}
		case isDigit(c):
			if !leftOK(text, i) {
				i = skipWord(text, i)
				continue
			}
		default:
			i++
			continue
		}
		if pr.digits == nil {
			pr.init()
		}
		if !scanPhone(text, i, &pr) {
			i++ // a lone '+' or '(': try what follows
			continue
		}
		if pr.overflow {
			i = pr.end
			continue
		}
		if !continuesCode(text, i) {
			if rightOK(text, pr.end) && phoneShape(&pr) {
				dst = append(dst, Finding{Kind: Phone, Start: i, End: pr.end})
				i = pr.end
				continue
			}
			// A phone number followed by a space and another number
			// ("(415) 555-0132 10 times"): try the run cut at a space,
			// longest first.
			if end, ok := phonePrefix(&pr); ok {
				dst = append(dst, Finding{Kind: Phone, Start: i, End: end})
				i = end
				continue
			}
		}
		// Retry from a parenthesised group that follows a space ("in 2024
		// (555) 123-4567"); the run has at most maxPhoneGroups groups.
		next := pr.end
		for g := 1; g < len(pr.lens); g++ {
			if pr.seps[g] == ' ' && pr.paren[g] {
				next = pr.starts[g] - 1 // at '('
				break
			}
		}
		if next <= i {
			next = pr.end
		}
		i = next
	}
	return dst
}

// scanPhone reads a candidate run at text[i] into pr. It returns false if
// there is no digit group at all. On overflow pr.end is the end of the
// whole run of digits and separators.
func scanPhone(text string, i int, pr *phoneRun) bool {
	*pr = phoneRun{digits: pr.digits[:0], lens: pr.lens[:0], paren: pr.paren[:0], seps: pr.seps[:0], starts: pr.starts[:0]}
	if text[i] == '+' {
		pr.plus = true
		i++
	}
	var sep byte
	for {
		// One group: digits, or digits in parentheses.
		paren := false
		j := i
		if j < len(text) && text[j] == '(' {
			paren = true
			j++
		}
		s := j
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		if j == s || paren && (j >= len(text) || text[j] != ')' || j-s > 5) {
			break
		}
		if len(pr.lens) == maxPhoneGroups || len(pr.digits)+j-s > maxPhoneDigits {
			pr.overflow = true
			pr.end = skipPhoneRun(text, j)
			return true
		}
		pr.digits = append(pr.digits, text[s:j]...)
		pr.lens = append(pr.lens, j-s)
		pr.paren = append(pr.paren, paren)
		pr.seps = append(pr.seps, sep)
		pr.starts = append(pr.starts, s)
		if paren {
			j++
		}
		pr.end = j
		// A separator, then another group.
		sep = 0
		if c, n := phoneSep(text, j); n > 0 {
			sep = c
			j += n
		} else if !paren {
			break
		}
		if j >= len(text) || !isDigit(text[j]) && text[j] != '(' {
			break
		}
		i = j
	}
	return len(pr.lens) > 0
}

// phonePrefix tries the groups of pr before each space separator, longest
// first, and returns the end of the first that has a phone shape.
func phonePrefix(pr *phoneRun) (int, bool) {
	full := *pr
	defer func() { *pr = full }()
	for g := len(full.lens) - 1; g >= 1; g-- {
		if full.seps[g] != ' ' {
			continue
		}
		nd := 0
		for _, n := range full.lens[:g] {
			nd += n
		}
		*pr = phoneRun{
			plus: full.plus, digits: full.digits[:nd], lens: full.lens[:g],
			paren: full.paren[:g], seps: full.seps[:g], starts: full.starts[:g],
		}
		end := full.starts[g-1] + full.lens[g-1]
		if full.paren[g-1] {
			end++ // ')'
		}
		if phoneShape(pr) {
			return end, true
		}
	}
	return 0, false
}

// continuesCode reports whether the run at text[i] continues a code
// written in groups of four capitals or digits ("NL87 BZBM 0765 0997 74",
// an IBAN): a space, four such characters with at least one capital, and no
// word before them.
func continuesCode(text string, i int) bool {
	if i < 5 || text[i-1] != ' ' {
		return false
	}
	upper := false
	for k := i - 5; k < i-1; k++ {
		if !isUpperDigit(text[k]) {
			return false
		}
		upper = upper || isUpper(text[k])
	}
	if !upper {
		return false
	}
	return !wordBefore(text, i-5)
}

// phoneSep returns the separator at text[j] and its length in bytes: an
// ASCII space, '-', '.' or '/', or a Unicode no-break or thin space (as
// ' ') or a no-break hyphen or en dash (as '-'), which word processors and
// French typography put into numbers.
func phoneSep(text string, j int) (byte, int) {
	if j >= len(text) {
		return 0, 0
	}
	switch c := text[j]; c {
	case ' ', '-', '.', '/':
		return c, 1
	case 0xC2:
		if strings.HasPrefix(text[j:], "\u00a0") {
			return ' ', 2
		}
	case 0xE2:
		switch {
		case strings.HasPrefix(text[j:], "\u202f"), strings.HasPrefix(text[j:], "\u2009"):
			return ' ', 3
		case strings.HasPrefix(text[j:], "\u2011"), strings.HasPrefix(text[j:], "\u2013"):
			return '-', 3
		}
	}
	return 0, 0
}

func skipPhoneRun(text string, j int) int {
	for j < len(text) {
		c := text[j]
		if isDigit(c) || c == ')' || c == '(' {
			j++
			continue
		}
		if (c == ' ' || c == '-' || c == '.' || c == '/') && j+1 < len(text) && (isDigit(text[j+1]) || text[j+1] == '(') {
			j++
			continue
		}
		break
	}
	return j
}

func phoneShape(pr *phoneRun) bool {
	d, lens := pr.digits, pr.lens
	if len(d) < 8 {
		return false // every shape below has at least 8 digits
	}
	// '/' only after the first group (German area codes).
	for g, s := range pr.seps {
		if s == '/' && g != 1 {
			return false
		}
	}
	if len(lens) == 2 && pr.seps[1] == '.' {
		return false // a decimal number: "+35236450.6"
	}
	if pr.plus {
		if pr.paren[0] {
			return false
		}
		return internationalPhone(pr)
	}
	if d[0] == '0' && len(d) > 1 && d[1] == '0' && !pr.paren[0] && lens[0] >= 2 {
		return internationalPhone(pr) // 00 prefix
	}
	slash := containsByte(string(pr.seps), '/')
	// North America.
	l := lens
	nd := d
	if len(l) == 4 && l[0] == 1 && d[0] == '1' {
		l, nd = l[1:], d[1:]
	}
	if !slash && equalInts(l, 3, 3, 4) && nd[0] >= '2' && nd[3] >= '2' && !pr.paren[len(pr.paren)-1] && !pr.paren[len(pr.paren)-2] {
		// Without parentheses the separators agree ("252.227-7013" is a
		// clause number).
		n := len(pr.seps)
		return pr.paren[n-3] || pr.seps[n-2] == pr.seps[n-1]
	}
	if anyParen(pr.paren[1:]) {
		return false
	}
	// France.
	if !slash && equalInts(lens, 2, 2, 2, 2, 2) && d[0] == '0' && d[1] != '0' && !pr.paren[0] {
		return true
	}
	// Trunk-prefix national numbers; not a US ZIP+4 code ("02110-1301").
	if equalInts(lens, 5, 4) && pr.seps[1] == '-' {
		return false
	}
	if d[0] == '0' && d[1] != '0' && len(lens) >= 2 && len(lens) <= 4 && lens[0] >= 3 && lens[0] <= 6 && len(d) >= 9 && len(d) <= 12 {
		for _, n := range lens[1:] {
			if n < 2 {
				return false
			}
		}
		return true
	}
	// India mobile.
	return !slash && equalInts(lens, 5, 5) && d[0] >= '6' && !pr.paren[0]
}

func anyParen(p []bool) bool {
	for _, b := range p {
		if b {
			return true
		}
	}
	return false
}

// internationalPhone checks a number written with '+' or "00".
func internationalPhone(pr *phoneRun) bool {
	// Digits after the international prefix, without a "(0)" trunk group.
	var d []byte
	first := true
	for g, n := range pr.lens {
		start := 0
		for k := 0; k < g; k++ {
			start += pr.lens[k]
		}
		grp := pr.digits[start : start+n]
		if first && !pr.plus {
			grp = grp[2:] // "00"
		}
		first = false
		if pr.paren[g] && string(grp) == "0" && g > 0 {
			continue
		}
		if pr.paren[g] && g == 0 {
			return false
		}
		d = append(d, grp...)
	}
	if len(d) < 8 || len(d) > 15 {
		return false
	}
	cc := countryCode(d)
	if cc == 0 {
		return false
	}
	// A short first group must be exactly the country code ("+44 20…"),
	// unless the whole number is written in one group.
	if len(pr.lens) > 1 {
		fl := pr.lens[0]
		if !pr.plus {
			fl -= 2
		}
		if fl < cc && fl > 0 {
			return false
		}
	}
	if d[0] == '1' {
		return len(d) == 11 && d[1] >= '2'
	}
	return true
}

// countryCode returns the length of the ITU country calling code d starts
// with, or 0 if none does. Zones 1 and 7 have one-digit codes; the two-digit
// codes are listed; any other code has three digits, excluding the spare
// ranges.
func countryCode(d []byte) int {
	if len(d) < 3 {
		return 0
	}
	switch d[0] {
	case '0':
		return 0
	case '1', '7':
		return 1
	}
	two := atoi(d[:2])
	switch two {
	case 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49,
		51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66,
		81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98:
		return 2
	}
	three := atoi(d[:3])
	switch {
	case three >= 210 && three <= 299, three >= 350 && three <= 359, three >= 370 && three <= 389,
		three >= 420 && three <= 423, three >= 500 && three <= 509, three >= 590 && three <= 599,
		three >= 670 && three <= 692, three == 800, three == 808, three >= 850 && three <= 856,
		three == 870, three == 878, three >= 880 && three <= 888, three >= 960 && three <= 979,
		three >= 991 && three <= 998:
		return 3
	}
	return 0
}
