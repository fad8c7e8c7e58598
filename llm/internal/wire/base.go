package wire

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/inferlabs/privkit/internal/clock"
)

// Config is what a provider's New passes to [NewBase]: its options and its
// defaults. F is the provider's facts type (llm.Facts; wire cannot import
// package llm).
type Config[F any] struct {
	// Label prefixes String, e.g. "openai.Provider".
	Label string
	// Key is the API key; Base never prints it.
	Key string
	// BaseURL is the configured base URL; trailing slashes are trimmed and
	// empty means DefaultBaseURL.
	BaseURL, DefaultBaseURL string
	// Name is the configured name; empty means DefaultName.
	Name, DefaultName string
	// Model is the configured model; empty means DefaultModel.
	Model, DefaultModel string
	// Facts, when not nil, are the facts. Otherwise they are
	// OfficialFacts() when the base URL is DefaultBaseURL or OtherFacts is
	// nil, and OtherFacts(name) otherwise.
	Facts         *F
	OfficialFacts func() F
	OtherFacts    func(name string) F
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxResponseBytes caps a body (0: DefaultMaxBody); MaxStreamBytes a
	// whole stream (0: DefaultMaxStream).
	MaxResponseBytes, MaxStreamBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Base is the state every provider shares: its key, endpoint, name,
// default model, facts, HTTP client, body caps and clock.
type Base[F any] struct {
	Key       string
	BaseURL   string
	Name      string
	Model     string
	Facts     F
	HC        *http.Client
	MaxBody   int64
	MaxStream int64
	Now       func() time.Time

	label string
}

// NewBase applies the defaults of c.
func NewBase[F any](c Config[F]) Base[F] {
	b := Base[F]{Key: c.Key, MaxBody: c.MaxResponseBytes, MaxStream: c.MaxStreamBytes, label: c.Label}
	b.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if b.BaseURL == "" {
		b.BaseURL = c.DefaultBaseURL
	}
	b.Name = c.Name
	if b.Name == "" {
		b.Name = c.DefaultName
	}
	b.Model = c.Model
	if b.Model == "" {
		b.Model = c.DefaultModel
	}
	switch {
	case c.Facts != nil:
		b.Facts = *c.Facts
	case b.BaseURL == c.DefaultBaseURL || c.OtherFacts == nil:
		if c.OfficialFacts != nil {
			b.Facts = c.OfficialFacts()
		}
	default:
		b.Facts = c.OtherFacts(b.Name)
	}
	b.HC = c.HTTPClient
	if b.HC == nil {
		b.HC = http.DefaultClient
	}
	b.Now = clock.NowFunc(c.Now)
	return b
}

// String returns the label, name and base URL, never the key.
func (b *Base[F]) String() string { return b.label + "{" + b.Name + " " + b.BaseURL + "}" }

// Wrap returns err prefixed "llm: <name>: ".
func (b *Base[F]) Wrap(err error) error {
	return fmt.Errorf("llm: %s: %w", b.Name, err)
}

// Call sends a non-streamed request and reads its body, at most MaxBody
// bytes. It returns the response, whose body is read and closed, and the
// body; the caller checks the status. Errors come wrapped with the
// provider's name.
func (b *Base[F]) Call(ctx context.Context, hreq *http.Request) (*http.Response, []byte, error) {
	resp, g, err := send(ctx, b.HC, hreq, false)
	if err != nil {
		return nil, nil, b.Wrap(err)
	}
	defer (&Response{Response: resp, body: g}).Close()
	body, err := ReadBodySized(resp.Body, b.MaxBody, resp.ContentLength)
	if err != nil {
		return nil, nil, b.Wrap(err)
	}
	return resp, body, nil
}

// OpenStream sends a streaming request. On success it returns the response,
// which the caller closes, and its body limited to MaxStream bytes.
// Otherwise it returns an error: the transport's, wrapped with the
// provider's name; for a status other than 200, apiErr(resp, body, false);
// for a JSON body with status 200 (an error object some servers send where
// a stream was asked for), apiErr(resp, body, true), or ErrMalformed when
// that returns nil.
func (b *Base[F]) OpenStream(ctx context.Context, hreq *http.Request, apiErr func(resp *http.Response, body []byte, inStream bool) error) (*Response, io.Reader, error) {
	resp, err := Send(ctx, b.HC, hreq, true)
	if err != nil {
		return nil, nil, b.Wrap(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Close()
		body, err := ReadBody(resp.Body, b.MaxBody)
		if err != nil {
			return nil, nil, fmt.Errorf("llm: %s: status %d: %w", b.Name, resp.StatusCode, err)
		}
		return nil, nil, apiErr(resp.Response, body, false)
	}
	if IsJSON(resp.Header) {
		defer resp.Close()
		body, err := ReadBody(resp.Body, b.MaxBody)
		if err != nil {
			return nil, nil, b.Wrap(err)
		}
		if err := apiErr(resp.Response, body, true); err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("llm: %s: %w: JSON body instead of an event stream", b.Name, ErrMalformed)
	}
	return resp, LimitStream(resp.Body, b.MaxStream), nil
}
