package openaifake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFake(t *testing.T) {
	t.Parallel()
	s := openaifake.NewServer(&openaifake.Options{Reply: func(r openaifake.Request) string { return "héllo wörld, " + r.Model }, ChunkSize: 1})
	defer s.Close()
	p := openai.New("", &openai.Options{BaseURL: s.URL, Model: "m1"})
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "sys"}, {Role: llm.RoleUser, Content: "hi"}}}
	resp, err := p.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "héllo wörld, m1", resp.Text)
	assert.Equal(t, "fake-model", resp.Model)
	assert.Equal(t, 2, resp.Usage.InputTokens)

	var b strings.Builder
	n := 0
	for ch, err := range p.Stream(context.Background(), req) {
		require.NoError(t, err)
		b.WriteString(ch.Text)
		n++
	}
	assert.Equal(t, "héllo wörld, m1", b.String(), "chunks never split a character")
	assert.Greater(t, n, 10)

	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, []openaifake.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "hi"}}, reqs[0].Messages)
	assert.False(t, reqs[0].Stream)
	assert.True(t, reqs[1].Stream)
	require.NotNil(t, reqs[1].Store)

	resp2, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader("{"))
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp2.StatusCode, "bad JSON is a 400")
	s.Close()
	s.Close()
}

func TestFakeFacts(t *testing.T) {
	t.Parallel()
	s := openaifake.NewServer(nil)
	defer s.Close()
	f := s.Facts()
	assert.Empty(t, llm.Requirements{NoTraining: true, NoHumanReview: true, MaxRetentionDays: 1}.Unmet(f), "the fake meets the usual requirements")
	assert.NotEmpty(t, llm.Requirements{ZeroDataRetention: true}.Unmet(f), "it keeps requests, so it is no ZDR provider")
}
