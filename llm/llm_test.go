package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/llmtest"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const email = "alice.smith@example.com"

// sleeper records the waits the client asked for without waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// trusted are facts good enough for any requirement in these tests.
func trusted(name string) *llm.Facts {
	return &llm.Facts{Provider: name, RetentionDays: 0, TrainsOnData: llm.No, HumanReview: llm.No, ZeroDataRetention: llm.Yes, Regions: []string{"eu"}}
}

func userMsg(s string) *llm.Request {
	return &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: s}}}
}

func TestChatRedactsAndRestores(t *testing.T) {
	t.Parallel()
	fake := openaifake.NewServer(nil)
	defer fake.Close()
	rec := &llmtest.Auditor{}
	c, err := llm.New([]llm.Provider{openai.New("k", &openai.Options{BaseURL: fake.URL})}, &llm.Options{Auditor: rec})
	require.NoError(t, err)
	conv := c.Conversation("user:u_1")
	defer conv.Close()

	resp, err := conv.Chat(context.Background(), userMsg("Please email "+email+" today"))
	require.NoError(t, err)
	assert.Equal(t, "You said: Please email "+email+" today", resp.Text, "the echoed placeholder is restored")
	assert.Equal(t, "openai", resp.Provider)

	resp, err = conv.Chat(context.Background(), userMsg("again: "+email))
	require.NoError(t, err)
	assert.Equal(t, "You said: again: "+email, resp.Text)

	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.NotContains(t, string(r.Body), "alice", "the provider never sees the address")
		require.NotNil(t, r.Store)
		assert.False(t, *r.Store, "store:false is always sent")
	}
	assert.Equal(t, "Please email [EMAIL_1] today", reqs[0].Messages[0].Content)
	assert.Equal(t, "again: [EMAIL_1]", reqs[1].Messages[0].Content, "the placeholder is stable across turns")

	evs := rec.Events()
	require.Len(t, evs, 2, "one audit event per call")
	ev := evs[0]
	assert.Equal(t, audit.Success, ev.Outcome)
	assert.Equal(t, "llm.chat", ev.Action)
	assert.Equal(t, "user:u_1", ev.Subject)
	assert.Equal(t, llm.PurposeLLMProcessing, ev.Purpose)
	for key, want := range map[string]string{"provider": "openai", "model": "fake-model", "redactions.EMAIL": "1", "redactions": "1", "policy": "none", "consent": "unchecked", "attempts": "1"} {
		got, ok := llmtest.Attr(ev, key)
		assert.True(t, ok, key)
		assert.Equal(t, want, got, key)
	}
	h, _ := llmtest.Attr(ev, "prompt_sha256")
	assert.Len(t, h, 64, "a SHA-256 of the redacted prompt")
	h2, _ := llmtest.Attr(evs[1], "prompt_sha256")
	assert.NotEqual(t, h, h2)
	for _, e := range evs {
		for _, a := range e.Attrs {
			assert.NotContains(t, a.Value(), "alice", "audit events never carry content")
			assert.NotContains(t, a.Value(), "Please", "audit events never carry content")
		}
	}
}

func TestStreamRestoresAcrossChunks(t *testing.T) {
	t.Parallel()
	fake := openaifake.NewServer(&openaifake.Options{ChunkSize: 3})
	defer fake.Close()
	rec := &llmtest.Auditor{}
	c, err := llm.New([]llm.Provider{openai.New("k", &openai.Options{BaseURL: fake.URL})}, &llm.Options{Auditor: rec})
	require.NoError(t, err)
	conv := c.Conversation("user:u_1")
	defer conv.Close()
	var got strings.Builder
	var last llm.Chunk
	n := 0
	for ch, err := range conv.Stream(context.Background(), userMsg("write to "+email+" and "+email)) {
		require.NoError(t, err)
		assert.NotContains(t, ch.Text, "[EMAIL", "no placeholder, whole or partial, reaches the caller")
		got.WriteString(ch.Text)
		last = ch
		n++
	}
	assert.Equal(t, "You said: write to "+email+" and "+email, got.String())
	assert.Greater(t, n, 5, "the answer arrives in pieces")
	assert.Equal(t, llm.FinishStop, last.FinishReason)
	assert.Equal(t, "openai", last.Provider)
	require.NotNil(t, last.Usage)
	assert.Contains(t, fake.Requests()[0].Messages[0].Content, "[EMAIL_1]")
	evs := rec.Events()
	require.Len(t, evs, 1)
	assert.Equal(t, "llm.stream", evs[0].Action)
	out, _ := llmtest.Attr(evs[0], "output_tokens")
	assert.NotEqual(t, "0", out, "usage from the stream reaches the audit event")
	cnt, _ := llmtest.Attr(evs[0], "redactions.EMAIL")
	assert.Equal(t, "2", cnt)
}

