package consent

import (
	"errors"
	"fmt"
	"strings"
)

// ErrGPP reports a malformed IAB Global Privacy Platform string.
var ErrGPP = errors.New("consent: gpp")

// GPP is what privkit reads from an IAB Global Privacy Platform (GPP)
// string: the section IDs its header lists, and the GPC bit of each US
// (MSPA) section, IDs 7 to 22 (usnat, usca, usva, …). A CMP may relay a GPC
// signal this way when the browser's header does not reach the server.
type GPP struct {
	// SectionIDs are the header's section IDs in order.
	SectionIDs []int
	// GPC maps each MSPA section ID present to its GPC subsection bit;
	// a section without the subsection counts as false.
	GPC map[int]bool
}

// AnyGPC reports whether any MSPA section carries GPC = 1.
func (g GPP) AnyGPC() bool {
	for _, v := range g.GPC {
		if v {
			return true
		}
	}
	return false
}

// maxGPPLen bounds the input; real strings are a few hundred bytes.
const maxGPPLen = 64 << 10

// ParseGPP reads a GPP string ("header~section~section…"). It decodes only
// the header and the GPC subsections of MSPA sections; other sections are
// checked for well-formed characters and skipped. Errors wrap [ErrGPP].
func ParseGPP(s string) (GPP, error) {
	if len(s) > maxGPPLen {
		return GPP{}, fmt.Errorf("%w: string too long", ErrGPP)
	}
	parts := strings.Split(s, "~")
	ids, err := parseGPPHeader(parts[0])
	if err != nil {
		return GPP{}, err
	}
	if len(parts) < 2 {
		return GPP{}, fmt.Errorf("%w: not enough gpp segments", ErrGPP)
	}
	if len(parts)-1 != len(ids) {
		return GPP{}, fmt.Errorf("%w: mismatch number of sections: header lists %d, string has %d", ErrGPP, len(ids), len(parts)-1)
	}
	g := GPP{SectionIDs: ids, GPC: map[int]bool{}}
	for k, id := range ids {
		sec := parts[k+1]
		core, subs, _ := strings.Cut(sec, ".")
		for _, seg := range append([]string{core}, strings.Split(subs, ".")...) {
			for i := 0; i < len(seg); i++ {
				if b64val(seg[i]) < 0 {
					return GPP{}, fmt.Errorf("%w: section %d: invalid character", ErrGPP, id)
				}
			}
		}
		if id < 7 || id > 22 {
			continue
		}
		gpc := false
		if subs != "" {
			for _, sub := range strings.Split(subs, ".") {
				r := bitReader{s: sub}
				typ, ok1 := r.int(2)
				bit, ok2 := r.int(1)
				if !ok1 || !ok2 {
					return GPP{}, fmt.Errorf("%w: section %d: short subsection", ErrGPP, id)
				}
				if typ == 1 {
					gpc = bit == 1
				}
			}
		}
		g.GPC[id] = gpc
	}
	return g, nil
}

func parseGPPHeader(h string) ([]int, error) {
	r := bitReader{s: h}
	typ, ok := r.int(6)
	if !ok {
		return nil, fmt.Errorf("%w: read gpp header: too short", ErrGPP)
	}
	if r.bad {
		return nil, fmt.Errorf("%w: read gpp header: invalid character", ErrGPP)
	}
	if typ != 3 {
		return nil, fmt.Errorf("%w: read gpp header: wrong gpp header type %d", ErrGPP, typ)
	}
	ver, ok := r.int(6)
	if !ok {
		return nil, fmt.Errorf("%w: read gpp header: too short", ErrGPP)
	}
	if ver != 1 {
		return nil, fmt.Errorf("%w: read gpp header: unsupported gpp version %d", ErrGPP, ver)
	}
	n, ok := r.int(12)
	if !ok {
		return nil, fmt.Errorf("%w: read gpp header: too short", ErrGPP)
	}
	var ids []int
	last := 0
	for range n {
		isRange, ok := r.int(1)
		if !ok {
			return nil, fmt.Errorf("%w: read gpp header: truncated section ids", ErrGPP)
		}
		start, ok := r.fib()
		if !ok {
			return nil, fmt.Errorf("%w: read gpp header: bad section id", ErrGPP)
		}
		start += last
		end := start
		if isRange == 1 {
			d, ok := r.fib()
			if !ok {
				return nil, fmt.Errorf("%w: read gpp header: bad section range", ErrGPP)
			}
			end = start + d
		}
		if end > 1<<10 || len(ids)+end-start+1 > 64 {
			return nil, fmt.Errorf("%w: read gpp header: too many sections", ErrGPP)
		}
		for id := start; id <= end; id++ {
			ids = append(ids, id)
		}
		last = end
	}
	if r.bad {
		return nil, fmt.Errorf("%w: read gpp header: invalid character", ErrGPP)
	}
	return ids, nil
}

// b64val returns the value of a base64url character, or -1.
func b64val(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// bitReader reads big-endian bits from base64url text, six per character.
type bitReader struct {
	s   string
	pos int // bit position
	bad bool
}

func (r *bitReader) bit() (int, bool) {
	ci := r.pos / 6
	if ci >= len(r.s) {
		return 0, false
	}
	v := b64val(r.s[ci])
	if v < 0 {
		r.bad = true
		return 0, false
	}
	b := (v >> (5 - r.pos%6)) & 1
	r.pos++
	return b, true
}

func (r *bitReader) int(n int) (int, bool) {
	v := 0
	for range n {
		b, ok := r.bit()
		if !ok {
			return 0, false
		}
		v = v<<1 | b
	}
	return v, true
}

// fib reads a Fibonacci-coded integer: bit i weighs F(i+2) (1, 2, 3, 5, …)
// and "11" ends the code.
func (r *bitReader) fib() (int, bool) {
	a, b := 1, 2
	v, prev := 0, 0
	for i := 0; i < 32; i++ {
		bit, ok := r.bit()
		if !ok {
			return 0, false
		}
		if bit == 1 && prev == 1 {
			return v, true
		}
		if bit == 1 {
			v += a
		}
		prev = bit
		a, b = b, a+b
	}
	return 0, false
}
