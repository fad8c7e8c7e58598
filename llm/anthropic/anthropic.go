package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/roundtrip"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

// DefaultBaseURL is the Anthropic API's base URL.
const DefaultBaseURL = "https://api.anthropic.com/v1"

// DefaultModel is the model used when neither the request nor Options name
// one.
const DefaultModel = "claude-sonnet-4-5"

// APIVersion is the anthropic-version header the provider sends.
const APIVersion = "2023-06-01"

// DefaultMaxTokens is sent when a request sets no MaxTokens: the Messages
// API requires max_tokens.
const DefaultMaxTokens = 4096

// Options configure a [Provider]. A nil *Options means all defaults.
type Options struct {
	// BaseURL is the API's base URL. Empty means DefaultBaseURL.
	BaseURL string
	// Name is the provider's name in errors and audit events. Empty means
	// "anthropic".
	Name string
	// Model is the model used when a request names none. Empty means
	// DefaultModel.
	Model string
	// Facts overrides the data-policy facts. Nil means DefaultFacts when
	// BaseURL is the Anthropic API and llm.UnknownFacts otherwise.
	Facts *llm.Facts
	// HTTPClient sends the requests. Nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxResponseBytes caps a response body (and a stream's single event).
	// 0 means 8 MiB.
	MaxResponseBytes int64
	// MaxStreamBytes caps a whole streamed response. 0 means 64 MiB.
	MaxStreamBytes int64
	// Now is the clock used to read HTTP-date Retry-After headers. Nil means
	// time.Now.
	Now func() time.Time
}

// Provider talks to the Anthropic Messages API. Use [New]; it is safe for
// concurrent use.
type Provider struct {
	w     wire.Base[llm.Facts] // key, URL, name, model, facts, client, caps, clock
	codec roundtrip.Codec      // what the shared round trips need of this API
	opts  Options
}

var _ llm.Provider = (*Provider)(nil)

// New returns a provider that authenticates with apiKey (the x-api-key
// header).
func New(apiKey string, opts *Options) *Provider {
	p := &Provider{}
	if opts != nil {
		p.opts = *opts
	}
	p.w = wire.NewBase(wire.Config[llm.Facts]{
		Label:            "anthropic.Provider",
		Key:              apiKey,
		BaseURL:          p.opts.BaseURL,
		DefaultBaseURL:   DefaultBaseURL,
		Name:             p.opts.Name,
		DefaultName:      "anthropic",
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
	p.codec = roundtrip.Codec{
		NewRequest: p.newRequest, APIError: p.apiError,
		Parse: ParseResponse, Decode: DecodeStream, RequestIDHeader: "Request-Id",
	}
	return p
}

// Name returns the provider's name.
func (p *Provider) Name() string { return p.w.Name }

// Facts returns the provider's data-policy facts.
func (p *Provider) Facts() llm.Facts { return p.w.Facts }

// String returns the provider's name and base URL, never the key.
func (p *Provider) String() string { return p.w.String() }

// GoString is String, so that %#v never prints the key either.
func (p *Provider) GoString() string { return p.String() }

// Chat sends one Messages request.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	return roundtrip.Chat(ctx, &p.w, &p.codec, req)
}

// Stream sends one streaming Messages request.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return roundtrip.Stream(ctx, &p.w, &p.codec, req)
}

func (p *Provider) newRequest(ctx context.Context, req *llm.Request, stream bool) (*http.Request, error) {
	body, err := EncodeRequest(req, p.w.Model, stream)
	if err != nil {
		return nil, p.w.Wrap(err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.w.BaseURL+"/messages", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("llm: %s: bad base url: %w", p.w.Name, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Anthropic-Version", APIVersion)
	if stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	if p.w.Key != "" {
		hreq.Header.Set("X-Api-Key", p.w.Key)
	}
	return hreq, nil
}

// apiError turns an error response into an *llm.APIError.
func (p *Provider) apiError(resp *http.Response, body []byte) *llm.APIError {
	e := roundtrip.NewAPIError(&p.w, resp, p.codec.RequestIDHeader)
	var env errorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		env.Error.fill(e)
		if e.RequestID == "" {
			e.RequestID = env.RequestID
		}
	}
	if v, set := wire.ShouldRetry(resp.Header); set && e.Code != spendLimit {
		e.Retryable = v
	}
	return e
}

const spendLimit = "enforced_spend_limit_reached"

type errorEnvelope struct {
	Error     *errorBody `json:"error"`
	RequestID string     `json:"request_id"`
}

type errorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Details *struct {
		ErrorCode string `json:"error_code"`
	} `json:"details"`
}

func (b *errorBody) fill(e *llm.APIError) {
	e.Type = b.Type
	e.Message = wire.Truncate(b.Message, 512)
	if b.Details != nil {
		e.Code = b.Details.ErrorCode
	}
	switch {
	case e.Code == spendLimit:
		e.Retryable = false // a spend cap does not lift by waiting
	case b.Type == "overloaded_error", b.Type == "api_error", b.Type == "rate_limit_error", b.Type == "timeout_error":
		e.Retryable = true
	}
}