func TestStreamBreakEarly(t *testing.T) {
	t.Parallel()
	fake := openaifake.NewServer(&openaifake.Options{ChunkSize: 2})
	defer fake.Close()
	rec := &llmtest.Auditor{}
	c, err := llm.New([]llm.Provider{openai.New("k", &openai.Options{BaseURL: fake.URL})}, &llm.Options{Auditor: rec})
	require.NoError(t, err)
	conv := c.Conversation("s")
	for ch, err := range conv.Stream(context.Background(), userMsg("a long enough message")) {
		require.NoError(t, err)
		_ = ch
		break
	}
	evs := rec.Events()
	require.Len(t, evs, 1, "a stream the caller left early is still audited")
	stopped, _ := llmtest.Attr(evs[0], "stopped_early")
	assert.Equal(t, "true", stopped)
	assert.Equal(t, audit.Success, evs[0].Outcome)
}

func TestPolicyRefusalBeforeNetwork(t *testing.T) {
	t.Parallel()
	trains := &llmtest.Provider{ProviderName: "free", ProviderFacts: llm.Facts{Provider: "free", RetentionDays: -1, TrainsOnData: llm.Yes, HumanReview: llm.Yes}}
	longer := &llmtest.Provider{ProviderName: "paid", ProviderFacts: llm.Facts{Provider: "paid", RetentionDays: 55, TrainsOnData: llm.No, HumanReview: llm.Yes, Regions: []string{"us"}}}
	unknown := &llmtest.Provider{ProviderName: "local", ProviderFacts: llm.UnknownFacts("local")}
	rec := &llmtest.Auditor{}
	c, err := llm.New([]llm.Provider{trains, longer, unknown}, &llm.Options{Auditor: rec, Requirements: llm.Requirements{NoTraining: true}})
	require.NoError(t, err)
	conv := c.Conversation("s")
	req := userMsg("hi")
	req.Requirements = llm.Requirements{MaxRetentionDays: 30, Regions: []string{"eu"}}
	_, err = conv.Chat(context.Background(), req)
	require.ErrorIs(t, err, llm.ErrPolicy)
	var pe *llm.PolicyError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Refusals, 3, "every provider is listed")
	assert.Equal(t, "free", pe.Refusals[0].Provider)
	assert.Len(t, pe.Refusals[0].Unmet, 3, "trains, unknown retention, unknown regions")
	assert.Equal(t, []string{"max retention 30 days: provider retains 55 days", "regions eu: provider may process in us"}, pe.Refusals[1].Unmet)
	assert.Len(t, pe.Refusals[2].Unmet, 3, "unknown facts count as the worst case")
	assert.Contains(t, err.Error(), "paid: max retention 30 days")
	assert.Zero(t, trains.Calls()+longer.Calls()+unknown.Calls(), "no provider was called")

	evs := rec.Events()
	require.Len(t, evs, 1)
	assert.Equal(t, audit.Denied, evs[0].Outcome)
	pol, _ := llmtest.Attr(evs[0], "policy")
	assert.Equal(t, "refused", pol)

	// Only the provider that meets the requirements is used.
	req.Requirements = llm.Requirements{MaxRetentionDays: 60}
	resp, err := conv.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "paid", resp.Provider)
	assert.Zero(t, trains.Calls(), "the provider that trains on data is never called")
}

