package llm_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/anthropic"
	"github.com/inferlabs/privkit/llm/gemini"
	"github.com/inferlabs/privkit/llm/llmtest"
	"github.com/inferlabs/privkit/llm/openai"
)

func TestGeminiRetryInfoThenFallbackToAnthropic(t *testing.T) {
	t.Parallel()
	retryInfo, err := os.ReadFile("gemini/testdata/gemini_error_429_retryinfo.json")
	require.NoError(t, err)
	perDay, err := os.ReadFile("gemini/testdata/gemini_error_429_quota_real.json")
	require.NoError(t, err)
	gsrv := llmtest.NewServer(t, llmtest.Status(429, string(retryInfo)), llmtest.Status(429, string(perDay)))
	asrv := llmtest.NewServer(t, llmtest.Replay(t, "anthropic/testdata/anthropic_messages_nonstream.response.http"))
	sl := &sleeper{}
	rec := &llmtest.Auditor{}
	facts := anthropic.DefaultFacts() // the test server stands in for the real API
	c, err := llm.New([]llm.Provider{
		gemini.New("k", &gemini.Options{BaseURL: gsrv.URL, Paid: true}),
		anthropic.New("k", &anthropic.Options{BaseURL: asrv.URL, Facts: &facts}),
	}, &llm.Options{Sleep: sl.Sleep, Auditor: rec})
	require.NoError(t, err)
	req := userMsg("Hello, how are you?")
	req.Requirements = llm.Requirements{NoTraining: true, MaxRetentionDays: 60}
	resp, err := c.Conversation("s").Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "anthropic", resp.Provider)
	assert.Equal(t, []time.Duration{34400 * time.Millisecond}, sl.Waits(), "Gemini's RetryInfo.retryDelay is honoured; the per-day quota is not waited for")
	assert.Len(t, gsrv.Requests(), 2)
	assert.True(t, c.CoolingDown("gemini"))
	ev := rec.Events()[0]
	for k, want := range map[string]string{"provider": "anthropic", "attempts": "3", "input_tokens": "13", "output_tokens": "35", "finish_reason": "stop", "policy": "met"} {
		got, _ := llmtest.Attr(ev, k)
		assert.Equal(t, want, got, k)
	}
	assert.Equal(t, "llm/anthropic", ev.Resource)
}

func TestFirstTokenNotDelayed(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := llmtest.NewServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"choices":[{"index":0,"delta":{"content":"Hello, "}}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `data: {"choices":[{"index":0,"delta":{"content":"world"},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	})
	c := scripted(t, nil, srv)
	var got []string
	for ch, err := range c.Conversation("s").Stream(context.Background(), userMsg("hi")) {
		require.NoError(t, err)
		if len(got) == 0 {
			close(release) // the rest is sent only after the first chunk arrived
		}
		got = append(got, ch.Text)
	}
	assert.Equal(t, "Hello, ", got[0], "the first chunk reaches the caller before the answer is complete")
	assert.Equal(t, "Hello, world", got[0]+got[1])
}

func TestAuditFailureAndLatency(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := llmtest.NewServer(t, llmtest.Status(400, `{"error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"too long"}}`))
	rec := &llmtest.Auditor{}
	p := openai.New("k", &openai.Options{BaseURL: srv.URL, Facts: trusted("openai")})
	c, err := llm.New([]llm.Provider{p}, &llm.Options{Auditor: rec, Now: fake.Now})
	require.NoError(t, err)
	_, err = c.Conversation("s").Chat(context.Background(), userMsg("x"))
	var ae *llm.APIError
	require.ErrorAs(t, err, &ae)
	assert.False(t, c.CoolingDown("openai"), "a bad request says nothing about the provider's health")
	ev := rec.Events()[0]
	assert.Equal(t, audit.Error, ev.Outcome)
	kind, _ := llmtest.Attr(ev, "error")
	assert.Equal(t, "api:context_length_exceeded", kind)
	lat, _ := llmtest.Attr(ev, "latency_ms")
	assert.Equal(t, "0", lat, "latency comes from the injected clock")
}

func TestBreakOutOfHangingStream(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.SSE(true, `data: {"choices":[{"index":0,"delta":{"content":"first"}}]}`+"\n\n"))
	c := scripted(t, &llm.Options{IdleTimeout: -1}, srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch, err := range c.Conversation("s").Stream(context.Background(), userMsg("hi")) {
			assert.NoError(t, err)
			assert.Equal(t, "first", ch.Text)
			break // the server would hang forever; leaving the loop releases it
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("breaking out of a stream did not return")
	}
	// goleak in TestMain checks that no goroutine of the call is left.
}

func TestPromptHash(t *testing.T) {
	t.Parallel()
	p := &llmtest.Provider{ProviderName: "p"}
	rec := &llmtest.Auditor{}
	c, err := llm.New([]llm.Provider{p}, &llm.Options{Auditor: rec})
	require.NoError(t, err)
	hash := func(conv *llm.Conversation, req *llm.Request) string {
		_, err := conv.Chat(context.Background(), req)
		require.NoError(t, err)
		evs := rec.Events()
		h, _ := llmtest.Attr(evs[len(evs)-1], "prompt_sha256")
		return h
	}
	a := hash(c.Conversation("a"), userMsg("mail "+email))
	b := hash(c.Conversation("b"), userMsg("mail "+email))
	other := hash(c.Conversation("c"), userMsg("mail bob@example.org"))
	sys := hash(c.Conversation("d"), &llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "mail " + email}}})
	assert.Equal(t, a, b, "the hash is of the redacted prompt: equal prompts hash equal")
	assert.Equal(t, a, other, "different addresses redact to the same placeholder, so the hash reveals nothing about them")
	assert.NotEqual(t, a, sys, "the role is part of the hash")
}

