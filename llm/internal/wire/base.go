package wire

import (
	"fmt"
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
