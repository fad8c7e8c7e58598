package redact

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// MaxPlaceholderLen is the longest placeholder a [Vault] issues, in bytes:
// '[', a kind of at most [MaxKindLen] bytes, '_', at most 9 digits, ']'.
// It bounds what a [Restorer] holds back.
const MaxPlaceholderLen = 1 + MaxKindLen + 1 + maxSeqDigits + 1

const maxSeqDigits = 9

// Vault is the memory of one conversation: it replaces personal data by
// placeholders `[KIND_n]` and puts the values back into the model's answers.
//
// Numbers count per kind from 1 within the vault. The same value of the same
// kind gets the same placeholder in every turn, and a placeholder is never
// reused for another value, so the model can refer to "[EMAIL_1]" across a
// conversation and the answer restores to the right address.
//
// Values are kept in memory only, as byte slices that [Vault.Close] zeroes;
// lookups go through a keyed hash, so no value is ever a map key. Go strings
// are immutable: copies the host made (the input text, restored answers)
// are the host's to drop.
//
// Use [NewVault]; a Vault is safe for concurrent use.
type Vault struct {
	r *Redactor

	mu     sync.Mutex
	seed   maphash.Seed
	closed bool
	next   map[Kind]int        // last number issued per kind
	byHash map[uint64][]*entry // keyed hash of value -> entries
	byPH   map[string]*entry   // placeholder -> entry
	counts map[Kind]int        // redacted occurrences per kind not built in
	maxLen int                 // longest placeholder issued

	// builtinCounts are the redacted occurrences of the built-in kinds,
	// indexed by builtinIndex.
	builtinCounts [numBuiltin]int
}

type entry struct {
	kind  Kind
	ph    string // "[KIND_n]"
	value []byte // zeroed by Close
}

// NewVault returns an empty vault that finds personal data with r.
// A nil r means New(nil): all built-in recognizers.
func NewVault(r *Redactor) *Vault {
	if r == nil {
		r = New(nil)
	}
	return &Vault{
		r:      r,
		seed:   maphash.MakeSeed(),
		next:   make(map[Kind]int),
		byHash: make(map[uint64][]*entry),
		byPH:   make(map[string]*entry),
		counts: make(map[Kind]int),
	}
}

// Redact returns text with every finding replaced by its placeholder, and
// the findings, as byte spans of the input text (see [Redactor.Find]).
//
// Text that already has the form of a placeholder is handled so that
// Restore(Redact(x)) == x holds for every text x that holds no placeholder
// this vault issued before the call: such a placeholder is left as is (it
// stands for its value, so redacting a redacted text changes nothing), and
// any other placeholder-shaped text is itself replaced by a placeholder
// that restores to it. Those replacements are not findings and not
// counted.
//
// After [Vault.Close], Redact still replaces every finding, with a fresh
// placeholder each time, but remembers nothing, so nothing can be restored:
// a closed vault never lets personal data through.
func (v *Vault) Redact(text string) (redacted string, findings []Finding) {
	findings = v.r.Find(text)
	literals := findPlaceholders(text, findings)
	if len(findings) == 0 && len(literals) == 0 {
		return text, nil
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	fi, li := 0, 0
	// Which literal placeholders were issued before this call.
	var known []bool
	for _, l := range literals {
		known = append(known, v.byPH[text[l.Start:l.End]] != nil)
	}
	for fi < len(findings) || li < len(literals) {
		var f Finding
		isLit, isKnown := false, false
		if li < len(literals) && (fi == len(findings) || literals[li].Start < findings[fi].Start) {
			f, isLit, isKnown = literals[li], true, known[li]
			li++
		} else {
			f = findings[fi]
			fi++
		}
		b.WriteString(text[last:f.Start])
		last = f.End
		val := text[f.Start:f.End]
		if isKnown {
			b.WriteString(val) // a placeholder issued before: keep
			continue
		}
		if !isLit {
			if k := builtinIndex(f.Kind); k >= 0 {
				v.builtinCounts[k]++
			} else {
				v.counts[f.Kind]++
			}
		}
		b.WriteString(v.placeholder(f.Kind, val))
	}
	b.WriteString(text[last:])
	return b.String(), findings
}

// placeholder returns the placeholder for (kind, value), issuing a new one
// if needed. v.mu is held.
func (v *Vault) placeholder(kind Kind, value string) string {
	if v.closed {
		return v.issue(kind)
	}
	h := v.hash(value)
	for _, e := range v.byHash[h] {
		if e.kind == kind && len(e.value) == len(value) && equalValue(e.value, value) {
			return e.ph
		}
	}
	e := &entry{kind: kind, ph: v.issue(kind), value: []byte(value)}
	v.byHash[h] = append(v.byHash[h], e)
	v.byPH[e.ph] = e
	v.maxLen = max(v.maxLen, len(e.ph))
	return e.ph
}

// issue returns the next placeholder of kind. v.mu is held. Numbers past
// 999,999,999 would not parse back; a conversation never gets there, and if
// it did the placeholder would simply not be restored.
func (v *Vault) issue(kind Kind) string {
	v.next[kind]++
	return "[" + string(kind) + "_" + strconv.Itoa(v.next[kind]) + "]"
}

// hash is the keyed hash of a value; values of different kinds may share
// it (placeholder compares kinds).
func (v *Vault) hash(value string) uint64 {
	return maphash.String(v.seed, value)
}

// Restore returns text with every placeholder this vault issued replaced by
// its value. Unknown placeholders and everything else are left as is; after
// [Vault.Close] nothing is replaced.
func (v *Vault) Restore(text string) string {
	if strings.IndexByte(text, '[') < 0 {
		return text
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.byPH) == 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + 64)
	v.restoreLocked(&b, text, true)
	return b.String()
}

