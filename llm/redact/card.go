package redact

// Payment card numbers (PAN): 12 to 19 digits, written compact or in the
// groups printed on cards (4-4-4-4, 4-4-4-4-3, Amex 4-6-5, Diners 4-6-4)
// with spaces or dashes, the same separator throughout; an issuer prefix
// and length of Visa (4; 13, 16, 19), Mastercard (51–55 and the 2-series
// 2221–2720; 16), American Express (34, 37; 15), Discover (6011, 622126–
// 622925, 644–649, 65; 16–19), JCB (3528–3589; 16–19) or Diners Club
// (300–305, 36, 38, 39; 14–19); and a valid Luhn check digit. Numbers that
// run on into more digits or words are not cards.

func findCards(text string, dst []Finding) []Finding {
	var buf [19]byte
	var lens [5]int
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		if !leftOK(text, i) {
			i = skipWord(text, i)
			continue
		}
		g := digitGroups(text, i, " -", 19, 5, buf[:0], lens[:0])
		if g.ok && rightOK(text, g.end) && cardShape(g.lens) && cardNetwork(g.digits) && luhn(g.digits) {
			dst = append(dst, Finding{Kind: CreditCard, Start: i, End: g.end})
		}
		i = g.end
	}
	return dst
}

func cardShape(lens []int) bool {
	switch len(lens) {
	case 1:
		return lens[0] >= 12 && lens[0] <= 19
	case 3:
		return equalInts(lens, 4, 6, 5) || equalInts(lens, 4, 6, 4)
	case 4:
		return equalInts(lens, 4, 4, 4, 4)
	case 5:
		return equalInts(lens, 4, 4, 4, 4, 3)
	}
	return false
}

// cardNetwork reports whether the number has the prefix and length of a
// card network listed above.
func cardNetwork(d []byte) bool {
	n := len(d)
	if n < 13 {
		return false
	}
	p2, p3, p4, p6 := atoi(d[:2]), atoi(d[:3]), atoi(d[:4]), atoi(d[:6])
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p6 >= 622126 && p6 <= 622925, p3 >= 644 && p3 <= 649, p2 == 65: // Discover
		return n >= 16
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return n >= 14
	}
	return false
}

// luhn reports whether the digits pass the Luhn (mod 10) check.
func luhn(d []byte) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i] - '0')
		if double {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
		double = !double
	}
	return sum%10 == 0
}