func TestRequirementsUnmet(t *testing.T) {
	t.Parallel()
	good := llm.Facts{RetentionDays: 0, TrainsOnData: llm.No, HumanReview: llm.No, ZeroDataRetention: llm.Yes, Regions: []string{"eu"}, Certifications: []string{"SOC 2 Type 2"}}
	tests := []struct {
		name  string
		req   llm.Requirements
		facts llm.Facts
		unmet int
		why   string
	}{
		{"nothing required", llm.Requirements{}, llm.UnknownFacts("x"), 0, "the zero requirements accept anything"},
		{"all met", llm.Requirements{NoTraining: true, NoHumanReview: true, ZeroDataRetention: true, MaxRetentionDays: 1, Regions: []string{"EU", "us"}, Certifications: []string{"soc 2 type 2"}}, good, 0, "every fact is attested and fits; case does not matter"},
		{"all unknown", llm.Requirements{NoTraining: true, NoHumanReview: true, ZeroDataRetention: true, MaxRetentionDays: 1, Regions: []string{"eu"}, Certifications: []string{"ISO 27001"}}, llm.UnknownFacts("x"), 6, "unknown is the worst case for each"},
		{"region outside", llm.Requirements{Regions: []string{"eu"}}, llm.Facts{Regions: []string{"eu", "us"}}, 1, "every provider region must be allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Len(t, tt.req.Unmet(tt.facts), tt.unmet, tt.why)
		})
	}
}

func TestConsent(t *testing.T) {
	t.Parallel()
	p := &llmtest.Provider{ProviderName: "p", ProviderFacts: *trusted("p")}
	tests := []struct {
		name    string
		checker llm.ConsentFunc
		wantErr bool
		outcome audit.Outcome
	}{
		{"allowed", func(context.Context, string, string) (bool, error) { return true, nil }, false, audit.Success},
		{"refused", func(context.Context, string, string) (bool, error) { return false, nil }, true, audit.Denied},
		{"check fails closed", func(context.Context, string, string) (bool, error) { return true, errors.New("db down") }, true, audit.Denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var asked []string
			var mu sync.Mutex
			rec := &llmtest.Auditor{}
			check := llm.ConsentFunc(func(ctx context.Context, subject, purpose string) (bool, error) {
				mu.Lock()
				asked = append(asked, subject+"/"+purpose)
				mu.Unlock()
				return tt.checker(ctx, subject, purpose)
			})
			c, err := llm.New([]llm.Provider{p}, &llm.Options{Consent: check, Auditor: rec})
			require.NoError(t, err)
			_, err = c.Conversation("user:u_9").Chat(context.Background(), userMsg("hi"))
			if tt.wantErr {
				assert.ErrorIs(t, err, llm.ErrConsent)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, []string{"user:u_9/llm_processing"}, asked)
			require.Len(t, rec.Events(), 1)
			assert.Equal(t, tt.outcome, rec.Events()[0].Outcome)
		})
	}
}

func TestToolCallArgumentsRedacted(t *testing.T) {
	t.Parallel()
	var seen *llm.Request
	p := &llmtest.Provider{ProviderName: "p", ProviderFacts: *trusted("p"), Reply: func(req *llm.Request) (*llm.Response, error) {
		seen = req
		// The model answers with a tool call that uses the placeholder.
		return &llm.Response{Text: "ok", ToolCalls: []llm.ToolCall{{ID: "c2", Name: "send", Arguments: json.RawMessage(`{"to":"[EMAIL_1]","n":[1,"[EMAIL_1]"]}`)}}, FinishReason: llm.FinishToolCalls}, nil
	}}
	c, err := llm.New([]llm.Provider{p}, nil)
	require.NoError(t, err)
	conv := c.Conversation("s")
	req := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Content: "mail " + email},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "lookup", Arguments: json.RawMessage(`{"who":"` + email + `","k":3}`)}}},
		{Role: llm.RoleTool, ToolCallID: "c1", Content: "found " + email},
	}}
	resp, err := conv.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.JSONEq(t, `{"who":"[EMAIL_1]","k":3}`, string(seen.Messages[1].ToolCalls[0].Arguments), "tool-call arguments are redacted")
	assert.Equal(t, "found [EMAIL_1]", seen.Messages[2].Content, "tool results are redacted")
	assert.JSONEq(t, `{"to":"`+email+`","n":[1,"`+email+`"]}`, string(resp.ToolCalls[0].Arguments), "tool-call arguments in the answer are restored")
	assert.Equal(t, email, req.Messages[0].Content[5:], "the caller's request is not modified")
}

