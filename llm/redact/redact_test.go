package redact

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptionsKinds(t *testing.T) {
	t.Parallel()
	text := "a@b.co (415) 555-0132 10.0.0.1"
	tests := []struct {
		name   string
		opts   *Options
		want   []string
		reason string
	}{
		{"nil options", nil, []string{"EMAIL:a@b.co", "PHONE:(415) 555-0132", "IP_ADDRESS:10.0.0.1"}, "all built-in recognizers"},
		{"nil kinds", &Options{}, []string{"EMAIL:a@b.co", "PHONE:(415) 555-0132", "IP_ADDRESS:10.0.0.1"}, "nil Kinds means all"},
		{"some kinds", &Options{Kinds: []Kind{IPAddress, Email, Email}}, []string{"EMAIL:a@b.co", "IP_ADDRESS:10.0.0.1"}, "only the named kinds, duplicates ignored"},
		{"no kinds", &Options{Kinds: []Kind{}}, []string{}, "empty non-nil Kinds means none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, found(text, New(tt.opts).Find(text)), tt.reason)
		})
	}
	assert.PanicsWithValue(t, "redact: no built-in recognizer for kind NAME", func() { New(&Options{Kinds: []Kind{"NAME"}}) },
		"naming a kind without a built-in recognizer is a programmer error")
}

func TestValidKind(t *testing.T) {
	t.Parallel()
	for _, k := range BuiltinKinds() {
		assert.True(t, ValidKind(k), "built-in kind %s", k)
	}
	assert.True(t, ValidKind(Other))
	for _, k := range []Kind{"", "email", "_A", "A_", "A-B", "Ä", Kind(strings.Repeat("A", MaxKindLen+1)), "1A"} {
		assert.False(t, ValidKind(k), "%q is not usable in a placeholder", k)
	}
	assert.True(t, ValidKind(Kind(strings.Repeat("A", MaxKindLen))), "longest kind")
}

func TestHostRecognizers(t *testing.T) {
	t.Parallel()
	text := "Ask Jane Doe at jane@example.com"
	host := RecognizerFunc(func(text string, dst []Finding) []Finding {
		i := strings.Index(text, "Jane Doe")
		return append(dst,
			Finding{Kind: "PERSON", Start: i, End: i + len("Jane Doe")},
			Finding{Kind: "person", Start: 0, End: 3},                      // invalid kind -> PII
			Finding{Kind: "PERSON", Start: -1, End: 2},                     // out of bounds: dropped
			Finding{Kind: "PERSON", Start: 10, End: len(text) + 1},         // out of bounds: dropped
			Finding{Kind: "PERSON", Start: 5, End: 5},                      // empty: dropped
			Finding{Kind: "DOMAIN", Start: len(text) - 11, End: len(text)}, // inside the e-mail: loses
		)
	})
	r := New(&Options{Recognizers: []Recognizer{host, nil}})
	assert.Equal(t, []string{"PII:Ask", "PERSON:Jane Doe", "EMAIL:jane@example.com"}, found(text, r.Find(text)),
		"host findings are validated, invalid kinds become PII, overlaps resolved")
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     []Finding
		want   []Finding
		reason string
	}{
		{"longest wins", []Finding{{Phone, 0, 5}, {"NAME", 3, 12}}, []Finding{{"NAME", 3, 12}}, "longer span"},
		{"priority on tie", []Finding{{Phone, 0, 10}, {CreditCard, 0, 10}}, []Finding{{CreditCard, 0, 10}}, "same span: more specific kind"},
		{"chain", []Finding{{"A", 0, 4}, {"B", 3, 10}, {"C", 9, 13}}, []Finding{{"B", 3, 10}}, "middle is longest and excludes both"},
		{"chain ends", []Finding{{"A", 0, 6}, {"B", 5, 9}, {"C", 8, 14}}, []Finding{{"A", 0, 6}, {"C", 8, 14}}, "two long ends beat the short middle"},
		{"disjoint", []Finding{{"B", 5, 6}, {"A", 0, 1}}, []Finding{{"A", 0, 1}, {"B", 5, 6}}, "sorted by start"},
		{"adjacent", []Finding{{"A", 0, 5}, {"B", 5, 6}}, []Finding{{"A", 0, 5}, {"B", 5, 6}}, "touching spans do not overlap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, resolve(tt.in), tt.reason)
		})
	}
}

// TestLinearTime feeds pathological inputs of 128 KiB; a quadratic scanner
// would take minutes.
func TestLinearTime(t *testing.T) {
	t.Parallel()
	const size = 128 << 10
	r := New(nil)
	for _, unit := range []string{
		"a@", "@a.", "a", "1", "1 ", "1-", "+1 ", "(1) ", "1.", "::", "a:", "1.1.", "[", "[EMAIL_",
		"sk-", "eyJaaaaaaaaaaaa.", "-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----\n-----END PRIVATE KEY-----",
		"DE89 ", "GB", "AKIA", "ghp_", "xoxb-", "aws_secret_access_key=", "0", "00 ",
	} {
		text := strings.Repeat(unit, size/len(unit))
		start := time.Now()
		fs := r.Find(text)
		v := NewVault(r)
		red, _ := v.Redact(text)
		require.Equal(t, text, v.Restore(red), "round trip for %q", unit)
		d := time.Since(start)
		t.Logf("%-40q %6d findings %v", unit, len(fs), d)
		assert.Less(t, d, 10*time.Second, "input of %q repeated took %v", unit, d)
	}
}

func TestVaultConcurrent(t *testing.T) {
	t.Parallel()
	v := NewVault(nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := v.NewRestorer()
			for i := range 50 {
				in := fmt.Sprintf("user%d@example.com and shared@example.com", (g*50+i)%37)
				out, _ := v.Redact(in)
				assert.Equal(t, in, v.Restore(out))
				assert.Equal(t, in, s.Write(out)+s.Flush())
				v.Counts()
			}
		}()
	}
	wg.Wait()
	out, _ := v.Redact("shared@example.com")
	assert.Regexp(t, `^\[EMAIL_\d+\]$`, out)
	assert.Equal(t, 4*50*2+1, v.Counts()[Email], "every occurrence counted")
}
