// Package llmtest holds test helpers for privkit's llm packages: an httptest
// server that replays recorded HTTP responses byte for byte, an in-memory
// audit recorder, a scripted [llm.Provider], [TestProvider] (the contract
// every provider keeps), [Collect] to drain a stream, and the typed-error
// checks of the decoders' fuzz tests. Only tests import it.
package llmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/llm"
)

// Recorded is a parsed raw HTTP response dump (the testdata/*.response.http
// files: status line and headers in CRLF, a blank line, the body verbatim).
type Recorded struct {
	Status int
	Header http.Header
	Body   []byte
}

// LoadResponse parses the response dump at path.
func LoadResponse(t testing.TB, path string) Recorded {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("llmtest: %v", err)
	}
	i := bytes.Index(data, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("llmtest: %s: no header block", path)
	}
	head, body := string(data[:i]), data[i+4:]
	lines := strings.Split(head, "\r\n")
	parts := strings.SplitN(lines[0], " ", 3)
	if len(parts) < 2 {
		t.Fatalf("llmtest: %s: bad status line %q", path, lines[0])
	}
	status, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("llmtest: %s: bad status %q", path, parts[1])
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("llmtest: %s: bad header %q", path, l)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return Recorded{Status: status, Header: h, Body: body}
}

// LoadRequestBody returns the body of the request dump at path.
func LoadRequestBody(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("llmtest: %v", err)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("llmtest: %s: %v", path, err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatalf("llmtest: %s: %v", path, err)
	}
	return body
}

// Write writes the recorded response to w: its headers (except
// Content-Length, which net/http sets) and its body, byte for byte.
func (r Recorded) Write(w http.ResponseWriter) {
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(r.Body)))
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

// Request is one request a [Server] received.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// Server is an httptest server answering each request with the next
// handler of a script (the last one repeats), recording what it received.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	script   []http.HandlerFunc
	requests []Request
}

// NewServer starts a scripted server and closes it when the test ends.
func NewServer(t testing.TB, script ...http.HandlerFunc) *Server {
	t.Helper()
	s := &Server{script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		h := s.script[min(n, len(s.script)-1)]
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Replay returns a handler that writes the recorded response at path.
func Replay(t testing.TB, path string) http.HandlerFunc {
	rec := LoadResponse(t, path)
	return func(w http.ResponseWriter, _ *http.Request) { rec.Write(w) }
}

// Status returns a handler answering status with the given headers
// ("Key: value" strings) and body.
func Status(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// SSE returns a handler that sends body as a 200 text/event-stream,
// flushing after each of the given parts, and then, if hang is set, waits
// for the client to go away instead of ending the stream.
func SSE(hang bool, parts ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		f, _ := w.(http.Flusher)
		for _, p := range parts {
			_, _ = io.WriteString(w, p)
			if f != nil {
				f.Flush()
			}
		}
		if hang {
			<-r.Context().Done()
		}
	}
}

// Hang returns a handler that never answers until the client goes away.
func Hang() http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
}

// Auditor records audit events in memory. It is safe for concurrent use.
type Auditor struct {
	mu     sync.Mutex
	events []audit.Event
}

// Record appends e.
func (a *Auditor) Record(_ context.Context, e audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// Events returns the events recorded so far.
func (a *Auditor) Events() []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Event(nil), a.events...)
}

// Attr returns the value of the attribute key of e as text, and whether it
// was there.
func Attr(e audit.Event, key string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value(), true
		}
	}
	return "", false
}

// Provider is a scripted [llm.Provider] that makes no network I/O. It
// answers Chat with Reply (an echo of the last message by default) and
// Stream with StreamChunks, and counts calls.
type Provider struct {
	ProviderName  string
	ProviderFacts llm.Facts
	// Reply answers a Chat; nil echoes the last message.
	Reply func(req *llm.Request) (*llm.Response, error)
	// StreamChunks answers a Stream; nil streams the Chat reply's text in
	// one chunk.
	StreamChunks func(req *llm.Request) ([]llm.Chunk, error)

	calls atomic.Int64
	mu    sync.Mutex
	seen  []*llm.Request
}

var _ llm.Provider = (*Provider)(nil)

// Name returns ProviderName.
func (p *Provider) Name() string { return p.ProviderName }

// Facts returns ProviderFacts.
func (p *Provider) Facts() llm.Facts { return p.ProviderFacts }

// Calls returns how many Chat and Stream calls reached the provider.
func (p *Provider) Calls() int { return int(p.calls.Load()) }

// Seen returns the requests the provider received.
func (p *Provider) Seen() []*llm.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*llm.Request(nil), p.seen...)
}

// Chat answers with Reply.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	p.calls.Add(1)
	p.mu.Lock()
	p.seen = append(p.seen, req)
	p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Reply != nil {
		return p.Reply(req)
	}
	last := req.Messages[len(req.Messages)-1]
	return &llm.Response{Model: "echo", Text: last.Content, FinishReason: llm.FinishStop, Usage: llm.Usage{InputTokens: 1, OutputTokens: 1}}, nil
}

// Stream answers with StreamChunks.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		if p.StreamChunks == nil {
			r, err := p.Chat(ctx, req)
			if err != nil {
				yield(llm.Chunk{}, err)
				return
			}
			if yield(llm.Chunk{Text: r.Text}, nil) {
				yield(llm.Chunk{FinishReason: r.FinishReason, Usage: &r.Usage}, nil)
			}
			return
		}
		p.calls.Add(1)
		p.mu.Lock()
		p.seen = append(p.seen, req)
		p.mu.Unlock()
		chunks, err := p.StreamChunks(req)
		for _, c := range chunks {
			if !yield(c, nil) {
				return
			}
		}
		if err != nil {
			yield(llm.Chunk{}, err)
		}
	}
}

// Collect drains p.Stream(ctx, req) and returns the text of its chunks, the
// chunks, and the error that ended the stream, if any.
func Collect(ctx context.Context, p llm.Provider, req *llm.Request) (string, []llm.Chunk, error) {
	var text strings.Builder
	var chunks []llm.Chunk
	for ch, err := range p.Stream(ctx, req) {
		if err != nil {
			return text.String(), chunks, err
		}
		text.WriteString(ch.Text)
		chunks = append(chunks, ch)
	}
	return text.String(), chunks, nil
}

// CheckParsed fails t unless a response decoder returned a response or a
// typed error: one wrapping [llm.ErrMalformed] or, if apiErrors is set (a
// body that may hold the provider's error object), an [*llm.APIError]. It
// is the property the providers' response fuzz tests check.
func CheckParsed(t testing.TB, resp *llm.Response, err error, apiErrors bool) {
	t.Helper()
	if err == nil {
		if resp == nil {
			t.Fatal("nil response without error")
		}
		return
	}
	var ae *llm.APIError
	if !errors.Is(err, llm.ErrMalformed) && !(apiErrors && errors.As(err, &ae)) {
		t.Fatalf("untyped error %v", err)
	}
}

// CheckStreamError fails t unless err, returned by a stream decoder, is
// nil, an [*llm.APIError] or wraps [llm.ErrMalformed], [llm.ErrTruncated]
// or [llm.ErrTooLarge]. It is the property the providers' stream fuzz
// tests check.
func CheckStreamError(t testing.TB, err error) {
	t.Helper()
	var ae *llm.APIError
	if err != nil && !errors.As(err, &ae) && !errors.Is(err, llm.ErrMalformed) && !errors.Is(err, llm.ErrTruncated) && !errors.Is(err, llm.ErrTooLarge) {
		t.Fatalf("untyped error %v", err)
	}
}
