package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/inferlabs/privkit/internal/sse"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []chatMessage  `json:"messages"`
	MaxCompletionTokens int            `json:"max_completion_tokens,omitempty"`
	MaxTokens           int            `json:"max_tokens,omitempty"`
	Temperature         *float64       `json:"temperature,omitempty"`
	Stop                []string       `json:"stop,omitempty"`
	Tools               []chatTool     `json:"tools,omitempty"`
	Store               bool           `json:"store"`
	Stream              bool           `json:"stream,omitempty"`
	StreamOptions       *streamOptions `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatToolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string      `json:"type"`
	Function chatToolDef `json:"function"`
}

type chatToolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// EncodeRequest returns the JSON body of a chat completion request for req,
// using model when req names none. It always sets "store": false and, for a
// stream, asks for usage in the last chunk. Low-level: providers use it.
func EncodeRequest(req *llm.Request, model string, stream bool) ([]byte, error) {
	return encodeRequest(req, model, stream, false)
}

// encodeRequestStd is the encoding/json reference for encodeRequest; the
// tests check that both produce the same JSON value.
func encodeRequestStd(req *llm.Request, model string, stream, legacyMaxTokens bool) ([]byte, error) {
	cr := chatRequest{
		Model:       req.Model,
		Temperature: req.Temperature,
		Stop:        req.StopSequences,
		Store:       false,
	}
	if legacyMaxTokens {
		cr.MaxTokens = req.MaxTokens
	} else {
		cr.MaxCompletionTokens = req.MaxTokens
	}
	if cr.Model == "" {
		cr.Model = model
	}
	if stream {
		cr.Stream = true
		cr.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	cr.Messages = make([]chatMessage, 0, len(req.Messages))
	for _, m := range req.Messages {
		content := m.Content
		cm := chatMessage{Role: string(m.Role), Content: &content, ToolCallID: m.ToolCallID}
		if m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0 {
			if content == "" {
				cm.Content = nil
			}
			for _, tc := range m.ToolCalls {
				args := string(tc.Arguments)
				if args == "" {
					args = "{}"
				}
				cm.ToolCalls = append(cm.ToolCalls, chatToolCall{ID: tc.ID, Type: "function", Function: chatFunction{Name: tc.Name, Arguments: args}})
			}
		}
		cr.Messages = append(cr.Messages, cm)
	}
	for _, t := range req.Tools {
		cr.Tools = append(cr.Tools, chatTool{Type: "function", Function: chatToolDef{Name: t.Name, Description: t.Description, Parameters: t.Parameters}})
	}
	return json.Marshal(cr)
}

type chatResponse struct {
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage"`
	Error   *errorBody   `json:"error"`
}

