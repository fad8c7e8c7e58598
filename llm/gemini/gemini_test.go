package gemini_test

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
	"github.com/inferlabs/privkit/llm/gemini"
	"github.com/inferlabs/privkit/llm/llmtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func file(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

// primes is the request of the recorded streams.
func primes() *llm.Request {
	return &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "Think deep. Always double check the answer before making the conclusion."},
		{Role: llm.RoleUser, Content: "What is the sum of the first 50 prime numbers?"},
	}}
}

func TestChatReplay(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Status(200, file(t, "gemini_generatecontent_response.json")))
	p := gemini.New("test-key", &gemini.Options{BaseURL: srv.URL, Model: "gemini-3-pro-preview"})
	resp, err := p.Chat(context.Background(), primes())
	require.NoError(t, err)
	assert.Equal(t, "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.", resp.Text)
	assert.Equal(t, llm.FinishStop, resp.FinishReason)
	assert.Equal(t, llm.Usage{InputTokens: 9, OutputTokens: 28 + 244}, resp.Usage, "thinking tokens are output tokens")
	assert.Equal(t, "gemini-3-pro-preview", resp.Model)

	r := srv.Requests()[0]
	assert.Equal(t, "/models/gemini-3-pro-preview:generateContent", r.Path)
	assert.Equal(t, "test-key", r.Header.Get("X-Goog-Api-Key"))
	assert.Empty(t, r.Header.Get("Authorization"))
	// The recorded request, less what privkit does not send: thinking
	// options and a role on the system instruction.
	var recorded, got map[string]any
	require.NoError(t, json.Unmarshal([]byte(file(t, "gemini_generatecontent_request.json")), &recorded))
	delete(recorded, "generationConfig")
	delete(recorded["systemInstruction"].(map[string]any), "role")
	require.NoError(t, json.Unmarshal(r.Body, &got))
	assert.Equal(t, recorded, got)
}

func TestStreamReplay(t *testing.T) {
	t.Parallel()
	excerpt := file(t, "gemini_stream_sse_adkgo_excerpt.txt")
	excerpt = excerpt[strings.Index(excerpt, "data: "):]
	tests := []struct {
		name, body string
		suffix     string
		usage      llm.Usage
	}{
		{"framed with CRLF", file(t, "gemini_stream_sse_framed.txt"), "st**r**awbe**rr**y", llm.Usage{InputTokens: 9, OutputTokens: 23 + 185}},
		{"recorded excerpt", excerpt, "The sum of the first 50 prime numbers is 5309.", llm.Usage{InputTokens: 28, OutputTokens: 643 + 1174}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, llmtest.SSE(false, tt.body))
			p := gemini.New("k", &gemini.Options{BaseURL: srv.URL})
			text, chunks, err := llmtest.Collect(context.Background(), p, primes())
			require.NoError(t, err)
			assert.True(t, strings.HasSuffix(text, tt.suffix), "text %q", text)
			last := chunks[len(chunks)-1]
			assert.Equal(t, llm.FinishStop, last.FinishReason)
			require.NotNil(t, last.Usage)
			assert.Equal(t, tt.usage, *last.Usage, "usage is cumulative: the last report counts")
			r := srv.Requests()[0]
			assert.Equal(t, "/models/gemini-2.5-flash:streamGenerateContent", r.Path)
			assert.Equal(t, "alt=sse", r.RawQuery)
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		status    int
		retryable bool
		after     time.Duration
		why       string
	}{
		{"retry info", llmtest.Status(429, file(t, "gemini_error_429_retryinfo.json")), 429, true, 34400 * time.Millisecond, "RetryInfo.retryDelay is a fractional protobuf Duration"},
		{"per-day quota", llmtest.Status(429, file(t, "gemini_error_429_quota_real.json")), 429, false, 51 * time.Second, "a per-day quota does not reset within a call"},
		{"403 recorded", llmtest.Replay(t, "testdata/gemini_error_403_unregistered_caller.response.http"), 403, false, 0, "a missing key is not retryable"},
		{"503", llmtest.Status(503, `{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`), 503, true, 0, "overload is retryable"},
		{"retry info over Retry-After", llmtest.Status(429, file(t, "gemini_error_429_retryinfo.json"), "Retry-After: 7"), 429, true, 34400 * time.Millisecond, "the body's RetryInfo wins over the header"},
		{"Retry-After alone", llmtest.Status(503, `{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`, "Retry-After: 7"), 503, true, 7 * time.Second, "without a RetryInfo the header counts"},
		{"zero retry info", llmtest.Status(429, `{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0s"}]}}`, "Retry-After: 7"), 429, true, 7 * time.Second, "a zero RetryInfo leaves the header's delay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, tt.handler)
			p := gemini.New("k", &gemini.Options{BaseURL: srv.URL})
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					_, _, err = llmtest.Collect(context.Background(), p, primes())
				} else {
					_, err = p.Chat(context.Background(), primes())
				}
				var ae *llm.APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.status, ae.StatusCode)
				assert.Equal(t, tt.retryable, ae.Retryable, tt.why)
				assert.Equal(t, tt.after, ae.RetryAfter, tt.why)
				assert.Equal(t, "gemini", ae.Provider)
			}
		})
	}
}

func TestBadStreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want error
	}{
		{"no finish reason", `data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}]}` + "\r\n\r\n", llm.ErrTruncated},
		{"empty", "", llm.ErrTruncated},
		{"bad json", "data: {\"candidates\":\n\n", llm.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, llmtest.SSE(false, tt.body))
			_, _, err := llmtest.Collect(context.Background(), gemini.New("k", &gemini.Options{BaseURL: srv.URL}), primes())
			assert.ErrorIs(t, err, tt.want)
		})
	}
	srv := llmtest.NewServer(t, llmtest.SSE(false, `data: {"error":{"code":500,"message":"internal","status":"INTERNAL"}}`+"\n\n"))
	_, _, err := llmtest.Collect(context.Background(), gemini.New("k", &gemini.Options{BaseURL: srv.URL}), primes())
	var ae *llm.APIError
	require.ErrorAs(t, err, &ae, "an error object after HTTP 200 is typed")
	assert.True(t, ae.InStream)
	assert.True(t, ae.Retryable)
}

func TestTools(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Status(200, `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"lookup","args":{"q":"x"}}}]},"finishReason":"STOP"}]}`))
	p := gemini.New("k", &gemini.Options{BaseURL: srv.URL})
	req := &llm.Request{
		Messages: []llm.Message{
			{Role: llm.RoleUser, Content: "find"},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "lookup", Arguments: json.RawMessage(`{"q":"w"}`)}}},
			{Role: llm.RoleTool, ToolCallID: "c1", Content: "result"},
		},
		Tools:         []llm.Tool{{Name: "lookup", Description: "Look up", Parameters: json.RawMessage(`{"type":"object"}`)}},
		MaxTokens:     10,
		StopSequences: []string{"END"},
	}
	resp, err := p.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, llm.FinishToolCalls, resp.FinishReason)
	assert.Equal(t, []llm.ToolCall{{ID: "call_1", Name: "lookup", Arguments: json.RawMessage(`{"q":"x"}`)}}, resp.ToolCalls)
	assert.JSONEq(t, `{"contents":[
		{"role":"user","parts":[{"text":"find"}]},
		{"role":"model","parts":[{"functionCall":{"name":"lookup","args":{"q":"w"}}}]},
		{"role":"user","parts":[{"functionResponse":{"name":"lookup","response":{"content":"result"}}}]}],
		"generationConfig":{"maxOutputTokens":10,"stopSequences":["END"]},
		"tools":[{"functionDeclarations":[{"name":"lookup","description":"Look up","parameters":{"type":"object"}}]}]}`, string(srv.Requests()[0].Body),
		"the tool result names its function, found from the call's ID")
}

func TestFacts(t *testing.T) {
	t.Parallel()
	free := gemini.New("k", nil).Facts()
	assert.Equal(t, llm.Yes, free.TrainsOnData, "without Paid the free-tier terms apply")
	paid := gemini.New("k", &gemini.Options{Paid: true}).Facts()
	assert.Equal(t, llm.No, paid.TrainsOnData)
	assert.Equal(t, 55, paid.RetentionDays)
	assert.NotEmpty(t, paid.Source)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", gemini.New("AIza-secret", nil), gemini.New("AIza-secret", nil), gemini.New("AIza-secret", nil)), "AIza-secret", "the key never prints")
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"text":"a"},{"functionCall":{"name":"f"}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1}}`))
	f.Add([]byte(`{"error":{"code":429,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}`))
	f.Add([]byte(`{"promptFeedback":{"blockReason":"SAFETY"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := gemini.ParseResponse(body)
		llmtest.CheckParsed(t, resp, err, true)
	})
}

func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n"))
	f.Add([]byte("data: {\"error\":{\"code\":500}}\n\n"))
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"thought\":true,\"text\":\"t\"},{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]}}]}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		llmtest.CheckStreamError(t, gemini.DecodeStream(strings.NewReader(string(in)), 4096, func(llm.Chunk) bool { return true }))
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	body := `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1}}`
	srv := llmtest.NewServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("alt") == "sse" {
			llmtest.SSE(false, "data: "+body+"\r\n\r\n")(w, r)
			return
		}
		llmtest.Status(200, body)(w, r)
	})
	llmtest.TestProvider(t, gemini.New("k", &gemini.Options{BaseURL: srv.URL}))
}
