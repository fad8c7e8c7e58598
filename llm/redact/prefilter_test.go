package redact

import (
	"reflect"
	"strings"
	"testing"
)

// findUnfiltered is Find without the byte-class prefilter: every built-in
// scanner runs.
func findUnfiltered(text string) []Finding {
	var fs []Finding
	for _, b := range builtins {
		fs = b.find(text, fs)
	}
	return resolve(fs)
}

// prefilterSeeds hold each kind, texts without the classes a kind needs,
// and labels and prefixes next to look-alikes.
var prefilterSeeds = []string{
	"",
	"Plain prose without digits, at-signs or colons, about secrets and access keys.",
	"mail jane.doe@example.com or call +44 20 7946 0958 / (415) 555-0132",
	"card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 078-05-1121",
	"hosts 203.0.113.42 and 2001:db8::8a2e:370:7334; also fe80::1 and ::ffff:192.0.2.1",
	"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ecret_access ECRET_ACCESS_KEY: x",
	`"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" ccc CCC eecretAccessKey`,
	"key sk-proj-Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_ and AKIAIOSFODNN7EXAMPLE, ghp_" + strings.Repeat("a1", 18),
	"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
	"+3545551234", "1.2.3.4", "::1 fe80::1", "078-05-1121", "4111111111111111", "NO9386011117947",
	"xoxb-1234567890-abcdefghij AIza" + strings.Repeat("B", 35) + " eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
}

func checkPrefilter(t *testing.T, text string) {
	t.Helper()
	got, want := New(nil).Find(text), findUnfiltered(text)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("prefilter changed the findings of %q:\ngot  %v\nwant %v", text, got, want)
	}
}

func TestPrefilterKeepsFindings(t *testing.T) {
	t.Parallel()
	for _, s := range prefilterSeeds {
		checkPrefilter(t, s)
	}
	for _, l := range readCorpus(t) {
		checkPrefilter(t, l.Text)
		for _, e := range l.Entities {
			checkPrefilter(t, e.Value) // the value alone: the fewest bytes it can have
		}
	}
	for _, l := range awsSecretLabels {
		checkPrefilter(t, l)
		checkPrefilter(t, l[1:])
		checkPrefilter(t, l[:len(l)-1])
	}
}

func FuzzPrefilter(f *testing.F) {
	for _, s := range prefilterSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkPrefilter(t, text)
	})
}
