package llm

import (
	"context"
	"hash/maphash"
	"iter"
	"strconv"
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
	cv := testConversation(t)

	st := &callState{}
	first := "Write to alice@example.com"
	red, sum := cv.redactText(first, st)
	require.Equal(t, "Write to [EMAIL_1]", red)
	again, againSum := cv.redactText(first, st)
	assert.Equal(t, red, again, "a resent text is served from the cache")
	assert.Equal(t, sum, againSum)
	assert.Len(t, cv.texts, 1, "a hit adds nothing")
	assert.Equal(t, []kindCount{{"EMAIL", 2}}, st.redactions(), "a hit counts its findings again")

	// A text that redacts to itself, such as an answer resent with its
	// placeholders, is served from the cache too.
	answer := "I wrote to [EMAIL_1]."
	got, _ := cv.redactText(answer, st)
	require.Equal(t, answer, got)
	n := len(cv.texts)
	got, _ = cv.redactText(answer, st)
	assert.Equal(t, answer, got)
	assert.Len(t, cv.texts, n, "a text kept as it is is remembered")

	// Plant the first text's redaction under the key of another text.
	other := "Write to bob@example.org"
	cv.cache[maphash.String(cv.seed, other)] = cv.cache[maphash.String(cv.seed, first)]
	got, _ = cv.redactText(other, &callState{})
	assert.Equal(t, "Write to [EMAIL_2]", got, "a colliding key must not return another text's redaction")
	assert.Equal(t, other, cv.vault.Restore(got))
	assert.Len(t, cv.texts, n+1)
}

// A conversation remembers about as many redactions as its latest request
// holds texts: each turn's previous question is forgotten, the history is
// kept.
func TestRedactTextCacheTrims(t *testing.T) {
	t.Parallel()
	cv := testConversation(t)

	msgs := []Message{
		{Role: RoleSystem, Content: "You are a careful analyst."},
		{Role: RoleUser, Content: "Write to alice@example.com about the figures."},
		{Role: RoleUser},
	}
	question := func(i int) string { return "Question " + strconv.Itoa(i) + " for bob@example.org" }
	for i := range 200 {
		msgs[2].Content = question(i)
		red := cv.redactRequest(&Request{Messages: msgs}, &callState{})
		require.Equal(t, "Write to [EMAIL_1] about the figures.", red.Messages[1].Content)
		require.LessOrEqual(t, len(cv.texts), 2*len(msgs)+minCachedTexts, "turn %d", i)
		require.Len(t, cv.cache, len(cv.texts), "every remembered text is indexed")
	}
	_, old := cv.cache[maphash.String(cv.seed, question(0))]
	assert.False(t, old, "an early question is forgotten")
	n := len(cv.texts)
	for _, m := range msgs {
		cv.redactText(m.Content, &callState{})
	}
	assert.Len(t, cv.texts, n, "the latest request's texts are all remembered")
}

// testConversation is a conversation of a client with default options,
// closed when the test ends.
func testConversation(t *testing.T) *Conversation {
	t.Helper()
	c, err := New([]Provider{namedProvider("p")}, nil)
	require.NoError(t, err)
	cv := c.Conversation("user:1")
	t.Cleanup(func() { _ = cv.Close() })
	return cv
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
