package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/inferlabs/privkit/internal/sse"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

type part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
}

type functionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type functionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type generationConfig struct {
	MaxOutputTokens int      `json:"maxOutputTokens,omitempty"`
	Temperature     *float64 `json:"temperature,omitempty"`
	StopSequences   []string `json:"stopSequences,omitempty"`
}

type functionDecl struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type tool struct {
	FunctionDeclarations []functionDecl `json:"functionDeclarations"`
}

type generateRequest struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
	Tools             []tool            `json:"tools,omitempty"`
}

// EncodeRequest returns the JSON body of a generateContent request for req.
// System messages become the systemInstruction; assistant messages the
// "model" role; tool results functionResponse parts. Low-level.
func EncodeRequest(req *llm.Request) ([]byte, error) {
	var gr generateRequest
	names := map[string]string{} // tool call ID -> function name
	for _, m := range req.Messages {
		switch m.Role {
		case llm.RoleSystem:
			if gr.SystemInstruction == nil {
				gr.SystemInstruction = &content{}
			}
			gr.SystemInstruction.Parts = append(gr.SystemInstruction.Parts, part{Text: m.Content})
		case llm.RoleUser:
			gr.Contents = append(gr.Contents, content{Role: "user", Parts: []part{{Text: m.Content}}})
		case llm.RoleAssistant:
			c := content{Role: "model"}
			if m.Content != "" {
				c.Parts = append(c.Parts, part{Text: m.Content})
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Name
				args := tc.Arguments
				if len(bytes.TrimSpace(args)) == 0 {
					args = json.RawMessage("{}")
				}
				if !json.Valid(args) {
					return nil, fmt.Errorf("tool call %q: arguments are not JSON", tc.Name)
				}
				c.Parts = append(c.Parts, part{FunctionCall: &functionCall{Name: tc.Name, Args: args}})
			}
			if len(c.Parts) == 0 {
				c.Parts = []part{{Text: ""}}
			}
			gr.Contents = append(gr.Contents, c)
		case llm.RoleTool:
			name := m.Name
			if name == "" {
				name = names[m.ToolCallID]
			}
			// The response must be a JSON object: wrap the tool's text.
			resp, _ := json.Marshal(map[string]string{"content": m.Content})
			p := part{FunctionResponse: &functionResponse{Name: name, Response: resp}}
			// Consecutive tool results go in one user turn.
			if n := len(gr.Contents); n > 0 && gr.Contents[n-1].Role == "user" && gr.Contents[n-1].Parts[0].FunctionResponse != nil {
				gr.Contents[n-1].Parts = append(gr.Contents[n-1].Parts, p)
			} else {
				gr.Contents = append(gr.Contents, content{Role: "user", Parts: []part{p}})
			}
		}
	}
	if req.MaxTokens > 0 || req.Temperature != nil || len(req.StopSequences) > 0 {
		gr.GenerationConfig = &generationConfig{MaxOutputTokens: req.MaxTokens, Temperature: req.Temperature, StopSequences: req.StopSequences}
	}
	if len(req.Tools) > 0 {
		t := tool{}
		for _, d := range req.Tools {
			t.FunctionDeclarations = append(t.FunctionDeclarations, functionDecl{Name: d.Name, Description: d.Description, Parameters: d.Parameters})
		}
		gr.Tools = []tool{t}
	}
	return json.Marshal(gr)
}

type generateResponse struct {
	Candidates []struct {
		Content      *content `json:"content"`
		FinishReason string   `json:"finishReason"`
		Index        int      `json:"index"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *struct {
		PromptTokenCount     int `json:"promptTokenCount"`
		CandidatesTokenCount int `json:"candidatesTokenCount"`
		ThoughtsTokenCount   int `json:"thoughtsTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string     `json:"modelVersion"`
	Error        *errorBody `json:"error"`
}

func (g *generateResponse) usage() *llm.Usage {
	if g.UsageMetadata == nil {
		return nil
	}
	u := g.UsageMetadata
	return &llm.Usage{InputTokens: u.PromptTokenCount, OutputTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount}
}

// parts returns the candidate's visible text and tool calls (thoughts are
// skipped), numbering calls that carry no ID from next.
func (g *generateResponse) parts(next *int) (string, []llm.ToolCall, llm.FinishReason) {
	if len(g.Candidates) == 0 {
		if g.PromptFeedback != nil && g.PromptFeedback.BlockReason != "" {
			return "", nil, llm.FinishContentFilter
		}
		return "", nil, ""
	}
	c := g.Candidates[0]
	var text bytes.Buffer
	var calls []llm.ToolCall
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			if p.Thought {
				continue
			}
			text.WriteString(p.Text)
			if p.FunctionCall != nil {
				id := p.FunctionCall.ID
				if id == "" {
					*next++
					id = "call_" + strconv.Itoa(*next)
				}
				args := p.FunctionCall.Args
				if len(args) == 0 {
					args = json.RawMessage("{}")
				}
				calls = append(calls, llm.ToolCall{ID: id, Name: p.FunctionCall.Name, Arguments: args})
			}
		}
	}
	fr := finishReason(c.FinishReason)
	if fr == llm.FinishStop && len(calls) > 0 {
		fr = llm.FinishToolCalls
	}
	return text.String(), calls, fr
}