// scripted returns a client over openai providers at the given servers.
func scripted(t *testing.T, opts *llm.Options, servers ...*llmtest.Server) *llm.Client {
	t.Helper()
	var ps []llm.Provider
	for i, s := range servers {
		name := []string{"first", "second", "third"}[i]
		ps = append(ps, openai.New("k", &openai.Options{BaseURL: s.URL, Name: name, Facts: trusted(name)}))
	}
	c, err := llm.New(ps, opts)
	require.NoError(t, err)
	return c
}

const okBody = `{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`

func TestRetryHonoursServerHints(t *testing.T) {
	t.Parallel()
	rate := `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`
	tests := []struct {
		name    string
		first   http.HandlerFunc
		waits   []time.Duration
		calls   int
		success bool
		why     string
	}{
		{"retry-after-ms", llmtest.Status(429, rate, "Retry-After-Ms: 1500"), []time.Duration{1500 * time.Millisecond}, 2, true, "the server's wait is used exactly"},
		{"retry-after seconds", llmtest.Status(429, rate, "Retry-After: 3"), []time.Duration{3 * time.Second}, 2, true, "seconds"},
		{"503 backoff", llmtest.Status(503, `{}`), nil, 2, true, "no hint: jittered backoff"},
		{"x-should-retry false", llmtest.Status(503, `{}`, "X-Should-Retry: false"), []time.Duration{}, 1, false, "the server said not to retry"},
		{"insufficient_quota", llmtest.Status(429, `{"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"x"}}`), []time.Duration{}, 1, false, "quota exhaustion is not retried"},
		{"too long a wait", llmtest.Status(429, rate, "Retry-After: 411480"), []time.Duration{}, 1, false, "a 114h wait is not honoured; the call fails over instead"},
		{"400", llmtest.Status(400, `{"error":{"type":"invalid_request_error","message":"x"}}`), []time.Duration{}, 1, false, "a bad request is not retried"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, tt.first, llmtest.Status(200, okBody))
			sl := &sleeper{}
			c := scripted(t, &llm.Options{Sleep: sl.Sleep, Retry: &llm.RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond}}, srv)
			resp, err := c.Conversation("s").Chat(context.Background(), userMsg("hi"))
			if tt.success {
				require.NoError(t, err)
				assert.Equal(t, "fine", resp.Text)
			} else {
				var ae *llm.APIError
				assert.ErrorAs(t, err, &ae)
			}
			assert.Len(t, srv.Requests(), tt.calls, tt.why)
			if tt.waits != nil {
				assert.Equal(t, tt.waits, append([]time.Duration{}, sl.Waits()...), tt.why)
			} else {
				require.Len(t, sl.Waits(), 1)
				w := sl.Waits()[0]
				assert.True(t, w >= 50*time.Millisecond && w <= 100*time.Millisecond, "backoff %v within [base/2, base]", w)
			}
		})
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Status(500, `{}`))
	sl := &sleeper{}
	c := scripted(t, &llm.Options{Sleep: sl.Sleep, Retry: &llm.RetryPolicy{MaxAttempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond}}, srv)
	_, err := c.Conversation("s").Chat(context.Background(), userMsg("hi"))
	require.Error(t, err)
	waits := sl.Waits()
	require.Len(t, waits, 5, "six attempts, five waits")
	caps := []time.Duration{100, 200, 400, 400, 400}
	for i, w := range waits {
		max := caps[i] * time.Millisecond
		assert.True(t, w >= max/2 && w <= max, "wait %d = %v within [%v, %v]", i, w, max/2, max)
	}
}