func TestRequirementsCombine(t *testing.T) {
	t.Parallel()
	us := &llmtest.Provider{ProviderName: "us", ProviderFacts: llm.Facts{RetentionDays: 10, TrainsOnData: llm.No, Regions: []string{"us"}}}
	eu := &llmtest.Provider{ProviderName: "eu", ProviderFacts: llm.Facts{RetentionDays: 30, TrainsOnData: llm.No, Regions: []string{"eu"}}}
	c, err := llm.New([]llm.Provider{us, eu}, &llm.Options{Requirements: llm.Requirements{Regions: []string{"eu", "us"}, MaxRetentionDays: 60}})
	require.NoError(t, err)
	conv := c.Conversation("s")
	tests := []struct {
		name string
		req  llm.Requirements
		want string // provider that answers, or "" for a refusal
		why  string
	}{
		{"client only", llm.Requirements{}, "us", "the client's requirements alone admit both; order decides"},
		{"request narrows regions", llm.Requirements{Regions: []string{"eu"}}, "eu", "regions allowed by both client and request"},
		{"disjoint regions", llm.Requirements{Regions: []string{"apac"}}, "", "no region is allowed by both"},
		{"stricter retention wins", llm.Requirements{MaxRetentionDays: 20}, "us", "the smaller maximum applies"},
		{"looser retention ignored", llm.Requirements{MaxRetentionDays: 90, Regions: []string{"eu"}}, "eu", "the client's 60 days still apply and eu keeps 30"},
		{"both strict", llm.Requirements{MaxRetentionDays: 20, Regions: []string{"eu"}}, "", "eu keeps too long, us is outside the region"},
	}
	for _, tt := range tests {
		req := userMsg("hi")
		req.Requirements = tt.req
		resp, err := conv.Chat(context.Background(), req)
		if tt.want == "" {
			assert.ErrorIs(t, err, llm.ErrPolicy, tt.name+": "+tt.why)
			continue
		}
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.want, resp.Provider, tt.name+": "+tt.why)
	}
}

func TestHistoryRedactedConsistently(t *testing.T) {
	t.Parallel()
	p := &llmtest.Provider{ProviderName: "p"}
	rec := &llmtest.Auditor{}
	c, err := llm.New([]llm.Provider{p}, &llm.Options{Auditor: rec})
	require.NoError(t, err)
	conv := c.Conversation("s")
	turn1 := []llm.Message{{Role: llm.RoleUser, Content: "mail " + email + " and " + email}}
	_, err = conv.Chat(context.Background(), &llm.Request{Messages: turn1})
	require.NoError(t, err)
	turn2 := append(append([]llm.Message(nil), turn1...),
		llm.Message{Role: llm.RoleAssistant, Content: "ok"},
		llm.Message{Role: llm.RoleUser, Content: "and bob@example.org"})
	_, err = conv.Chat(context.Background(), &llm.Request{Messages: turn2})
	require.NoError(t, err)
	seen := p.Seen()
	assert.Equal(t, seen[0].Messages[0].Content, seen[1].Messages[0].Content, "the resent history is redacted the same way")
	assert.Equal(t, "and [EMAIL_2]", seen[1].Messages[2].Content)
	n, _ := llmtest.Attr(rec.Events()[1], "redactions.EMAIL")
	assert.Equal(t, "3", n, "each call counts every redaction it sent, history included")
	require.NoError(t, conv.Close())
	_, err = conv.Chat(context.Background(), &llm.Request{Messages: turn2})
	assert.ErrorIs(t, err, llm.ErrClosed)
}
