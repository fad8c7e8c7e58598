package openai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/llmtest"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

func hello() *llm.Request {
	return &llm.Request{Model: "gpt-3.5-turbo", Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hello, how are you?"}}, MaxTokens: 50, Temperature: ptr(0.0)}
}

func TestChatReplay(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Replay(t, "testdata/openai_chat_nonstream.response.http"))
	p := openai.New("test-api-key", &openai.Options{BaseURL: srv.URL})
	resp, err := p.Chat(context.Background(), hello())
	require.NoError(t, err)
	assert.Equal(t, "Hello! I'm just a computer program, so I don't have feelings, but I'm here to help you. How can I assist you today?", resp.Text)
	assert.Equal(t, llm.FinishStop, resp.FinishReason)
	assert.Equal(t, llm.Usage{InputTokens: 13, OutputTokens: 31}, resp.Usage)
	assert.Equal(t, "gpt-3.5-turbo-0125", resp.Model)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/chat/completions", reqs[0].Path)
	assert.Equal(t, "Bearer test-api-key", reqs[0].Header.Get("Authorization"))
	// The recorded request plus "store": false, which privkit always sends.
	var want, got map[string]any
	require.NoError(t, json.Unmarshal(llmtest.LoadRequestBody(t, "testdata/openai_chat_nonstream.request.http"), &want))
	want["store"] = false
	require.NoError(t, json.Unmarshal(reqs[0].Body, &got))
	assert.Equal(t, want, got, "the body matches the recorded request, with store:false")
}

func TestStreamReplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, fixture, request string
		text                   string
		usage                  llm.Usage
	}{
		{"openai include_usage", "openai_chat_stream_include_usage", "openai_chat_stream_include_usage", "1, 2, 3, 4, 5", llm.Usage{InputTokens: 14, OutputTokens: 13}},
		{"openrouter with an SSE comment", "openrouter_chat_stream_with_sse_comment", "openrouter_chat_stream_with_sse_comment", "test response", llm.Usage{InputTokens: 586, OutputTokens: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, llmtest.Replay(t, "testdata/"+tt.fixture+".response.http"))
			p := openai.New("k", &openai.Options{BaseURL: srv.URL})
			var recorded map[string]any
			require.NoError(t, json.Unmarshal(llmtest.LoadRequestBody(t, "testdata/"+tt.request+".request.http"), &recorded))
			req := &llm.Request{Model: recorded["model"].(string), Messages: []llm.Message{{Role: llm.RoleUser, Content: recorded["messages"].([]any)[0].(map[string]any)["content"].(string)}}, Temperature: ptr(0.0)}
			if v, ok := recorded["max_completion_tokens"]; ok {
				req.MaxTokens = int(v.(float64))
			}
			text, chunks, err := llmtest.Collect(context.Background(), p, req)
			require.NoError(t, err)
			assert.Equal(t, tt.text, text)
			last := chunks[len(chunks)-1]
			assert.Equal(t, llm.FinishStop, last.FinishReason)
			require.NotNil(t, last.Usage, "include_usage delivers usage in the last chunk")
			assert.Equal(t, tt.usage, *last.Usage)

			var got map[string]any
			require.NoError(t, json.Unmarshal(srv.Requests()[0].Body, &got))
			recorded["store"] = false
			assert.Equal(t, recorded, got, "the body matches the recorded request, with store:false")
			assert.Equal(t, "text/event-stream", srv.Requests()[0].Header.Get("Accept"))
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	quota := `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`
	rate := `{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		status    int
		code      string
		retryable bool
		after     time.Duration
		reason    string
	}{
		{"quota", llmtest.Status(429, quota), 429, "insufficient_quota", false, 0, "an exhausted quota does not come back by waiting"},
		{"quota despite x-should-retry", llmtest.Status(429, quota, "X-Should-Retry: true"), 429, "insufficient_quota", false, 0, "a known permanent code wins over the header"},
		{"retry-after-ms", llmtest.Status(429, rate, "Retry-After-Ms: 1500", "Retry-After: 9"), 429, "rate_limit_exceeded", true, 1500 * time.Millisecond, "retry-after-ms is preferred"},
		{"retry-after seconds", llmtest.Status(429, rate, "Retry-After: 7"), 429, "rate_limit_exceeded", true, 7 * time.Second, "Retry-After in seconds"},
		{"retry-after date", llmtest.Status(429, rate, "Retry-After: "+fixed.Add(20*time.Second).Format(http.TimeFormat)), 429, "rate_limit_exceeded", true, 20 * time.Second, "Retry-After as an HTTP date, relative to the injected clock"},
		{"500", llmtest.Status(500, `{"error":{"message":"boom","type":"server_error"}}`), 500, "", true, 0, "5xx is retryable"},
		{"500 x-should-retry false", llmtest.Status(500, `{}`, "X-Should-Retry: false"), 500, "", false, 0, "the server said not to retry"},
		{"400 x-should-retry true", llmtest.Status(400, `{}`, "X-Should-Retry: true"), 400, "", true, 0, "the server said to retry"},
		{"400", llmtest.Status(400, `{"error":{"message":"bad","type":"invalid_request_error","code":null}}`), 400, "", false, 0, "a bad request stays bad"},
		{"openrouter numeric code", llmtest.Replay(t, "testdata/openrouter_chat_stream_with_sse_comment.1.response.http"), 429, "429", true, 0, "compatible servers send numeric codes"},
		{"not json", llmtest.Status(502, `<html>bad gateway</html>`), 502, "", true, 0, "an HTML error page is still a typed error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, tt.handler)
			p := openai.New("k", &openai.Options{BaseURL: srv.URL, Now: func() time.Time { return fixed }})
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					_, _, err = llmtest.Collect(context.Background(), p, hello())
				} else {
					_, err = p.Chat(context.Background(), hello())
				}
				var ae *llm.APIError
				require.ErrorAs(t, err, &ae, tt.reason)
				assert.Equal(t, tt.status, ae.StatusCode)
				assert.Equal(t, tt.code, ae.Code)
				assert.Equal(t, tt.retryable, ae.Retryable, tt.reason)
				assert.Equal(t, tt.after, ae.RetryAfter, tt.reason)
				assert.False(t, ae.InStream)
				assert.NotContains(t, ae.Error(), "You exceeded", "the error string does not carry the provider's message")
			}
		})
	}
}

func TestBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		stream  bool
		want    error
	}{
		{"empty body", llmtest.Status(200, ""), false, llm.ErrMalformed},
		{"truncated json", llmtest.Status(200, `{"choices":[{"message":{"content":"hi`), false, llm.ErrMalformed},
		{"no choices", llmtest.Status(200, `{"choices":[]}`), false, llm.ErrMalformed},
		{"huge body", llmtest.Status(200, `{"x":"`+strings.Repeat("a", 2<<20)+`"}`), false, llm.ErrTooLarge},
		{"stream without end", llmtest.SSE(false, `data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}`+"\n\n"), true, llm.ErrTruncated},
		{"stream empty", llmtest.SSE(false), true, llm.ErrTruncated},
		{"stream bad json", llmtest.SSE(false, "data: {\"choices\":[\n\n"), true, llm.ErrMalformed},
		{"stream huge event", llmtest.SSE(false, "data: "+strings.Repeat("a", 2<<20)+"\n\n"), true, llm.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, tt.handler)
			p := openai.New("k", &openai.Options{BaseURL: srv.URL, MaxResponseBytes: 1 << 20})
			var err error
			if tt.stream {
				_, _, err = llmtest.Collect(context.Background(), p, hello())
			} else {
				_, err = p.Chat(context.Background(), hello())
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestStreamErrorAfter200(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.SSE(false,
		`data: {"choices":[{"index":0,"delta":{"content":"par"}}]}`+"\n\n",
		`data: {"error":{"message":"The server had an error","type":"server_error","code":null}}`+"\n\n"))
	p := openai.New("k", &openai.Options{BaseURL: srv.URL})
	text, _, err := llmtest.Collect(context.Background(), p, hello())
	assert.Equal(t, "par", text, "text before the error was delivered")
	var ae *llm.APIError
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.InStream, "an error event after HTTP 200 is marked as in-stream")
	assert.Equal(t, 200, ae.StatusCode)
	assert.Equal(t, "server_error", ae.Type)
	assert.Equal(t, "openai", ae.Provider)
}

func TestToolCalls(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t,
		llmtest.Status(200, `{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":6}}`),
		llmtest.SSE(false,
			`data: {"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"lookup","arguments":""}}]}}]}`+"\n\n",
			`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":"}}]}}]}`+"\n\n",
			`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","function":{"name":"other","arguments":"{}"}}]}}]}`+"\n\n",
			`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"y\"}"}}]}}]}`+"\n\n",
			`data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`+"\n\n",
			"data: [DONE]\n\n"))
	p := openai.New("k", &openai.Options{BaseURL: srv.URL, Model: "m"})
	req := &llm.Request{
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "sys"},
			{Role: llm.RoleUser, Content: "find x"},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_0", Name: "lookup", Arguments: json.RawMessage(`{"q":"w"}`)}}},
			{Role: llm.RoleTool, ToolCallID: "call_0", Name: "lookup", Content: "result"},
		},
		Tools:         []llm.Tool{{Name: "lookup", Description: "Look up", Parameters: json.RawMessage(`{"type":"object"}`)}},
		StopSequences: []string{"END"},
	}
	resp, err := p.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, llm.FinishToolCalls, resp.FinishReason)
	require.Len(t, resp.ToolCalls, 1)
	assert.Equal(t, llm.ToolCall{ID: "call_1", Name: "lookup", Arguments: json.RawMessage(`{"q":"x"}`)}, resp.ToolCalls[0])

	_, chunks, err := llmtest.Collect(context.Background(), p, req)
	require.NoError(t, err)
	last := chunks[len(chunks)-1]
	assert.Equal(t, llm.FinishToolCalls, last.FinishReason)
	assert.Equal(t, []llm.ToolCall{
		{ID: "call_A", Name: "lookup", Arguments: json.RawMessage(`{"q":"y"}`)},
		{ID: "call_B", Name: "other", Arguments: json.RawMessage(`{}`)},
	}, last.ToolCalls, "argument fragments are joined per index")

	assert.JSONEq(t, `{"model":"m","store":false,"stop":["END"],
		"messages":[{"role":"system","content":"sys"},{"role":"user","content":"find x"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"w\"}"}}]},
		{"role":"tool","content":"result","tool_call_id":"call_0"}],
		"tools":[{"type":"function","function":{"name":"lookup","description":"Look up","parameters":{"type":"object"}}}]}`,
		string(srv.Requests()[0].Body))
}

func TestHangAndCancel(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Hang())
	p := openai.New("k", &openai.Options{BaseURL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Chat(ctx, hello())
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a hanging server is cut off by the context")
}

func TestFacts(t *testing.T) {
	t.Parallel()
	f := openai.New("k", nil).Facts()
	assert.Equal(t, llm.No, f.TrainsOnData)
	assert.Equal(t, 30, f.RetentionDays)
	assert.NotEmpty(t, f.Source)
	assert.False(t, f.AsOf.IsZero())
	other := openai.New("", &openai.Options{BaseURL: "http://localhost:1/v1"}).Facts()
	assert.Equal(t, llm.Unknown, other.TrainsOnData, "an unknown server attests nothing")
	assert.Equal(t, -1, other.RetentionDays)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", openai.New("sk-secret", nil), openai.New("sk-secret", nil), openai.New("sk-secret", nil)), "sk-secret", "the key never prints")
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"model":"m","choices":[{"message":{"content":"hi","tool_calls":[{"id":"1","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}`))
	f.Add([]byte(`{"choices":[{"message":null}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := openai.ParseResponse(body)
		llmtest.CheckParsed(t, resp, err, false)
	})
}

func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":3,\"function\":{\"arguments\":\"{\"}}]}}]}\n\n"))
	f.Add([]byte("data: {\"error\":{\"message\":\"x\",\"code\":5}}\n\n"))
	f.Add([]byte(": c\r\ndata: {\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"delta\":{}}]}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		llmtest.CheckStreamError(t, openai.DecodeStream(strings.NewReader(string(in)), 4096, func(llm.Chunk) bool { return true }))
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	fake := openaifake.NewServer(nil)
	defer fake.Close()
	llmtest.TestProvider(t, openai.New("k", &openai.Options{BaseURL: fake.URL}))
}

func TestLegacyMaxTokens(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Replay(t, "testdata/openai_chat_nonstream.response.http"))
	p := openai.New("k", &openai.Options{BaseURL: srv.URL, LegacyMaxTokens: true})
	_, err := p.Chat(context.Background(), hello())
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(srv.Requests()[0].Body, &body))
	assert.Equal(t, 50.0, body["max_tokens"], "older servers get max_tokens")
	assert.NotContains(t, body, "max_completion_tokens")
}

func TestStreamGotJSON(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t,
		llmtest.Status(200, `{"error":{"message":"model overloaded","type":"server_error","code":"overloaded"}}`),
		llmtest.Status(200, `{"id":"x"}`))
	p := openai.New("k", &openai.Options{BaseURL: srv.URL})
	_, _, err := llmtest.Collect(context.Background(), p, hello())
	var ae *llm.APIError
	require.ErrorAs(t, err, &ae, "an error object instead of a stream is typed")
	assert.True(t, ae.InStream)
	assert.Equal(t, "overloaded", ae.Code)
	assert.True(t, ae.Retryable, "like an error event inside a stream")
	_, _, err = llmtest.Collect(context.Background(), p, hello())
	assert.ErrorIs(t, err, llm.ErrMalformed, "any other JSON instead of a stream is malformed")
}

func TestSpecAndErrorFixtures(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		require.NoError(t, err)
		return string(b)
	}
	resp, err := openai.ParseResponse([]byte(read("openai_chat_response_spec_example.json")))
	require.NoError(t, err)
	assert.Equal(t, "Hello! How can I assist you today?", resp.Text)
	assert.Equal(t, llm.Usage{InputTokens: 19, OutputTokens: 10}, resp.Usage)

	// The spec's stream example lists chunk payloads (and an elision line);
	// framed as the wire does, it decodes to "Hello" and a stop.
	var framed strings.Builder
	for _, line := range strings.Split(read("openai_chat_stream_spec_example.txt"), "\n") {
		if strings.HasPrefix(line, "{") {
			framed.WriteString("data: " + line + "\n\n")
		}
	}
	framed.WriteString("data: [DONE]\n\n")
	var text string
	var finish llm.FinishReason
	require.NoError(t, openai.DecodeStream(strings.NewReader(framed.String()), 0, func(ch llm.Chunk) bool {
		text += ch.Text
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		return true
	}))
	assert.Equal(t, "Hello", text)
	assert.Equal(t, llm.FinishStop, finish)

	for name, want := range map[string]struct {
		code      string
		retryable bool
	}{
		"openai_error_429_rate_limit_exceeded.json":            {"rate_limit_exceeded", true},
		"openai_error_429_insufficient_quota.CONSTRUCTED.json": {"insufficient_quota", false},
	} {
		srv := llmtest.NewServer(t, llmtest.Status(429, read(name)))
		_, err := openai.New("k", &openai.Options{BaseURL: srv.URL}).Chat(context.Background(), hello())
		var ae *llm.APIError
		require.ErrorAs(t, err, &ae, name)
		assert.Equal(t, want.code, ae.Code, name)
		assert.Equal(t, want.retryable, ae.Retryable, name)
		assert.Zero(t, ae.RetryAfter, "%s: the \"try again in 114h\" text is not a retry hint", name)
	}
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Replay(t, "testdata/openai_chat_nonstream.response.http"))
	p := openai.New("sk-test", &openai.Options{BaseURL: srv.URL + "/", Organization: "org-1", Project: "proj-1"})
	_, err := p.Chat(context.Background(), hello())
	require.NoError(t, err)
	_, err = p.Chat(context.Background(), hello())
	require.NoError(t, err, "a second call gets headers of its own")
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, "/chat/completions", r.Path, "the trailing slash of the base URL is dropped")
		assert.Equal(t, "Bearer sk-test", r.Header.Get("Authorization"))
		assert.Equal(t, "org-1", r.Header.Get("OpenAI-Organization"))
		assert.Equal(t, "proj-1", r.Header.Get("OpenAI-Project"))
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "application/json", r.Header.Get("Accept"))
	}
	noKey := openai.New("", &openai.Options{BaseURL: srv.URL})
	_, err = noKey.Chat(context.Background(), hello())
	require.NoError(t, err)
	reqs = srv.Requests()
	assert.Empty(t, reqs[len(reqs)-1].Header.Get("Authorization"), "no key, no Authorization header")
	_, err = openai.New("k", &openai.Options{BaseURL: "://bad"}).Chat(context.Background(), hello())
	assert.Error(t, err, "a base URL that does not parse fails the call")
}