func TestRetryBoundedByDeadline(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Status(429, `{}`, "Retry-After: 30"))
	sl := &sleeper{}
	c := scripted(t, &llm.Options{Sleep: sl.Sleep}, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Conversation("s").Chat(ctx, userMsg("hi"))
	require.Error(t, err)
	assert.Empty(t, sl.Waits(), "a wait past the deadline is not started")
	assert.Len(t, srv.Requests(), 1)
}

func TestFallbackAndCooldown(t *testing.T) {
	t.Parallel()
	bad := llmtest.NewServer(t, llmtest.Status(500, `{}`))
	good := llmtest.NewServer(t, llmtest.Status(200, okBody))
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	sl := &sleeper{}
	rec := &llmtest.Auditor{}
	c := scripted(t, &llm.Options{Sleep: sl.Sleep, Now: fake.Now, Auditor: rec, Cooldown: time.Minute, Retry: &llm.RetryPolicy{MaxAttempts: 2}}, bad, good)
	conv := c.Conversation("s")
	resp, err := conv.Chat(context.Background(), userMsg("hi"))
	require.NoError(t, err)
	assert.Equal(t, "second", resp.Provider, "the call falls back to the next provider")
	assert.Len(t, bad.Requests(), 2, "the failing provider got its retries first")
	assert.True(t, c.CoolingDown("first"))
	attempts, _ := llmtest.Attr(rec.Events()[0], "attempts")
	assert.Equal(t, "3", attempts)

	_, err = conv.Chat(context.Background(), userMsg("hi"))
	require.NoError(t, err)
	assert.Len(t, bad.Requests(), 2, "a cooling provider is not tried first")

	fake.Advance(2 * time.Minute)
	assert.False(t, c.CoolingDown("first"))
	_, err = conv.Chat(context.Background(), userMsg("hi"))
	require.NoError(t, err)
	assert.Len(t, bad.Requests(), 4, "after the cooldown the first provider is tried again")
}

func TestStreamNoRetryAfterOutput(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.SSE(false,
		`data: {"choices":[{"index":0,"delta":{"content":"Hello "}}]}`+"\n\n",
		`data: {"error":{"message":"overloaded","type":"server_error"}}`+"\n\n"))
	sl := &sleeper{}
	rec := &llmtest.Auditor{}
	c := scripted(t, &llm.Options{Sleep: sl.Sleep, Auditor: rec}, srv)
	var text string
	var gotErr error
	for ch, err := range c.Conversation("s").Stream(context.Background(), userMsg("hi")) {
		if err != nil {
			gotErr = err
			break
		}
		text += ch.Text
	}
	assert.Equal(t, "Hello ", text)
	require.ErrorIs(t, gotErr, llm.ErrInterrupted, "output reached the caller: no retry")
	var ae *llm.APIError
	require.ErrorAs(t, gotErr, &ae, "the typed cause is kept")
	assert.True(t, ae.InStream)
	assert.Len(t, srv.Requests(), 1)
	assert.Empty(t, sl.Waits())
	require.Len(t, rec.Events(), 1)
	assert.Equal(t, audit.Error, rec.Events()[0].Outcome)
	kind, _ := llmtest.Attr(rec.Events()[0], "error")
	assert.Equal(t, "interrupted", kind)
}