// RestoresTo reports whether Restore(redacted) == text, without building
// the restored text. A caller that kept a redacted text (not the original)
// uses it to recognise a text it has redacted before: because
// Restore(Redact(x)) == x for a text x without placeholders the vault had
// issued, such a text always matches its redaction, and a match means
// redacted is a redaction of text. (A text that held such placeholders
// does not match its redaction, which restores them to their values;
// compare the two texts directly for it.) Stored values are compared in
// constant time.
func (v *Vault) RestoresTo(redacted, text string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for {
		i := strings.IndexByte(redacted, '[')
		if i < 0 {
			return redacted == text
		}
		if len(text) < i || redacted[:i] != text[:i] {
			return false
		}
		redacted, text = redacted[i:], text[i:]
		if e, n := v.match(redacted); e != nil {
			if len(text) < len(e.value) || !equalValue(e.value, text[:len(e.value)]) {
				return false
			}
			redacted, text = redacted[n:], text[len(e.value):]
			continue
		}
		if text == "" || text[0] != '[' {
			return false
		}
		redacted, text = redacted[1:], text[1:]
	}
}

// equalValue reports whether b and s, of equal length, hold the same bytes,
// in time that depends on their length only.
func equalValue(b []byte, s string) bool {
	var d byte
	for i := range b {
		d |= b[i] ^ s[i]
	}
	return d == 0
}

// restoreLocked writes text to b with known placeholders replaced. If
// final is false and text ends with an incomplete prefix of a known
// placeholder, that tail is not written and its length is returned as hold.
// v.mu is held.
func (v *Vault) restoreLocked(b *strings.Builder, text string, final bool) (hold int) {
	for {
		i := strings.IndexByte(text, '[')
		if i < 0 {
			b.WriteString(text)
			return 0
		}
		b.WriteString(text[:i])
		text = text[i:]
		if e, n := v.match(text); e != nil {
			b.Write(e.value)
			text = text[n:]
			continue
		}
		if !final && v.possiblePrefix(text) {
			return len(text)
		}
		b.WriteByte('[')
		text = text[1:]
	}
}

// match returns the known placeholder at the start of s and its length.
func (v *Vault) match(s string) (*entry, int) {
	end := strings.IndexByte(s[:min(len(s), v.maxLen)], ']')
	if end < 0 {
		return nil, 0
	}
	e := v.byPH[s[:end+1]]
	if e == nil {
		return nil, 0
	}
	return e, end + 1
}

