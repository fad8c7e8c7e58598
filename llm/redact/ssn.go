package redact

// US Social Security numbers: AAA-GG-SSSS with dashes or spaces (the same
// separator throughout), excluding numbers never issued: area 000, 666 or
// 900–999, group 00, serial 0000. Nine digits without separators are not
// recognized (too many order and account numbers look the same).

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
		if g.ok && rightOK(text, g.end) && equalInts(g.lens, 3, 2, 4) && validSSN(g.digits) {
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
