package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/inferlabs/privkit/internal/sse"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   string          `json:"content,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

type toolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type messagesRequest struct {
	Model         string    `json:"model"`
	System        string    `json:"system,omitempty"`
	Messages      []message `json:"messages"`
	MaxTokens     int       `json:"max_tokens"`
	Temperature   *float64  `json:"temperature,omitempty"`
	StopSequences []string  `json:"stop_sequences,omitempty"`
	Tools         []toolDef `json:"tools,omitempty"`
	Stream        bool      `json:"stream,omitempty"`
}

// EncodeRequest returns the JSON body of a Messages request for req, using
// model when req names none. System messages join into "system"; tool
// results become tool_result blocks of a user turn; consecutive turns of one
// role merge, as the API requires alternation. Low-level.
func EncodeRequest(req *llm.Request, model string, stream bool) ([]byte, error) {
	mr := messagesRequest{Model: req.Model, MaxTokens: req.MaxTokens, Temperature: req.Temperature, StopSequences: req.StopSequences, Stream: stream}
	if mr.Model == "" {
		mr.Model = model
	}
	if mr.MaxTokens == 0 {
		mr.MaxTokens = DefaultMaxTokens
	}
	var system []string
	add := func(role string, b ...block) {
		if n := len(mr.Messages); n > 0 && mr.Messages[n-1].Role == role {
			mr.Messages[n-1].Content = append(mr.Messages[n-1].Content, b...)
			return
		}
		mr.Messages = append(mr.Messages, message{Role: role, Content: b})
	}
	for _, m := range req.Messages {
		switch m.Role {
		case llm.RoleSystem:
			system = append(system, m.Content)
		case llm.RoleUser:
			add("user", block{Type: "text", Text: m.Content})
		case llm.RoleAssistant:
			var bs []block
			if m.Content != "" {
				bs = append(bs, block{Type: "text", Text: m.Content})
			}
			for _, tc := range m.ToolCalls {
				in := tc.Arguments
				if len(bytes.TrimSpace(in)) == 0 {
					in = json.RawMessage("{}")
				}
				if !json.Valid(in) {
					return nil, fmt.Errorf("tool call %q: arguments are not JSON", tc.Name)
				}
				bs = append(bs, block{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: in})
			}
			if len(bs) > 0 {
				add("assistant", bs...)
			}
		case llm.RoleTool:
			add("user", block{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Content})
		}
	}
	for i, s := range system {
		if i > 0 {
			mr.System += "\n\n"
		}
		mr.System += s
	}
	for _, t := range req.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		mr.Tools = append(mr.Tools, toolDef{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	return json.Marshal(mr)
}

type messagesResponse struct {
	Model      string  `json:"model"`
	Content    []block `json:"content"`
	StopReason string  `json:"stop_reason"`
	Usage      *struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func stopReason(s string) llm.FinishReason {
	switch s {
	case "":
		return ""
	case "end_turn", "stop_sequence":
		return llm.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	default:
		return llm.FinishOther
	}
}

// ParseResponse decodes a non-streamed Messages response. Low-level.
func ParseResponse(body []byte) (*llm.Response, error) {
	var mr messagesResponse
	if err := json.Unmarshal(body, &mr); err != nil {
		return nil, fmt.Errorf("%w: %v", wire.ErrMalformed, err)
	}
	if mr.StopReason == "" && len(mr.Content) == 0 {
		return nil, fmt.Errorf("%w: no content", wire.ErrMalformed)
	}
	out := &llm.Response{Model: mr.Model, FinishReason: stopReason(mr.StopReason)}
	var text bytes.Buffer
	for _, b := range mr.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			in := b.Input
			if len(in) == 0 {
				in = json.RawMessage("{}")
			}
			out.ToolCalls = append(out.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: in})
		}
	}
	out.Text = text.String()
	if mr.Usage != nil {
		out.Usage = llm.Usage{InputTokens: mr.Usage.InputTokens, OutputTokens: mr.Usage.OutputTokens}
	}
	return out, nil
}

type streamEvent struct {
	Type    string          `json:"type"`
	Index   int             `json:"index"`
	Message json.RawMessage `json:"message"`
	Block   *block          `json:"content_block"`
	Delta   *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *struct {
		InputTokens  *int `json:"input_tokens"`
		OutputTokens *int `json:"output_tokens"`
	} `json:"usage"`
	Error *errorBody `json:"error"`
}

