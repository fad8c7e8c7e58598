package redact

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestVault returns a vault that has issued [EMAIL_1], [EMAIL_2],
// [PHONE_1] and [CREDIT_CARD_1].
func newTestVault(t *testing.T) *Vault {
	t.Helper()
	v := NewVault(New(nil))
	_, fs := v.Redact(`jane@example.com, "Bob \ O'Neil" <bob@example.org>, (415) 555-0132, 4111 1111 1111 1111`)
	require.Len(t, fs, 4)
	return v
}

func TestRestoreWholeText(t *testing.T) {
	t.Parallel()
	v := newTestVault(t)
	tests := []struct{ name, in, want, reason string }{
		{"all", "[EMAIL_1] [EMAIL_2] [PHONE_1] [CREDIT_CARD_1]", "jane@example.com bob@example.org (415) 555-0132 4111 1111 1111 1111", "every known placeholder"},
		{"adjacent", "[EMAIL_1][EMAIL_1]", "jane@example.comjane@example.com", "no separator needed"},
		{"unknown", "[EMAIL_3] [NAME_1] [EMAIL_0] [EMAIL_01]", "[EMAIL_3] [NAME_1] [EMAIL_0] [EMAIL_01]", "unknown or malformed placeholders stay"},
		{"brackets", "a[b] [[EMAIL_1]] [EMAIL_1", "a[b] [jane@example.com] [EMAIL_1", "nested brackets and an unclosed one"},
		{"lowercase", "[email_1]", "[email_1]", "placeholders are exact"},
		{"none", "no brackets at all", "no brackets at all", "fast path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, v.Restore(tt.in), tt.reason)
		})
	}
}

func TestRestoreJSON(t *testing.T) {
	t.Parallel()
	v := NewVault(nil)
	// A value with a quote, a backslash, non-ASCII and a control character
	// comes from a host recognizer.
	weird := "Zoë \"Z\" O\\Neil\t☺"
	v.r = New(&Options{Recognizers: []Recognizer{RecognizerFunc(func(text string, dst []Finding) []Finding {
		if i := strings.Index(text, weird); i >= 0 {
			dst = append(dst, Finding{Kind: "NAME", Start: i, End: i + len(weird)})
		}
		return dst
	})}})
	red, _ := v.Redact("to " + weird + " at jane@example.com")
	require.Equal(t, "to [NAME_1] at [EMAIL_1]", red)

	tests := []struct{ name, in, want, reason string }{
		{"value", `{"to":"[EMAIL_1]","n":1}`, `{"to":"jane@example.com","n":1}`, "string value restored, the rest byte for byte"},
		{"escaped value", `{"name":"[NAME_1]"}`, `{"name":"Zoë \"Z\" O\\Neil\t☺"}`, "quotes, backslashes and control characters escaped"},
		{"in text", `{"body":"Hi [NAME_1], mail [EMAIL_1]!"}`, `{"body":"Hi Zoë \"Z\" O\\Neil\t☺, mail jane@example.com!"}`, "inside longer strings"},
		{"unicode escape", `{"to":"\u005bEMAIL_1]"}`, `{"to":"jane@example.com"}`, "escapes are decoded before matching"},
		{"key", `{"[EMAIL_1]":true}`, `{"jane@example.com":true}`, "object keys too"},
		{"nested", ` [ {"a": ["[EMAIL_1]", 2.50, null]} ] `, ` [ {"a": ["jane@example.com", 2.50, null]} ] `, "formatting and numbers preserved"},
		{"unknown", `{"to":"[EMAIL_9]","s":"a\"b"}`, `{"to":"[EMAIL_9]","s":"a\"b"}`, "unchanged strings copied as written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.RestoreJSON([]byte(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got), tt.reason)
			assert.True(t, json.Valid(got), "output is valid JSON")
		})
	}

	var decoded map[string]string
	got, err := v.RestoreJSON([]byte(`{"name":"[NAME_1]"}`))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(got, &decoded))
	assert.Equal(t, weird, decoded["name"], "decodes to the exact value")

	for _, bad := range []string{``, `{`, `{"a":"[EMAIL_1]"`, `{"a":1,}`, `"\x"`, `nul`} {
		_, err := v.RestoreJSON([]byte(bad))
		assert.True(t, errors.Is(err, ErrInvalidJSON), "invalid JSON %q is an error", bad)
	}
}

// TestRestorerEverySplit splits a text at every pair of points and checks
// that the stream restores exactly like the whole text.
func TestRestorerEverySplit(t *testing.T) {
	t.Parallel()
	v := newTestVault(t)
	text := "Hi [EMAIL_1], call [PHONE_1] or [[EMAIL_2]] about [CREDIT_CARD_1]; [EMAIL_9] [x"
	want := v.Restore(text)
	require.Contains(t, want, "jane@example.com")
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			s := v.NewRestorer()
			got := s.Write(text[:i]) + s.Write(text[i:j]) + s.Write(text[j:]) + s.Flush()
			require.Equal(t, want, got, "split at %d and %d", i, j)
		}
	}
	// Byte by byte, and the hold-back stays bounded.
	s := v.NewRestorer()
	var b strings.Builder
	longest := len("[CREDIT_CARD_1]")
	for i := 0; i < len(text); i++ {
		b.WriteString(s.Write(text[i : i+1]))
		assert.Less(t, s.Pending(), longest, "hold-back shorter than the longest placeholder")
	}
	b.WriteString(s.Flush())
	assert.Equal(t, want, b.String())
}

func TestRestorerNoDelay(t *testing.T) {
	t.Parallel()
	v := newTestVault(t)
	s := v.NewRestorer()
	assert.Equal(t, "Hello", s.Write("Hello"), "text without '[' is emitted at once")
	assert.Equal(t, ", ", s.Write(", [EM"), "a possible placeholder prefix is held")
	assert.Equal(t, 3, s.Pending(), "only \"[EM\" is held")
	assert.Equal(t, "jane@example.com!", s.Write("AIL_1]!"), "completed and restored")
	assert.Equal(t, "[x] [EMAIL_9]", s.Write("[x] [EMAIL_9]"), "not a prefix of a known placeholder: emitted")
	assert.Equal(t, "", s.Write("[PHONE_"), "held")
	assert.Equal(t, "[PHONE_", s.Flush(), "flush releases an incomplete placeholder as text")
	assert.Equal(t, "after", s.Write("after"), "reusable after Flush")

	empty := NewVault(nil).NewRestorer()
	assert.Equal(t, "[EMAIL_", empty.Write("[EMAIL_"), "a vault without placeholders holds nothing back")
}
