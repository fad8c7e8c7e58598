package redact

// Helpers shared by the scanners of numbers (cards, SSNs, phones, IBANs,
// IPv4 addresses).

// leftOK reports whether a number may start at text[i]: it does not continue
// a word ("ID4111…", "é4111…") or a longer number ("12.4111…", "A-4111…").
func leftOK(text string, i int) bool {
	if i == 0 {
		return true
	}
	p := text[i-1]
	if wordBefore(text, i) {
		return false
	}
	if (p == '.' || p == '-' || p == '/' || p == '+') && wordBefore(text, i-1) {
		return false
	}
	if p == ':' && i >= 2 && isDigit(text[i-2]) {
		return false // "01:02-03-…", "12:30 …"
	}
	return true
}

// rightOK reports whether a number may end before text[e]: it is not
// followed by a word character, nor by '.', '-' or '/' and a digit.
func rightOK(text string, e int) bool {
	if e >= len(text) {
		return true
	}
	c := text[e]
	if wordAt(text, e) {
		return false
	}
	if (c == '.' || c == '-' || c == '/') && e+1 < len(text) && isAlnum(text[e+1]) {
		return false
	}
	return true
}

// skipWord returns the index after the word or number that covers text[i],
// so that scanners never restart inside a rejected token.
func skipWord(text string, i int) int {
	for i < len(text) && isWord(text[i]) {
		i++
	}
	return i
}

// digitGroups reads digits at text[i:] in groups separated by one separator
// byte from seps, the same one throughout. It returns the end of the last
// group, the digits (into buf, at most max of them) and the group lengths
// (into lens). ok is false when there are more than max digits or more than
// len(lens) groups; end is then the end of the run, for skipping.
type groups struct {
	end    int
	digits []byte
	lens   []int
	sep    byte
	ok     bool
}

func digitGroups(text string, i int, seps string, maxDigits, maxGroups int, buf []byte, lens []int) groups {
	g := groups{digits: buf[:0], lens: lens[:0], ok: true}
	for {
		s := i
		for i < len(text) && isDigit(text[i]) {
			if len(g.digits) < maxDigits {
				g.digits = append(g.digits, text[i])
			} else {
				g.ok = false
			}
			i++
		}
		if len(g.lens) < maxGroups {
			g.lens = append(g.lens, i-s)
		} else {
			g.ok = false
		}
		g.end = i
		if i+1 >= len(text) || !isDigit(text[i+1]) {
			return g
		}
		c := text[i]
		if g.sep == 0 {
			if !containsByte(seps, c) {
				return g
			}
			g.sep = c
		} else if c != g.sep {
			return g
		}
		i++
	}
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

func equalInts(a []int, b ...int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// atoi parses up to 9 ASCII digits.
func atoi(d []byte) int {
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n
}
