package redact

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVaultRedactRestore(t *testing.T) {
	t.Parallel()
	v := NewVault(New(nil))
	in := "Mail jane@example.com and bob@example.org, then jane@example.com again."
	out, fs := v.Redact(in)
	assert.Equal(t, "Mail [EMAIL_1] and [EMAIL_2], then [EMAIL_1] again.", out, "same value, same placeholder")
	require.Len(t, fs, 3)
	assert.Equal(t, "jane@example.com", in[fs[0].Start:fs[0].End], "findings are spans of the input")
	assert.Equal(t, in, v.Restore(out), "restore inverts redact")
	assert.Equal(t, map[Kind]int{Email: 3}, v.Counts(), "counts occurrences")

	// A later turn keeps the numbering.
	out2, _ := v.Redact("cc carol@example.net and bob@example.org")
	assert.Equal(t, "cc [EMAIL_3] and [EMAIL_2]", out2, "stable across turns")
	assert.Equal(t, "see [EMAIL_9] and carol@example.net", v.Restore("see [EMAIL_9] and [EMAIL_3]"), "unknown placeholder left as is")
}

func TestVaultRestoresTo(t *testing.T) {
	t.Parallel()
	v := NewVault(nil)
	in := "Mail jane@example.com [EMAIL_1] [x and bob@example.org [EMAIL_9]"
	out, _ := v.Redact(in)
	require.Equal(t, in, v.Restore(out))
	assert.True(t, v.RestoresTo(out, in), "a text restores to its original")
	for _, other := range []string{
		"Mail jane@example.com [EMAIL_1] [x and bob@example.org [EMAIL_9]!", // longer
		"Mail jane@example.com [EMAIL_1] [x and bob@example.org [EMAIL_9",   // shorter
		"Mail jane@example.con [EMAIL_1] [x and bob@example.org [EMAIL_9]",  // another value
		"Mail jane@example.com [EMAIL_1] [y and bob@example.org [EMAIL_9]",  // another literal
		"Mail jane@example.com",
		"",
		out, // the redacted text itself
	} {
		assert.False(t, v.RestoresTo(out, other), "%q is not the original", other)
	}
	assert.True(t, v.RestoresTo("no placeholders", "no placeholders"))
	assert.True(t, v.RestoresTo("[EMAIL_77] unknown", "[EMAIL_77] unknown"), "unknown placeholders stay as they are")
	assert.True(t, v.RestoresTo("[", "["))
	assert.False(t, v.RestoresTo("[", ""))

	v.Close()
	assert.False(t, v.RestoresTo(out, in), "a closed vault restores nothing")
	assert.True(t, v.RestoresTo(out, out))
}

func TestVaultLiteralPlaceholders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, reason string
	}{
		{"literal before value", "[EMAIL_1] a@b.co", "an unknown literal is escaped so the value does not share its number"},
		{"literal after value", "a@b.co [EMAIL_1]", "a literal matching a number issued in the same call is not the value"},
		{"host-looking kind", "[NAME_7] x", "any placeholder shape is escaped"},
		{"not a placeholder", "[EMAIL_01] [email_1] [EMAIL_] [_1]", "malformed shapes are plain text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := NewVault(nil)
			out, _ := v.Redact(tt.in)
			assert.Equal(t, tt.in, v.Restore(out), tt.reason)
		})
	}
}

func TestVaultKnownPlaceholderKept(t *testing.T) {
	t.Parallel()
	v := NewVault(nil)
	out, _ := v.Redact("write to a@b.co")
	again, fs := v.Redact(out)
	assert.Equal(t, out, again, "redacting redacted text changes nothing")
	assert.Empty(t, fs, "a known placeholder is not a finding")
	assert.Equal(t, map[Kind]int{Email: 1}, v.Counts())
}

func TestVaultClose(t *testing.T) {
	t.Parallel()
	v := NewVault(nil)
	out, _ := v.Redact("a@b.co")
	v.Close()
	v.Close() // idempotent
	assert.Equal(t, out, v.Restore(out), "closed vault restores nothing")
	out2, fs := v.Redact("a@b.co and a@b.co")
	require.Len(t, fs, 2)
	assert.Equal(t, "[EMAIL_2] and [EMAIL_3]", out2, "closed vault still redacts, never reusing numbers")
	assert.Equal(t, out2, v.Restore(out2))
}

func TestVaultDoesNotLeakWhenPrinted(t *testing.T) {
	t.Parallel()
	v := NewVault(nil)
	v.Redact("jane@example.com")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("vault", "v", v)
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), buf.String()} {
		assert.NotContains(t, s, "jane", "printing a vault must not reveal values: %s", s)
	}
	assert.Equal(t, "redact.Vault{placeholders: 1, closed: false}", v.String())
}