func TestStreamRetryBeforeOutput(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t,
		llmtest.SSE(false, `data: {"error":{"message":"overloaded","type":"server_error"}}`+"\n\n"),
		llmtest.SSE(false, `data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n"))
	sl := &sleeper{}
	c := scripted(t, &llm.Options{Sleep: sl.Sleep}, srv)
	var text string
	for ch, err := range c.Conversation("s").Stream(context.Background(), userMsg("hi")) {
		require.NoError(t, err)
		text += ch.Text
	}
	assert.Equal(t, "ok", text, "an error before any output is retried")
	assert.Len(t, srv.Requests(), 2)
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		stream  bool
		opts    llm.Options
		want    error
	}{
		{"first byte", llmtest.Hang(), true, llm.Options{FirstByteTimeout: 50 * time.Millisecond}, llm.ErrFirstByteTimeout},
		{"headers then silence", llmtest.SSE(true), true, llm.Options{FirstByteTimeout: 50 * time.Millisecond}, llm.ErrFirstByteTimeout},
		{"stall", llmtest.SSE(true, `data: {"choices":[{"index":0,"delta":{"content":"a"}}]}`+"\n\n"), true, llm.Options{IdleTimeout: 50 * time.Millisecond}, llm.ErrStalled},
		{"attempt", llmtest.Hang(), false, llm.Options{AttemptTimeout: 50 * time.Millisecond}, context.DeadlineExceeded},
		{"whole call", llmtest.Hang(), false, llm.Options{Timeout: 80 * time.Millisecond}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, tt.handler)
			sl := &sleeper{}
			opts := tt.opts
			opts.Sleep = sl.Sleep
			opts.Retry = &llm.RetryPolicy{MaxAttempts: 2}
			c := scripted(t, &opts, srv)
			conv := c.Conversation("s")
			start := time.Now()
			var err error
			if tt.stream {
				for _, e := range conv.Stream(context.Background(), userMsg("hi")) {
					if e != nil {
						err = e
					}
				}
			} else {
				_, err = conv.Chat(context.Background(), userMsg("hi"))
			}
			assert.ErrorIs(t, err, tt.want)
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	p := &llmtest.Provider{ProviderName: "p", ProviderFacts: *trusted("p")}
	c, err := llm.New([]llm.Provider{p}, nil)
	require.NoError(t, err)
	conv := c.Conversation("s")
	require.NoError(t, conv.Close())
	require.NoError(t, conv.Close(), "Close is idempotent")
	_, err = conv.Chat(context.Background(), userMsg("hi"))
	assert.ErrorIs(t, err, llm.ErrClosed)
	require.NoError(t, c.Close())
	_, err = c.Conversation("t").Chat(context.Background(), userMsg("hi"))
	assert.ErrorIs(t, err, llm.ErrClosed)
	for _, err := range c.Conversation("t").Stream(context.Background(), userMsg("hi")) {
		assert.ErrorIs(t, err, llm.ErrClosed)
	}
	assert.Zero(t, p.Calls())
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	_, err := llm.New(nil, nil)
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	p := &llmtest.Provider{ProviderName: "p"}
	_, err = llm.New([]llm.Provider{p, p}, nil)
	assert.ErrorIs(t, err, llm.ErrInvalidRequest, "names must be unique")
	c, err := llm.New([]llm.Provider{p}, nil)
	require.NoError(t, err)
	for name, req := range map[string]*llm.Request{
		"nil":          nil,
		"no messages":  {},
		"bad role":     {Messages: []llm.Message{{Role: "boss", Content: "x"}}},
		"orphan tool":  {Messages: []llm.Message{{Role: llm.RoleTool, Content: "x"}}},
		"negative max": {Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}, MaxTokens: -1},
	} {
		_, err := c.Conversation("s").Chat(context.Background(), req)
		assert.ErrorIs(t, err, llm.ErrInvalidRequest, name)
	}
	assert.Zero(t, p.Calls())
}

func TestConcurrentConversation(t *testing.T) {
	t.Parallel()
	fake := openaifake.NewServer(&openaifake.Options{ChunkSize: 5})
	defer fake.Close()
	c, err := llm.New([]llm.Provider{openai.New("k", &openai.Options{BaseURL: fake.URL})}, nil)
	require.NoError(t, err)
	conv := c.Conversation("s")
	defer conv.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("user%d@example.com wrote to %s", i, email)
			if i%2 == 0 {
				resp, err := conv.Chat(context.Background(), userMsg(msg))
				assert.NoError(t, err)
				assert.Equal(t, "You said: "+msg, resp.Text)
				return
			}
			var b strings.Builder
			for ch, err := range conv.Stream(context.Background(), userMsg(msg)) {
				assert.NoError(t, err)
				b.WriteString(ch.Text)
			}
			assert.Equal(t, "You said: "+msg, b.String())
		}()
	}
	wg.Wait()
	assert.Equal(t, 16, conv.Counts()["EMAIL"], "every occurrence is counted")
	for _, r := range fake.Requests() {
		assert.NotContains(t, string(r.Body), "example.com")
	}
}
