package redact

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type corpusLine struct {
	Text     string `json:"text"`
	Entities []struct {
		Kind  Kind   `json:"kind"`
		Start int    `json:"start"`
		End   int    `json:"end"`
		Value string `json:"value"`
	} `json:"entities"`
}

func readCorpus(t testing.TB) []corpusLine {
	t.Helper()
	f, err := os.Open("testdata/corpus.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var lines []corpusLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l corpusLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		for _, e := range l.Entities {
			require.Equal(t, e.Value, l.Text[e.Start:e.End], "corpus offsets are byte offsets")
		}
		lines = append(lines, l)
	}
	require.NoError(t, sc.Err())
	return lines
}

// TestCorpus measures precision and recall per kind on the labelled corpus
// (exact span and kind must match) and fails below 0.97 for any kind.
func TestCorpus(t *testing.T) {
	t.Parallel()
	const target = 0.97
	r := New(nil)
	type score struct{ tp, fp, fn int }
	scores := map[Kind]*score{}
	for _, k := range BuiltinKinds() {
		scores[k] = &score{}
	}
	var misses []string
	for _, l := range readCorpus(t) {
		want := map[Finding]bool{}
		for _, e := range l.Entities {
			want[Finding{e.Kind, e.Start, e.End}] = true
		}
		got := r.Find(l.Text)
		for _, f := range got {
			s := scores[f.Kind]
			if want[f] {
				s.tp++
				delete(want, f)
			} else {
				s.fp++
				misses = append(misses, fmt.Sprintf("FP %s %q in %q", f.Kind, l.Text[f.Start:f.End], l.Text))
			}
		}
		for f := range want {
			scores[f.Kind].fn++
			misses = append(misses, fmt.Sprintf("FN %s %q in %q", f.Kind, l.Text[f.Start:f.End], l.Text))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-12s %5s %5s %5s %9s %7s\n", "kind", "tp", "fp", "fn", "precision", "recall")
	fail := false
	for _, k := range BuiltinKinds() {
		s := scores[k]
		p := float64(s.tp) / float64(max(1, s.tp+s.fp))
		rc := float64(s.tp) / float64(max(1, s.tp+s.fn))
		if s.tp+s.fp == 0 {
			p = 1
		}
		fmt.Fprintf(&b, "%-12s %5d %5d %5d %9.3f %7.3f\n", k, s.tp, s.fp, s.fn, p, rc)
		if p < target || rc < target {
			fail = true
		}
	}
	t.Log(b.String())
	slices.Sort(misses)
	for i, m := range misses {
		if i == 30 {
			t.Logf("... %d more", len(misses)-30)
			break
		}
		t.Log(m)
	}
	if fail {
		t.Errorf("precision and recall must be at least %.2f for every kind", target)
	}
}

// TestCorpusVault redacts every corpus line in one conversation: no
// labelled value survives in the redacted text, and restoring gives the
// line back.
func TestCorpusVault(t *testing.T) {
	t.Parallel()
	v := NewVault(New(nil))
	total := 0
	for _, l := range readCorpus(t) {
		red, fs := v.Redact(l.Text)
		for _, e := range l.Entities {
			require.NotContains(t, red, e.Value, "labelled %s survives redaction", e.Kind)
		}
		require.Equal(t, l.Text, v.Restore(red), "round trip")
		total += len(fs)
	}
	n := 0
	for _, c := range v.Counts() {
		n += c
	}
	require.Equal(t, total, n, "counts add up to the findings")
}