func finishReason(s string) llm.FinishReason {
	switch s {
	case "":
		return ""
	case "STOP":
		return llm.FinishStop
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return llm.FinishContentFilter
	default:
		return llm.FinishOther
	}
}

// ParseResponse decodes a generateContent response. Low-level.
func ParseResponse(body []byte) (*llm.Response, error) {
	var g generateResponse
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, fmt.Errorf("%w: %v", wire.ErrMalformed, err)
	}
	if g.Error != nil {
		e := &llm.APIError{StatusCode: 200, InStream: true, Retryable: g.Error.Code == 429 || g.Error.Code >= 500}
		g.Error.fill(e)
		return nil, e
	}
	if len(g.Candidates) == 0 && (g.PromptFeedback == nil || g.PromptFeedback.BlockReason == "") {
		return nil, fmt.Errorf("%w: no candidates", wire.ErrMalformed)
	}
	n := 0
	text, calls, fr := g.parts(&n)
	out := &llm.Response{Model: g.ModelVersion, Text: text, ToolCalls: calls, FinishReason: fr}
	if u := g.usage(); u != nil {
		out.Usage = *u
	}
	return out, nil
}

// DecodeStream reads a streamGenerateContent?alt=sse stream from r and calls
// yield for each piece of text as it arrives; tool calls, the finish reason
// and the (cumulative, so last) usage come in one chunk at the end. The
// stream has no end marker: it must report a finish reason before EOF, or
// the result is an error wrapping llm.ErrTruncated. An error object in the
// stream becomes an *llm.APIError. Low-level.
func DecodeStream(r io.Reader, maxEvent int, yield func(llm.Chunk) bool) error {
	sr := sse.NewReader(r, maxEvent)
	var (
		finish llm.FinishReason
		usage  *llm.Usage
		model  string
		calls  []llm.ToolCall
		next   int
	)
	for {
		ev, err := sr.Next()
		if errors.Is(err, io.EOF) {
			if finish == "" {
				return fmt.Errorf("%w: no finish reason", wire.ErrTruncated)
			}
			if finish == llm.FinishStop && len(calls) > 0 {
				finish = llm.FinishToolCalls
			}
			yield(llm.Chunk{ToolCalls: calls, FinishReason: finish, Usage: usage, Model: model})
			return nil
		}
		if err != nil {
			if errors.Is(err, sse.ErrTooLarge) {
				return fmt.Errorf("%w: stream event", wire.ErrTooLarge)
			}
			return err
		}
		var g generateResponse
		if err := json.Unmarshal([]byte(ev.Data), &g); err != nil {
			return fmt.Errorf("%w: stream chunk: %v", wire.ErrMalformed, err)
		}
		if g.Error != nil {
			e := &llm.APIError{StatusCode: 200, InStream: true, Retryable: g.Error.Code == 429 || g.Error.Code >= 500}
			g.Error.fill(e)
			return e
		}
		if g.ModelVersion != "" {
			model = g.ModelVersion
		}
		if u := g.usage(); u != nil {
			usage = u
		}
		text, cs, fr := g.parts(&next)
		if len(calls)+len(cs) > 128 {
			return fmt.Errorf("%w: too many tool calls", wire.ErrMalformed)
		}
		calls = append(calls, cs...)
		if fr != "" {
			finish = fr
		}
		if text != "" && !yield(llm.Chunk{Text: text, Model: model}) {
			return nil
		}
	}
}
