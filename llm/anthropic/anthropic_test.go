package anthropic_test

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
	"github.com/inferlabs/privkit/llm/anthropic"
	"github.com/inferlabs/privkit/llm/llmtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

func file(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

func user(s string) *llm.Request {
	return &llm.Request{Model: "claude-3-opus-20240229", Messages: []llm.Message{{Role: llm.RoleUser, Content: s}}, MaxTokens: 100, Temperature: ptr(0.0)}
}

func TestChatReplay(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewServer(t, llmtest.Replay(t, "testdata/anthropic_messages_nonstream.response.http"))
	p := anthropic.New("test-api-key", &anthropic.Options{BaseURL: srv.URL})
	resp, err := p.Chat(context.Background(), user("Hello, how are you?"))
	require.NoError(t, err)
	assert.Equal(t, "Hello! As an AI language model, I don't have feelings, but I'm functioning properly and ready to assist you. How can I help you today?", resp.Text)
	assert.Equal(t, llm.FinishStop, resp.FinishReason)
	assert.Equal(t, llm.Usage{InputTokens: 13, OutputTokens: 35}, resp.Usage)

	r := srv.Requests()[0]
	assert.Equal(t, "/messages", r.Path)
	assert.Equal(t, "2023-06-01", r.Header.Get("Anthropic-Version"))
	assert.Equal(t, "test-api-key", r.Header.Get("X-Api-Key"))
	var recorded map[string]any
	require.NoError(t, json.Unmarshal(llmtest.LoadRequestBody(t, "testdata/anthropic_messages_nonstream.request.http"), &recorded))
	recorded["messages"] = []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "Hello, how are you?"}}}}
	want, err := json.Marshal(recorded)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(r.Body), "the recorded request, with content as blocks")
}

func TestStreamReplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		text    string
		usage   llm.Usage
	}{
		{"recorded with ping and padding", llmtest.Replay(t, "testdata/anthropic_messages_stream.response.http"), "1\n2\n3\n4\n5", llm.Usage{InputTokens: 15, OutputTokens: 13}},
		{"framed chunks", llmtest.SSE(false, file(t, "anthropic_stream_sse_framed.txt")), "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?", llm.Usage{InputTokens: 12, OutputTokens: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, tt.handler)
			p := anthropic.New("k", &anthropic.Options{BaseURL: srv.URL})
			text, chunks, err := llmtest.Collect(context.Background(), p, user("Count from 1 to 5"))
			require.NoError(t, err)
			assert.Equal(t, tt.text, text)
			last := chunks[len(chunks)-1]
			assert.Equal(t, llm.FinishStop, last.FinishReason)
			require.NotNil(t, last.Usage)
			assert.Equal(t, tt.usage, *last.Usage)
			var body, recorded map[string]any
			require.NoError(t, json.Unmarshal(srv.Requests()[0].Body, &body))
			require.NoError(t, json.Unmarshal(llmtest.LoadRequestBody(t, "testdata/anthropic_messages_stream.request.http"), &recorded))
			for _, k := range []string{"model", "max_tokens", "stream", "temperature"} {
				assert.Equal(t, recorded[k], body[k], "%s as in the recorded request", k)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		status    int
		typ       string
		retryable bool
		after     time.Duration
		why       string
	}{
		{"529 overloaded", llmtest.Status(529, file(t, "anthropic_error_529_overloaded.json")), 529, "overloaded_error", true, 0, "overload passes"},
		{"429 retry-after", llmtest.Status(429, file(t, "anthropic_error_429_rate_limit.CONSTRUCTED.json"), "Retry-After: 12"), 429, "rate_limit_error", true, 12 * time.Second, "retry-after in seconds"},
		{"429 spend limit", llmtest.Status(429, `{"type":"error","error":{"type":"rate_limit_error","message":"spend limit","details":{"error_code":"enforced_spend_limit_reached"}}}`), 429, "rate_limit_error", false, 0, "a spend cap does not lift by waiting"},
		{"401", llmtest.Status(401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`), 401, "authentication_error", false, 0, "a bad key stays bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, tt.handler)
			p := anthropic.New("k", &anthropic.Options{BaseURL: srv.URL})
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					_, _, err = llmtest.Collect(context.Background(), p, user("hi"))
				} else {
					_, err = p.Chat(context.Background(), user("hi"))
				}
				var ae *llm.APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.status, ae.StatusCode)
				assert.Equal(t, tt.typ, ae.Type)
				assert.Equal(t, tt.retryable, ae.Retryable, tt.why)
				assert.Equal(t, tt.after, ae.RetryAfter, tt.why)
			}
		})
	}
}

func TestStreamEdgeCases(t *testing.T) {
	t.Parallel()
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	delta := func(s string) string {
		return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + s + "\"}}\n\n"
	}
	stop := "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	t.Run("in-stream overloaded", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.NewServer(t, llmtest.SSE(false, start, delta("par"), file(t, "anthropic_stream_error_overloaded.sse")))
		text, _, err := llmtest.Collect(context.Background(), anthropic.New("k", &anthropic.Options{BaseURL: srv.URL}), user("hi"))
		assert.Equal(t, "par", text)
		var ae *llm.APIError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.InStream)
		assert.True(t, ae.Retryable)
		assert.Equal(t, "overloaded_error", ae.Type)
	})
	t.Run("tool use and unknown events", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.NewServer(t, llmtest.SSE(false, start,
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"lookup\",\"input\":{}}}\n\n",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n",
			"event: brand_new_event\ndata: {\"type\":\"brand_new_event\",\"x\":1}\n\n",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"x\\\"}\"}}\n\n",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
			stop))
		text, chunks, err := llmtest.Collect(context.Background(), anthropic.New("k", &anthropic.Options{BaseURL: srv.URL}), user("hi"))
		require.NoError(t, err)
		assert.Empty(t, text, "thinking is not answer text")
		last := chunks[len(chunks)-1]
		assert.Equal(t, llm.FinishToolCalls, last.FinishReason)
		assert.Equal(t, []llm.ToolCall{{ID: "toolu_1", Name: "lookup", Arguments: json.RawMessage(`{"q":"x"}`)}}, last.ToolCalls)
		assert.Equal(t, llm.Usage{InputTokens: 3, OutputTokens: 9}, *last.Usage)
	})
	for name, tc := range map[string]struct {
		body string
		want error
	}{
		"truncated":      {start + delta("a"), llm.ErrTruncated},
		"malformed":      {start + "event: content_block_delta\ndata: {\"type\":\n\n", llm.ErrMalformed},
		"delta no delta": {start + "data: {\"type\":\"content_block_delta\"}\n\n", llm.ErrMalformed},
		"empty":          {"", llm.ErrTruncated},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, llmtest.SSE(false, tc.body))
			_, _, err := llmtest.Collect(context.Background(), anthropic.New("k", &anthropic.Options{BaseURL: srv.URL}), user("hi"))
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	t.Parallel()
	req := &llm.Request{
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "a"},
			{Role: llm.RoleSystem, Content: "b"},
			{Role: llm.RoleUser, Content: "find"},
			{Role: llm.RoleAssistant, Content: "looking", ToolCalls: []llm.ToolCall{{ID: "t1", Name: "f", Arguments: json.RawMessage(`{"q":1}`)}, {ID: "t2", Name: "g"}}},
			{Role: llm.RoleTool, ToolCallID: "t1", Content: "r1"},
			{Role: llm.RoleTool, ToolCallID: "t2", Content: "r2"},
			{Role: llm.RoleUser, Content: "thanks"},
		},
		Tools:         []llm.Tool{{Name: "f"}},
		StopSequences: []string{"X"},
	}
	b, err := anthropic.EncodeRequest(req, "m", false)
	require.NoError(t, err)
	assert.JSONEq(t, `{"model":"m","system":"a\n\nb","max_tokens":4096,"stop_sequences":["X"],
		"messages":[
		{"role":"user","content":[{"type":"text","text":"find"}]},
		{"role":"assistant","content":[{"type":"text","text":"looking"},{"type":"tool_use","id":"t1","name":"f","input":{"q":1}},{"type":"tool_use","id":"t2","name":"g","input":{}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r1"},{"type":"tool_result","tool_use_id":"t2","content":"r2"},{"type":"text","text":"thanks"}]}],
		"tools":[{"name":"f","input_schema":{"type":"object"}}]}`, string(b), "turns alternate; tool results share one user turn")
}

func TestFacts(t *testing.T) {
	t.Parallel()
	f := anthropic.New("k", nil).Facts()
	assert.Equal(t, llm.No, f.TrainsOnData)
	assert.Equal(t, 30, f.RetentionDays)
	assert.NotEmpty(t, f.Source)
	assert.Equal(t, -1, anthropic.New("k", &anthropic.Options{BaseURL: "http://proxy"}).Facts().RetentionDays, "a proxy attests nothing")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", anthropic.New("sk-ant-secret", nil), anthropic.New("sk-ant-secret", nil), anthropic.New("sk-ant-secret", nil)), "sk-ant-secret", "the key never prints")
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"model":"m","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"1","name":"f","input":{}}],"stop_reason":"end_turn","usage":{"input_tokens":1}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := anthropic.ParseResponse(body)
		llmtest.CheckParsed(t, resp, err, false)
	})
}

func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n"))
	f.Add([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n"))
	f.Add([]byte("event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		llmtest.CheckStreamError(t, anthropic.DecodeStream(strings.NewReader(string(in)), 4096, func(llm.Chunk) bool { return true }))
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	nonstream := llmtest.Replay(t, "testdata/anthropic_messages_nonstream.response.http")
	stream := llmtest.Replay(t, "testdata/anthropic_messages_stream.response.http")
	srv := llmtest.NewServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" {
			stream(w, r)
			return
		}
		nonstream(w, r)
	})
	llmtest.TestProvider(t, anthropic.New("k", &anthropic.Options{BaseURL: srv.URL}))
}
