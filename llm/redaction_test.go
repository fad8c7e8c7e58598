package llm

import (
	"context"
	"hash/maphash"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The conversation's cache of redactions is keyed by a 64-bit hash; a hit
// counts only when the vault restores the remembered redaction to the very
// text. Here another text's redaction sits under the text's key, as a hash
// collision would put it.
func TestRedactTextCacheChecksHits(t *testing.T) {
	t.Parallel()
	c, err := New([]Provider{namedProvider("p")}, nil)
	require.NoError(t, err)
	cv := c.Conversation("user:1")
	defer cv.Close()

	st := &callState{}
	first := "Write to alice@example.com"
	red, sum := cv.redactText(first, st)
	require.Equal(t, "Write to [EMAIL_1]", red)
	again, againSum := cv.redactText(first, st)
	assert.Equal(t, red, again, "a resent text is served from the cache")
	assert.Equal(t, sum, againSum)
	assert.Len(t, cv.texts, 1, "a hit adds nothing")
	assert.Equal(t, []kindCount{{"EMAIL", 2}}, st.redactions(), "a hit counts its findings again")

	// Plant the first text's redaction under the key of another text.
	other := "Write to bob@example.org"
	cv.cache[maphash.String(cv.seed, other)] = cv.cache[maphash.String(cv.seed, first)]
	got, _ := cv.redactText(other, &callState{})
	assert.Equal(t, "Write to [EMAIL_2]", got, "a colliding key must not return another text's redaction")
	assert.Equal(t, other, cv.vault.Restore(got))
	assert.Len(t, cv.texts, 2)
}

// namedProvider is a provider that is never called.
type namedProvider string

func (p namedProvider) Name() string { return string(p) }
func (p namedProvider) Facts() Facts { return UnknownFacts(string(p)) }
func (p namedProvider) Chat(context.Context, *Request) (*Response, error) {
	panic("not called")
}
func (p namedProvider) Stream(context.Context, *Request) iter.Seq2[Chunk, error] {
	panic("not called")
}
