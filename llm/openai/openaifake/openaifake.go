// Package openaifake is an in-process, OpenAI-compatible chat completions
// server for examples, demos and tests that must not touch the network. It
// answers POST /v1/chat/completions, streamed or not, with a scripted or
// echoed reply, and records every request it received, so a program can
// show exactly what a provider would have seen.
//
// It is a fake: no authentication, no models, no rate limits. Point
// openai.Options.BaseURL at [Server.URL].
package openaifake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/inferlabs/privkit/llm"
)

// Options configure a [Server]. A nil *Options means all defaults.
type Options struct {
	// Reply returns the assistant's answer to a request. Nil means an echo:
	// "You said: " and the last user message.
	Reply func(req Request) string
	// Model is the model name the server reports. Empty means "fake-model".
	Model string
	// ChunkSize is the number of bytes of text per streamed chunk, so that
	// placeholders get split across chunks. 0 means 4.
	ChunkSize int
}

// Message is one message of a received request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is a chat completion request the server received.
type Request struct {
	// Model is the requested model.
	Model string
	// Messages are the request's messages (content as text).
	Messages []Message
	// Stream reports a streaming request.
	Stream bool
	// Store is the request's "store" field; nil when absent.
	Store *bool
	// Body is the raw request body.
	Body []byte
}

// Server is a running fake. It is safe for concurrent use.
type Server struct {
	// URL is the base URL to give openai.Options.BaseURL (it ends in /v1).
	URL string

	srv   *httptest.Server
	opts  Options
	mu    sync.Mutex
	reqs  []Request
	close sync.Once
}

// NewServer starts a fake server on a loopback port. Close it when done.
func NewServer(opts *Options) *Server {
	s := &Server{}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Model == "" {
		s.opts.Model = "fake-model"
	}
	if s.opts.ChunkSize <= 0 {
		s.opts.ChunkSize = 4
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handle)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/v1"
	return s
}

// Close shuts the server down, waiting for requests in flight. It is safe to
// call more than once.
func (s *Server) Close() { s.close.Do(s.srv.Close) }

// Facts returns the data-policy facts of the fake itself: it trains on
// nothing, nobody reviews it, nothing leaves the process, and it keeps the
// requests it received in memory until the process ends (so it does not
// offer zero data retention). Pass them as openai.Options.Facts: privkit
// gives a server at a custom URL unknown facts otherwise.
func (s *Server) Facts() llm.Facts {
	return llm.Facts{
		Provider:          "openaifake (in-process)",
		Version:           "openaifake/1",
		Source:            "https://pkg.go.dev/github.com/inferlabs/privkit/llm/openai/openaifake",
		RetentionDays:     0,
		TrainsOnData:      llm.No,
		HumanReview:       llm.No,
		ZeroDataRetention: llm.No,
		Regions:           []string{"local"},
		Notes:             "requests are kept in memory for Requests until the process ends",
	}
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

type wireRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Stream bool  `json:"stream"`
	Store  *bool `json:"store"`
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, `{"error":{"message":"read error","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	var wr wireRequest
	if err := json.Unmarshal(body, &wr); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"invalid JSON body","type":"invalid_request_error","code":null}}`)
		return
	}
	req := Request{Model: wr.Model, Stream: wr.Stream, Store: wr.Store, Body: body}
	for _, m := range wr.Messages {
		var text string
		if json.Unmarshal(m.Content, &text) != nil {
			text = string(m.Content)
		}
		req.Messages = append(req.Messages, Message{Role: m.Role, Content: text})
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()

	reply := s.reply(req)
	in, out := words(req), len(strings.Fields(reply))
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "model": s.opts.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": reply}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out},
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	f, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if f != nil {
			f.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": s.opts.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}, "usage": nil}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for i := 0; i < len(reply); {
		j := min(i+s.opts.ChunkSize, len(reply))
		for j < len(reply) && !utf8.RuneStart(reply[j]) {
			j++ // never split a character
		}
		send(chunk(map[string]any{"content": reply[i:j]}, nil))
		i = j
	}
	send(chunk(map[string]any{}, "stop"))
	send(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": s.opts.Model, "choices": []any{},
		"usage": map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}})
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

func (s *Server) reply(req Request) string {
	if s.opts.Reply != nil {
		return s.opts.Reply(req)
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return "You said: " + req.Messages[i].Content
		}
	}
	return "Hello."
}

func words(req Request) int {
	n := 0
	for _, m := range req.Messages {
		n += len(strings.Fields(m.Content))
	}
	return n
}
