package redact

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// hostile is a host recognizer that reports spans derived from the text:
// out of bounds, empty, reversed, overlapping, with invalid kinds.
var hostile = RecognizerFunc(func(text string, dst []Finding) []Finding {
	for i := 0; i+1 < len(text) && i < 64; i += 3 {
		a, b := int(text[i])-16, int(text[i+1])+i-64
		kinds := []Kind{"NAME", "", "bad kind", "EMAIL", "X_"}
		dst = append(dst, Finding{Kind: kinds[i%len(kinds)], Start: a, End: b})
	}
	return dst
})

func checkFindings(t *testing.T, text string, fs []Finding) {
	t.Helper()
	last := 0
	for _, f := range fs {
		if f.Start < last || f.Start >= f.End || f.End > len(text) {
			t.Fatalf("bad finding %+v after %d in %d bytes", f, last, len(text))
		}
		if !ValidKind(f.Kind) {
			t.Fatalf("invalid kind %q", f.Kind)
		}
		last = f.End
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"", "a@b.co", "[EMAIL_1] a@b.co [EMAIL_1]", "+44 (0)20 7946 0958", "4111 1111 1111 1111",
		"DE89 3704 0044 0532 0130 00", "::ffff:1.2.3.4%eth0", "-----BEGIN PRIVATE KEY-----\nx",
		"eyJaaaaaaaaaaaa.eyJaaaaaaaaaaa.", "in 2024 (555) 234-5678", "Zoë@ex.com é4111111111111111",
		"Login failed for jnielsen10@inferlabs.io from 201.238.97.20; card on file 5583 9145 4981 7415.",
	} {
		f.Add(s)
	}
	builtin := New(nil)
	withHost := New(&Options{Recognizers: []Recognizer{hostile}})
	f.Fuzz(func(t *testing.T, text string) {
		for _, f := range builtin.Find(text) {
			// Built-in findings never split a UTF-8 sequence of valid text.
			if utf8.ValidString(text) && (!utf8.RuneStart(text[f.Start]) || f.End < len(text) && !utf8.RuneStart(text[f.End])) {
				t.Fatalf("finding %+v splits a rune", f)
			}
		}
		for _, r := range []*Redactor{builtin, withHost} {
			fs := r.Find(text)
			checkFindings(t, text, fs)
			v := NewVault(r)
			red, fs2 := v.Redact(text)
			checkFindings(t, text, fs2)
			if got := v.Restore(red); got != text {
				t.Fatalf("Restore(Redact(x)) != x\n x: %q\nred: %q\ngot: %q", text, red, got)
			}
			if !v.RestoresTo(red, text) {
				t.Fatalf("RestoresTo(Redact(x), x) is false\n x: %q\nred: %q", text, red)
			}
		}
	})
}

func FuzzRestorer(f *testing.F) {
	f.Add("Hi [EMAIL_1], call [PHONE_1] or [[EMAIL_2]] [CREDIT_CARD_1", []byte{3, 1, 4, 1, 5})
	f.Add("[[[[EMAIL_1]]]]", []byte{1, 1, 1, 1, 1, 1, 1})
	f.Add("[EMAIL_12] [EMAIL_1", []byte{0, 9})
	f.Fuzz(func(t *testing.T, text string, cuts []byte) {
		v := NewVault(nil)
		v.Redact("a@b.co c@d.co (415) 555-0132 4111 1111 1111 1111")
		want := v.Restore(text)
		s := v.NewRestorer()
		got := ""
		rest := text
		for _, c := range cuts {
			n := min(int(c), len(rest))
			got += s.Write(rest[:n])
			rest = rest[n:]
			if s.Pending() >= MaxPlaceholderLen {
				t.Fatalf("hold-back %d", s.Pending())
			}
		}
		got += s.Write(rest) + s.Flush()
		if got != want {
			t.Fatalf("stream %q != whole %q", got, want)
		}
		// RestoresTo agrees with Restore, on the restored text and on
		// texts cut or changed at each cut.
		if !v.RestoresTo(text, want) {
			t.Fatalf("RestoresTo(x, Restore(x)) is false for %q", text)
		}
		for _, c := range cuts {
			if len(want) == 0 {
				break
			}
			i := int(c) % len(want)
			for _, other := range []string{want[:i], want[:i] + "x" + want[i+1:], want + want[i:i+1]} {
				if v.RestoresTo(text, other) != (other == want) {
					t.Fatalf("RestoresTo(%q, %q) != (Restore(x) == y)", text, other)
				}
			}
		}
	})
}

func FuzzRestoreJSON(f *testing.F) {
	for _, s := range []string{`{"to":"[EMAIL_1]"}`, `["\u005bEMAIL_1]", "x\"[EMAIL_1]\\"]`, `{`, `"\ud800[EMAIL_1]"`, `1`, "\"\xff[EMAIL_1]\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := NewVault(nil)
		v.Redact(`a"b\c@x.co and "q"@e.com and d@e.fr`)
		out, err := v.RestoreJSON(data)
		if !json.Valid(data) {
			if err == nil {
				t.Fatalf("invalid JSON accepted")
			}
			return
		}
		if err != nil {
			t.Fatalf("valid JSON rejected: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("output not valid JSON: %q", out)
		}
		// Decoding the output equals decoding the input and restoring.
		var in, got any
		if json.Unmarshal(data, &in) != nil || json.Unmarshal(out, &got) != nil {
			return // numbers out of range etc.
		}
		want := restoreAny(v, in)
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if string(wb) != string(gb) {
			t.Fatalf("got %s want %s", gb, wb)
		}
	})
}

func restoreAny(v *Vault, x any) any {
	switch x := x.(type) {
	case string:
		return v.Restore(x)
	case []any:
		for i := range x {
			x[i] = restoreAny(v, x[i])
		}
		return x
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[v.Restore(k)] = restoreAny(v, e)
		}
		return m
	}
	return x
}