// DecodeStream reads a Messages SSE stream from r and calls yield for each
// text delta as it arrives; tool calls (their input assembled from
// input_json_delta fragments), the stop reason and usage come in one chunk
// at message_stop. It handles every event type of the API: message_start,
// content_block_start/delta/stop, message_delta, message_stop, ping and
// error (an *llm.APIError, retryable for overloaded_error), and ignores
// event types it does not know, as Anthropic's versioning policy asks. A
// stream that ends before message_stop fails with llm.ErrTruncated.
// Low-level.
func DecodeStream(r io.Reader, maxEvent int, yield func(llm.Chunk) bool) error {
	sr := sse.NewReader(r, maxEvent)
	type tool struct {
		id, name string
		input    []byte
	}
	tools := map[int]*tool{}
	var (
		model  string
		usage  llm.Usage
		finish llm.FinishReason
	)
	for {
		ev, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: no message_stop", wire.ErrTruncated)
		}
		if err != nil {
			if errors.Is(err, sse.ErrTooLarge) {
				return fmt.Errorf("%w: stream event", wire.ErrTooLarge)
			}
			return err
		}
		var se streamEvent
		if err := json.Unmarshal([]byte(ev.Data), &se); err != nil {
			return fmt.Errorf("%w: %s event: %v", wire.ErrMalformed, safeType(ev.Type), err)
		}
		typ := se.Type
		if typ == "" {
			typ = ev.Type
		}
		switch typ {
		case "ping":
		case "error":
			e := &llm.APIError{StatusCode: 200, InStream: true}
			if se.Error != nil {
				se.Error.fill(e)
			}
			return e
		case "message_start":
			var m messagesResponse
			if len(se.Message) > 0 {
				if err := json.Unmarshal(se.Message, &m); err != nil {
					return fmt.Errorf("%w: message_start: %v", wire.ErrMalformed, err)
				}
			}
			model = m.Model
			if m.Usage != nil {
				usage = llm.Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens}
			}
		case "content_block_start":
			if se.Block != nil && se.Block.Type == "tool_use" {
				if len(tools) >= 128 {
					return fmt.Errorf("%w: too many tool calls", wire.ErrMalformed)
				}
				tools[se.Index] = &tool{id: se.Block.ID, name: se.Block.Name}
			}
		case "content_block_delta":
			if se.Delta == nil {
				return fmt.Errorf("%w: content_block_delta without delta", wire.ErrMalformed)
			}
			switch se.Delta.Type {
			case "text_delta":
				if se.Delta.Text != "" && !yield(llm.Chunk{Text: se.Delta.Text, Model: model}) {
					return nil
				}
			case "input_json_delta":
				if t := tools[se.Index]; t != nil {
					t.input = append(t.input, se.Delta.PartialJSON...)
				}
			}
			// thinking_delta, signature_delta, citations_delta: not part of
			// the answer's text.
		case "content_block_stop":
		case "message_delta":
			if se.Delta != nil && se.Delta.StopReason != "" {
				finish = stopReason(se.Delta.StopReason)
			}
			if se.Usage != nil {
				if se.Usage.OutputTokens != nil {
					usage.OutputTokens = *se.Usage.OutputTokens
				}
				if se.Usage.InputTokens != nil && *se.Usage.InputTokens > 0 {
					usage.InputTokens = *se.Usage.InputTokens
				}
			}
		case "message_stop":
			ch := llm.Chunk{FinishReason: finish, Usage: &usage, Model: model}
			if ch.FinishReason == "" {
				ch.FinishReason = llm.FinishStop
			}
			idx := make([]int, 0, len(tools))
			for i := range tools {
				idx = append(idx, i)
			}
			sort.Ints(idx)
			for _, i := range idx {
				t := tools[i]
				in := t.input
				if len(bytes.TrimSpace(in)) == 0 {
					in = []byte("{}")
				}
				ch.ToolCalls = append(ch.ToolCalls, llm.ToolCall{ID: t.id, Name: t.name, Arguments: json.RawMessage(in)})
			}
			yield(ch)
			return nil
		default:
			// Unknown event types are skipped: new ones may appear.
		}
	}
}

// safeType returns an event type for an error message, bounded and
// printable.
func safeType(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("%q", s)
}
