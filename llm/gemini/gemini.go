package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/roundtrip"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

// DefaultBaseURL is the Gemini API's base URL.
const DefaultBaseURL = "https://generativelanguage.googleapis.com/v1beta"

// DefaultModel is the model used when neither the request nor Options name
// one.
const DefaultModel = "gemini-2.5-flash"

// Options configure a [Provider]. A nil *Options means all defaults.
type Options struct {
	// BaseURL is the API's base URL. Empty means DefaultBaseURL.
	BaseURL string
	// Name is the provider's name in errors and audit events. Empty means
	// "gemini".
	Name string
	// Model is the model used when a request names none. Empty means
	// DefaultModel.
	Model string
	// Paid attests that the API key's project has billing enabled, so the
	// paid-tier terms apply ([PaidFacts]). False means the free-tier terms
	// ([FreeFacts]): Google may train on and have people read the content.
	// The host must know which applies; privkit cannot tell from a key.
	Paid bool
	// Facts overrides the data-policy facts. Nil means PaidFacts or
	// FreeFacts according to Paid.
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

// Provider talks to the Gemini API (generateContent and
// streamGenerateContent?alt=sse), authenticating with the x-goog-api-key
// header. Use [New]; it is safe for concurrent use.
type Provider struct {
	w     wire.Base[llm.Facts] // key, URL, name, model, facts, client, caps, clock
	codec roundtrip.Codec      // what the shared round trips need of this API
	opts  Options
}

var _ llm.Provider = (*Provider)(nil)

// New returns a provider that authenticates with apiKey.
func New(apiKey string, opts *Options) *Provider {
	p := &Provider{}
	if opts != nil {
		p.opts = *opts
	}
	official := FreeFacts
	if p.opts.Paid {
		official = PaidFacts
	}
	p.w = wire.NewBase(wire.Config[llm.Facts]{
		Label:            "gemini.Provider",
		Key:              apiKey,
		BaseURL:          p.opts.BaseURL,
		DefaultBaseURL:   DefaultBaseURL,
		Name:             p.opts.Name,
		DefaultName:      "gemini",
		Model:            p.opts.Model,
		DefaultModel:     DefaultModel,
		Facts:            p.opts.Facts,
		OfficialFacts:    official,
		HTTPClient:       p.opts.HTTPClient,
		MaxResponseBytes: p.opts.MaxResponseBytes,
		MaxStreamBytes:   p.opts.MaxStreamBytes,
		Now:              p.opts.Now,
	})
	p.codec = roundtrip.Codec{
		NewRequest: p.newRequest, APIError: p.apiError,
		Parse: ParseResponse, Decode: DecodeStream, RequestIDHeader: "",
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

// Chat calls generateContent.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	return roundtrip.Chat(ctx, &p.w, &p.codec, req)
}

// Stream calls streamGenerateContent?alt=sse.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return roundtrip.Stream(ctx, &p.w, &p.codec, req)
}

func (p *Provider) newRequest(ctx context.Context, req *llm.Request, stream bool) (*http.Request, error) {
	body, err := EncodeRequest(req)
	if err != nil {
		return nil, p.w.Wrap(err)
	}
	model := req.Model
	if model == "" {
		model = p.w.Model
	}
	model = strings.TrimPrefix(model, "models/")
	u := p.w.BaseURL + "/models/" + url.PathEscape(model)
	if stream {
		u += ":streamGenerateContent?alt=sse"
	} else {
		u += ":generateContent"
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("llm: %s: bad base url: %w", p.w.Name, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if p.w.Key != "" {
		hreq.Header.Set("x-goog-api-key", p.w.Key)
	}
	return hreq, nil
}

// apiError turns an error response into an *llm.APIError.
func (p *Provider) apiError(resp *http.Response, body []byte) *llm.APIError {
	e := roundtrip.NewAPIError(&p.w, resp, "")
	var env errorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		header := e.RetryAfter
		env.Error.fill(e)      // sets RetryAfter from a RetryInfo in the body
		if e.RetryAfter == 0 { // which wins over Retry-After, unless it is zero
			e.RetryAfter = header
		}
	}
	if v, set := wire.ShouldRetry(resp.Header); set && !env.Error.perDay() {
		e.Retryable = v
	}
	return e
}

type errorEnvelope struct {
	Error *errorBody `json:"error"`
}

type errorBody struct {
	Code    int           `json:"code"`
	Message string        `json:"message"`
	Status  string        `json:"status"`
	Details []errorDetail `json:"details"`
}

type errorDetail struct {
	Type       string `json:"@type"`
	RetryDelay string `json:"retryDelay"`
	Violations []struct {
		QuotaID string `json:"quotaId"`
	} `json:"violations"`
}

// perDay reports a QuotaFailure naming a per-day quota: it resets at
// midnight Pacific time, so retrying within a call is pointless.
func (b *errorBody) perDay() bool {
	if b == nil {
		return false
	}
	for _, d := range b.Details {
		if strings.HasSuffix(d.Type, "google.rpc.QuotaFailure") {
			for _, v := range d.Violations {
				if strings.Contains(v.QuotaID, "PerDay") {
					return true
				}
			}
		}
	}
	return false
}

func (b *errorBody) fill(e *llm.APIError) {
	e.Type = b.Status
	e.Message = wire.Truncate(b.Message, 512)
	for _, d := range b.Details {
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") && d.RetryDelay != "" {
			if dur, err := wire.ParseDuration(d.RetryDelay); err == nil {
				e.RetryAfter = dur
			}
		}
	}
	if b.Code == http.StatusTooManyRequests || b.Code >= 500 {
		e.Retryable = true
	}
	if b.perDay() {
		e.Code = "per_day_quota"
		e.Retryable = false
	}
}
