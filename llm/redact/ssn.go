package redact

// US Social Security numbers: AAA-GG-SSSS with dashes or spaces (the same
// separator throughout), excluding numbers never issued: area 000, 666 or
// 900–999, group 00, serial 0000. Nine digits without separators are
// recognized only after a label ("SSN", "SSN#", "social security number")
// at most 24 bytes before them: order and account numbers look the same.

func findSSNs(text string, dst []Finding) []Finding {
	var buf [9]byte
	var lens [3]int
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		if !leftOK(text, i) {
			i = skipWord(text, i)
			continue
		}
		g := digitGroups(text, i, "- ", 9, 3, buf[:0], lens[:0])
		shape := equalInts(g.lens, 3, 2, 4) || equalInts(g.lens, 9) && ssnLabel(text[max(0, i-24):i])
		if g.ok && rightOK(text, g.end) && shape && validSSN(g.digits) {
			dst = append(dst, Finding{Kind: USSSN, Start: i, End: g.end})
		}
		i = g.end
	}
	return dst
}

func validSSN(d []byte) bool {
	area, group, serial := atoi(d[:3]), atoi(d[3:5]), atoi(d[5:9])
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// ssnLabel reports whether s holds an SSN label, in any case.
func ssnLabel(s string) bool {
	for _, l := range []string{"ssn", "social security"} {
		for i := 0; i+len(l) <= len(s); i++ {
			if asciiEqualFold(s[i:i+len(l)], l) {
				return true
			}
		}
	}
	return false
}

// asciiEqualFold compares s with lower-case ASCII l, ignoring ASCII case.
func asciiEqualFold(s, l string) bool {
	for i := 0; i < len(l); i++ {
		c := s[i]
		if isUpper(c) {
			c += 'a' - 'A'
		}
		if c != l[i] {
			return false
		}
	}
	return true
}
