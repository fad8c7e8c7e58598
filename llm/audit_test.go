package llm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCountKinds(t *testing.T) {
	t.Parallel()
	var st callState
	for _, k := range []string{"PHONE", "EMAIL", "X6", "EMAIL", "X5", "IBAN", "X6", "SECRET", "PHONE", "X6"} {
		st.countKind(k)
	}
	want := []kindCount{{"EMAIL", 2}, {"IBAN", 1}, {"PHONE", 2}, {"SECRET", 1}, {"X5", 1}, {"X6", 3}}
	assert.Equal(t, want, st.redactions(), "counts by kind, sorted, past the kinds kept without a slice")

	var none callState
	assert.Empty(t, none.redactions(), "no findings, no counts")
}