// possiblePrefix reports whether s, which starts with '[', is a proper
// prefix of a known placeholder. While the vault is open, the known
// placeholders of a kind are exactly numbers 1 to v.next[kind], so this
// needs no list of them.
func (v *Vault) possiblePrefix(s string) bool {
	if len(s) >= v.maxLen {
		return false
	}
	rest := s[1:]
	for k := range v.next {
		// "[KI", "[KIND", "[KIND_": a prefix of the kind and underscore.
		if len(rest) <= len(k) && k[:len(rest)] == Kind(rest) || len(rest) == len(k)+1 && rest[len(k)] == '_' && k == Kind(rest[:len(k)]) {
			return true
		}
	}
	// "[KIND_12": a known kind and the start of an issued number.
	u := strings.LastIndexByte(rest, '_')
	if u < 0 || u == len(rest)-1 {
		return false
	}
	last, ok := v.next[Kind(rest[:u])]
	if !ok {
		return false
	}
	digits := rest[u+1:]
	if digits[0] == '0' || len(digits) > maxSeqDigits {
		return false
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return false
		}
		n = n*10 + int(digits[i]-'0')
	}
	return n <= last
}

// Counts returns how many findings of each kind the vault has redacted so
// far (occurrences, not distinct values), for audit records. The caller
// owns the returned map.
func (v *Vault) Counts() map[Kind]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := make(map[Kind]int, len(v.counts)+numBuiltin)
	for k, n := range v.builtinCounts {
		if n > 0 {
			m[builtins[k].kind] = n
		}
	}
	for k, n := range v.counts {
		m[k] = n
	}
	return m
}

// String describes the vault without its values, so that printing or
// logging a Vault never reveals personal data.
func (v *Vault) String() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return "redact.Vault{placeholders: " + strconv.Itoa(len(v.byPH)) + ", closed: " + strconv.FormatBool(v.closed) + "}"
}

// LogValue implements [slog.LogValuer] like String: counts, no values.
func (v *Vault) LogValue() slog.Value {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slog.GroupValue(slog.Int("placeholders", len(v.byPH)), slog.Bool("closed", v.closed))
}

var (
	_ fmt.Stringer   = (*Vault)(nil)
	_ slog.LogValuer = (*Vault)(nil)
)

// Close zeroes and forgets every value. Later calls to Restore leave
// placeholders as they are; later calls to Redact still redact (see
// [Vault.Redact]). Close may be called more than once.
func (v *Vault) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	for _, es := range v.byHash {
		for _, e := range es {
			clear(e.value)
			e.value = nil
		}
	}
	v.byHash = nil
	v.byPH = map[string]*entry{}
	v.maxLen = 0
}

// parsePlaceholder reports whether s is exactly a placeholder `[KIND_n]`
// with a valid kind and 1 <= n < 10^9, and returns its kind and n.
func parsePlaceholder(s string) (Kind, int, bool) {
	if len(s) < 4 || len(s) > MaxPlaceholderLen || s[0] != '[' || s[len(s)-1] != ']' {
		return "", 0, false
	}
	body := s[1 : len(s)-1]
	u := strings.LastIndexByte(body, '_')
	if u <= 0 || u == len(body)-1 {
		return "", 0, false
	}
	k, digits := Kind(body[:u]), body[u+1:]
	if !ValidKind(k) || len(digits) > maxSeqDigits || digits[0] == '0' {
		return "", 0, false
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return "", 0, false
		}
		n = n*10 + int(digits[i]-'0')
	}
	return k, n, true
}

// findPlaceholders returns the placeholder-shaped spans of text that do not
// overlap a finding, as findings of the placeholder's kind.
func findPlaceholders(text string, findings []Finding) []Finding {
	var out []Finding
	fi := 0
	for off := 0; ; {
		i := strings.IndexByte(text[off:], '[')
		if i < 0 {
			return out
		}
		s := off + i
		off = s + 1
		end := strings.IndexByte(text[s+1:min(len(text), s+MaxPlaceholderLen)], ']')
		if end < 0 {
			continue
		}
		e := s + 1 + end + 1
		k, _, ok := parsePlaceholder(text[s:e])
		if !ok {
			continue
		}
		for fi < len(findings) && findings[fi].End <= s {
			fi++
		}
		if fi < len(findings) && findings[fi].Start < e {
			continue // inside or across a finding: part of its value
		}
		out = append(out, Finding{Kind: k, Start: s, End: e})
		off = e
	}
}
