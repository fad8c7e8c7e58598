package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/roundtrip"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

// DefaultBaseURL is the OpenAI API's base URL.
const DefaultBaseURL = "https://api.openai.com/v1"

// DefaultModel is the model used when neither the request nor Options name
// one.
const DefaultModel = "gpt-4o-mini"

// Options configure a [Provider]. A nil *Options means all defaults.
type Options struct {
	// BaseURL is the API's base URL, without the trailing
	// "/chat/completions". Empty means DefaultBaseURL. Point it at any
	// OpenAI-compatible server (vLLM, Ollama, OpenRouter, a fake).
	BaseURL string
	// Name is the provider's name in errors and audit events. Empty means
	// "openai".
	Name string
	// Model is the model used when a request names none. Empty means
	// DefaultModel.
	Model string
	// Facts are the provider's data-policy facts. Nil means DefaultFacts
	// when BaseURL is the OpenAI API, and llm.UnknownFacts (meets no
	// requirement) for any other server: privkit cannot know its policy.
	Facts *llm.Facts
	// HTTPClient sends the requests. Nil means http.DefaultClient. Leave its
	// Timeout zero: the llm client's timeouts apply per attempt.
	HTTPClient *http.Client
	// Organization and Project, when set, are sent as OpenAI-Organization
	// and OpenAI-Project headers.
	Organization, Project string
	// LegacyMaxTokens sends a request's MaxTokens as "max_tokens" instead
	// of "max_completion_tokens", for compatible servers that predate the
	// newer field.
	LegacyMaxTokens bool
	// MaxResponseBytes caps a response body (and a stream's single event).
	// 0 means 8 MiB.
	MaxResponseBytes int64
	// MaxStreamBytes caps a whole streamed response. 0 means 64 MiB.
	MaxStreamBytes int64
	// Now is the clock used to read HTTP-date Retry-After headers. Nil means
	// time.Now.
	Now func() time.Time
}

// Provider talks to the OpenAI Chat Completions API. It always sends
// "store": false, so completions are not kept for OpenAI's dashboard or
// distillation, and asks streams to report usage. Use [New]; it is safe for
// concurrent use.
type Provider struct {
	w     wire.Base[llm.Facts] // key, URL, name, model, facts, client, caps, clock
	codec roundtrip.Codec      // what the shared round trips need of this API
	opts  Options

	// url and header are the parsed endpoint and the fixed headers of a
	// non-streamed request, built once; url is nil when the base URL does
	// not parse (newRequest then reports it).
	url    *url.URL
	header http.Header
}

var _ llm.Provider = (*Provider)(nil)

// New returns a provider that authenticates with apiKey (sent as a Bearer
// token; empty sends none, for local servers).
func New(apiKey string, opts *Options) *Provider {
	p := &Provider{}
	if opts != nil {
		p.opts = *opts
	}
	p.w = wire.NewBase(wire.Config[llm.Facts]{
		Label:            "openai.Provider",
		Key:              apiKey,
		BaseURL:          p.opts.BaseURL,
		DefaultBaseURL:   DefaultBaseURL,
		Name:             p.opts.Name,
		DefaultName:      "openai",
		Model:            p.opts.Model,
		DefaultModel:     DefaultModel,
		Facts:            p.opts.Facts,
		OfficialFacts:    DefaultFacts,
		OtherFacts:       llm.UnknownFacts,
		HTTPClient:       p.opts.HTTPClient,
		MaxResponseBytes: p.opts.MaxResponseBytes,
		MaxStreamBytes:   p.opts.MaxStreamBytes,
		Now:              p.opts.Now,
	})
	if u, err := url.Parse(p.w.BaseURL + "/chat/completions"); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		p.url = u
	}
	p.header = p.headers(false)
	p.codec = roundtrip.Codec{
		NewRequest: p.newRequest, APIError: p.apiError, StreamError: p.streamError,
		Parse: ParseResponse, Decode: DecodeStream, RequestIDHeader: "X-Request-Id",
	}
	return p
}

// headers returns the fixed headers of a request. Each value slice is full
// (len == cap), so that an append by anyone copies it.
func (p *Provider) headers(stream bool) http.Header {
	one := func(v string) []string { return []string{v}[:1:1] }
	h := http.Header{"Content-Type": one("application/json"), "Accept": one("application/json")}
	if stream {
		h["Accept"] = one("text/event-stream")
	}
	if p.w.Key != "" {
		h["Authorization"] = one("Bearer " + p.w.Key)
	}
	if p.opts.Organization != "" {
		h["Openai-Organization"] = one(p.opts.Organization)
	}
	if p.opts.Project != "" {
		h["Openai-Project"] = one(p.opts.Project)
	}
	return h
}

// Name returns the provider's name.
func (p *Provider) Name() string { return p.w.Name }

// Facts returns the provider's data-policy facts.
func (p *Provider) Facts() llm.Facts { return p.w.Facts }

// String returns the provider's name and base URL, never the key.
func (p *Provider) String() string { return p.w.String() }

// GoString is String, so that %#v never prints the key either.
func (p *Provider) GoString() string { return p.String() }

// Chat sends one chat completion request.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	return roundtrip.Chat(ctx, &p.w, &p.codec, req)
}

// Stream sends one streaming chat completion request.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return roundtrip.Stream(ctx, &p.w, &p.codec, req)
}

func (p *Provider) newRequest(ctx context.Context, req *llm.Request, stream bool) (*http.Request, error) {
	body, err := encodeRequest(req, p.w.Model, stream, p.opts.LegacyMaxTokens)
	if err != nil {
		return nil, p.w.Wrap(err)
	}
	if p.url == nil || stream {
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.w.BaseURL+"/chat/completions", bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("llm: %s: bad base url: %w", p.w.Name, err)
		}
		hreq.Header = p.headers(stream)
		return hreq, nil
	}
	// What http.NewRequestWithContext builds, without printing and parsing
	// the URL and canonicalising the headers on every call.
	return wire.NewPost(ctx, p.url, p.header, body), nil
}

// streamError is roundtrip.StreamError of the API's error, except that an
// error met with status 200 (inStream) is retryable unless its type or code
// names one that waiting does not fix.
func (p *Provider) streamError(resp *http.Response, body []byte, inStream bool) error {
	ae := p.apiError(resp, body)
	if inStream {
		ae.Retryable = !nonRetryable(ae.Type) && !nonRetryable(ae.Code)
	}
	return roundtrip.StreamError(ae, inStream)
}

// apiError turns an error response into an *llm.APIError.
func (p *Provider) apiError(resp *http.Response, body []byte) *llm.APIError {
	e := roundtrip.NewAPIError(&p.w, resp, p.codec.RequestIDHeader)
	var env errorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e.Type, e.Code, e.Message = env.Error.Type, codeString(env.Error.Code), wire.Truncate(env.Error.Message, 512)
	}
	if v, set := wire.ShouldRetry(resp.Header); set {
		e.Retryable = v
	}
	if nonRetryable(e.Type) || nonRetryable(e.Code) {
		e.Retryable = false
	}
	return e
}

// nonRetryable reports error codes that waiting does not fix.
func nonRetryable(code string) bool {
	switch code {
	case "insufficient_quota", "billing_hard_limit_reached", "account_deactivated", "invalid_api_key":
		return true
	}
	return false
}

type errorEnvelope struct {
	Error *errorBody `json:"error"`
}

type errorBody struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"` // a string (OpenAI) or a number (some compatible servers)
}

func codeString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
