package redact

// IBANs of the SEPA countries: a country code in capitals, two check
// digits and the country's BBAN of capitals and digits, with the length set
// for that country and a valid ISO 7064 mod-97 check. Written compact
// ("DE89370400440532013000") or in groups of four separated by single
// spaces ("DE89 3704 0044 0532 0130 00"); the IBAN must not run on into
// more letters or digits.

// ibanLen maps each SEPA country (and the Crown Dependencies, which use GB
// style IBANs) to its IBAN length.
var ibanLen = map[string]int{
	"AD": 24, "AL": 28, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24,
	"DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22,
	"GG": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IM": 22,
	"IS": 26, "IT": 27, "JE": 22, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
	"MD": 24, "ME": 22, "MK": 19, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
	"RO": 24, "RS": 22, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}

const maxIBANLen = 34

func findIBANs(text string, dst []Finding) []Finding {
	var buf [maxIBANLen]byte
	for i := 0; i+4 <= len(text); {
		// Candidates: two capitals and two digits at a word start. Every
		// candidate that covers text[i+3] needs a capital or a digit there,
		// and one that starts at i or i+1 a digit: skip those that cannot
		// be, four bytes at a time in prose.
		if c := text[i+3]; !isDigit(c) {
			if isUpper(c) {
				i += 2
			} else {
				i += 4
			}
			continue
		}
		if !isUpper(text[i]) || !isUpper(text[i+1]) || !isDigit(text[i+2]) {
			i++
			continue
		}
		i, dst = ibanCandidate(text, i, buf[:0], dst)
	}
	return dst
}

// ibanCandidate looks at the candidate at text[i] (two capitals and two
// digits) and returns where the scan goes on, and dst with the IBAN that
// starts there, if one does. buf is scratch space.
func ibanCandidate(text string, i int, buf []byte, dst []Finding) (int, []Finding) {
	if wordBefore(text, i) {
		return skipWord(text, i), dst
	}
	n, ok := ibanLen[text[i:i+2]]
	if !ok {
		return i + 2, dst
	}
	if end, ok := scanIBAN(text, i, n, buf); ok {
		return end, append(dst, Finding{Kind: IBAN, Start: i, End: end})
	}
	return skipWord(text, i), dst
}

// scanIBAN reads an IBAN of n characters at text[i:], compact or grouped,
// and returns its end if it is one.
func scanIBAN(text string, i, n int, buf []byte) (int, bool) {
	isBBAN := func(c byte) bool { return isUpper(c) || isDigit(c) }
	j := i
	for j < len(text) && isBBAN(text[j]) && j-i <= n {
		buf = append(buf, text[j])
		j++
	}
	switch {
	case j-i == n: // compact
	case j-i == 4 && j < len(text) && text[j] == ' ': // grouped
		for len(buf) < n && j+1 < len(text) && text[j] == ' ' && isBBAN(text[j+1]) {
			j++
			s := j
			for j < len(text) && isBBAN(text[j]) && j-s <= 4 {
				buf = append(buf, text[j])
				j++
			}
			if g := j - s; g > 4 || g < 4 && len(buf) != n {
				return 0, false
			}
		}
		if len(buf) != n {
			return 0, false
		}
	default:
		return 0, false
	}
	if wordAt(text, j) {
		return 0, false
	}
	return j, mod97(buf)
}

// mod97 reports whether an IBAN (capitals and digits) has valid check
// digits: moved to the end, letters as 10–35, it is 1 mod 97.
func mod97(iban []byte) bool {
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	for _, c := range iban[4:] {
		add(c)
	}
	for _, c := range iban[:4] {
		add(c)
	}
	return r == 1
}