type chatChoice struct {
	Index        int          `json:"index"`
	Message      *chatMessage `json:"message"`
	Delta        *chatMessage `json:"delta"`
	FinishReason *string      `json:"finish_reason"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// ParseResponse decodes a non-streamed chat completion. Low-level.
func ParseResponse(body []byte) (*llm.Response, error) {
	out, ok := parseResponseFast(body)
	if !ok {
		return parseResponseStd(body)
	}
	if out == nil {
		return nil, errNoChoices()
	}
	return out, nil
}

// parseResponseStd is ParseResponse with encoding/json: the reference of
// parseResponseFast, and its fallback.
func parseResponseStd(body []byte) (*llm.Response, error) {
	var cr chatResponse
	if err := json.Unmarshal(body, &cr); err != nil {
		return nil, fmt.Errorf("%w: %v", wire.ErrMalformed, err)
	}
	if len(cr.Choices) == 0 || cr.Choices[0].Message == nil {
		return nil, errNoChoices()
	}
	m := cr.Choices[0].Message
	out := &llm.Response{Model: cr.Model}
	if m.Content != nil {
		out.Text = *m.Content
	}
	for _, tc := range m.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: json.RawMessage(tc.Function.Arguments)})
	}
	if fr := cr.Choices[0].FinishReason; fr != nil {
		out.FinishReason = finishReason(*fr)
	}
	if cr.Usage != nil {
		out.Usage = llm.Usage{InputTokens: cr.Usage.PromptTokens, OutputTokens: cr.Usage.CompletionTokens}
	}
	return out, nil
}

func errNoChoices() error { return fmt.Errorf("%w: no choices", wire.ErrMalformed) }

func finishReason(s string) llm.FinishReason {
	switch s {
	case "stop":
		return llm.FinishStop
	case "length":
		return llm.FinishLength
	case "tool_calls", "function_call":
		return llm.FinishToolCalls
	case "content_filter":
		return llm.FinishContentFilter
	case "":
		return ""
	default:
		return llm.FinishOther
	}
}

// DecodeStream reads a chat completion SSE stream from r and calls yield for
// each chunk of text as it arrives; tool calls, the finish reason and usage
// come in one last chunk at the end. It returns nil at "data: [DONE]" (or
// at the end of a stream that reported a finish reason), an *llm.APIError
// for an error event, and an error wrapping llm.ErrMalformed,
// llm.ErrTruncated or llm.ErrTooLarge for a bad stream. It stops quietly
// when yield returns false. maxEvent caps one event (0 means 1 MiB).
// Low-level: providers use it.
func DecodeStream(r io.Reader, maxEvent int, yield func(llm.Chunk) bool) error {
	sr := sse.NewReader(r, maxEvent)
	type partial struct {
		id, name string
		args     []byte
	}
	calls := map[int]*partial{}
	var (
		finish llm.FinishReason
		usage  *llm.Usage
		model  string
	)
	final := func() bool {
		ch := llm.Chunk{FinishReason: finish, Usage: usage, Model: model}
		idx := make([]int, 0, len(calls))
		for i := range calls {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			c := calls[i]
			ch.ToolCalls = append(ch.ToolCalls, llm.ToolCall{ID: c.id, Name: c.name, Arguments: json.RawMessage(c.args)})
		}
		if ch.FinishReason == "" && len(ch.ToolCalls) > 0 {
			ch.FinishReason = llm.FinishToolCalls
		}
		if ch.FinishReason == "" && ch.Usage == nil && len(ch.ToolCalls) == 0 {
			return true
		}
		return yield(ch)
	}
	for {
		ev, err := sr.Next()
		if errors.Is(err, io.EOF) {
			if finish == "" {
				return fmt.Errorf("%w: no [DONE] and no finish reason", wire.ErrTruncated)
			}
			final()
			return nil
		}
		if err != nil {
			if errors.Is(err, sse.ErrTooLarge) {
				return fmt.Errorf("%w: stream event", wire.ErrTooLarge)
			}
			return err
		}
		if ev.Data == "[DONE]" {
			final()
			return nil
		}
		var cr chatResponse
		if err := json.Unmarshal([]byte(ev.Data), &cr); err != nil {
			return fmt.Errorf("%w: stream chunk: %v", wire.ErrMalformed, err)
		}
		if cr.Error != nil {
			code := codeString(cr.Error.Code)
			retry := !nonRetryable(code) && !nonRetryable(cr.Error.Type)
			return &llm.APIError{StatusCode: 200, InStream: true, Type: cr.Error.Type, Code: code,
				Message: wire.Truncate(cr.Error.Message, 512), Retryable: retry}
		}
		if cr.Model != "" {
			model = cr.Model
		}
		if cr.Usage != nil {
			usage = &llm.Usage{InputTokens: cr.Usage.PromptTokens, OutputTokens: cr.Usage.CompletionTokens}
		}
		for _, c := range cr.Choices {
			if c.Index != 0 {
				continue // only the first choice is used
			}
			if c.FinishReason != nil && *c.FinishReason != "" {
				finish = finishReason(*c.FinishReason)
			}
			d := c.Delta
			if d == nil {
				continue
			}
			for _, tc := range d.ToolCalls {
				i := 0
				if tc.Index != nil {
					i = *tc.Index
				}
				pc := calls[i]
				if pc == nil {
					if len(calls) >= 128 {
						return fmt.Errorf("%w: too many tool calls", wire.ErrMalformed)
					}
					pc = &partial{}
					calls[i] = pc
				}
				if tc.ID != "" {
					pc.id = tc.ID
				}
				if tc.Function.Name != "" {
					pc.name = tc.Function.Name
				}
				pc.args = append(pc.args, tc.Function.Arguments...)
			}
			if d.Content != nil && *d.Content != "" {
				if !yield(llm.Chunk{Text: *d.Content, Model: model}) {
					return nil
				}
			}
		}
	}
}
