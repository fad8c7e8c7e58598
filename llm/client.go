package llm

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/llm/redact"
)

// Defaults of [Options] and [RetryPolicy].
const (
	DefaultTimeout          = 10 * time.Minute
	DefaultAttemptTimeout   = 5 * time.Minute
	DefaultFirstByteTimeout = 2 * time.Minute
	DefaultIdleTimeout      = 60 * time.Second
	DefaultCooldown         = 30 * time.Second
	DefaultMaxAttempts      = 3
	DefaultBaseDelay        = 500 * time.Millisecond
	DefaultMaxDelay         = 8 * time.Second
	DefaultMaxServerDelay   = 60 * time.Second
)

// Options configure a [Client]. A nil *Options means all defaults.
type Options struct {
	// Redactor finds personal data in outgoing messages. Nil means
	// redact.New(nil), the default recognizers.
	Redactor *redact.Redactor
	// Consent is asked whether the conversation's subject allows
	// PurposeLLMProcessing before any call. Nil means consent is not
	// checked by this client (the audit event says "unchecked"). A check
	// that fails counts as a refusal.
	Consent ConsentChecker
	// Auditor receives one event per call. Nil means no audit events.
	// A failure to record is logged; it never hides an answer.
	Auditor Auditor
	// Logger receives operational logs (retries, fallbacks, audit
	// failures), never content. Nil means no logs.
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Sleep waits between retries; it returns early with an error when ctx
	// is done. Nil means a timer. Tests pass a fake that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand is the randomness for backoff jitter. Nil means crypto/rand.
	Rand io.Reader
	// Requirements apply to every request, in addition to each request's
	// own. The zero value demands nothing.
	Requirements Requirements
	// Retry sets the retry policy. Nil means the defaults of [RetryPolicy].
	Retry *RetryPolicy
	// Timeout bounds a whole call, retries and fallbacks included.
	// 0 means DefaultTimeout; negative means none (the caller's ctx only).
	Timeout time.Duration
	// AttemptTimeout bounds one attempt at one provider, a whole stream
	// included. 0 means DefaultAttemptTimeout; negative means none.
	AttemptTimeout time.Duration
	// FirstByteTimeout bounds the wait for the first byte of a streamed
	// answer. Reasoning models may think for minutes before they send a
	// byte: raise it for them. 0 means DefaultFirstByteTimeout; negative
	// means none.
	FirstByteTimeout time.Duration
	// IdleTimeout bounds a stream's silence between bytes (keep-alive
	// pings count as bytes). 0 means DefaultIdleTimeout; negative means
	// none.
	IdleTimeout time.Duration
	// Cooldown is how long a provider that failed is tried only after the
	// others. 0 means DefaultCooldown; negative means no cooldown.
	Cooldown time.Duration
	// Actor is the audit events' Actor. Empty means "service:llm".
	Actor string
	// Service is the audit events' Service. Empty means "llm".
	Service string
}

// RetryPolicy says how the client retries one provider before it falls back
// to the next.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts per provider. 0 means
	// DefaultMaxAttempts; 1 means no retry.
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles per attempt, with jitter
	// between half and all of it. 0 means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. 0 means DefaultMaxDelay.
	MaxDelay time.Duration
	// MaxServerDelay caps a wait the server asks for: a longer one (OpenAI
	// has answered "try again in 114h") makes the client fall back to the
	// next provider instead of waiting. 0 means DefaultMaxServerDelay.
	MaxServerDelay time.Duration
}

// Client sends chat requests to the first provider that meets the data
// policy, redacting personal data on the way out and restoring it on the
// way back. Use [New]; talk through [Client.Conversation]. A Client is safe
// for concurrent use and starts no goroutines.
type Client struct {
	providers []Provider
	resources map[string]string // provider name -> audit Resource, "llm/<name>"
	opts      Options
	retry     RetryPolicy
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	log       *slog.Logger
	redactor  *redact.Redactor

	mu       sync.Mutex
	cooldown map[string]time.Time // provider name -> cooling until
	closed   atomic.Bool

	deadlines deadlines // ends attempts at their deadlines
}

// New returns a client over providers, tried in order. It fails when
// providers is empty, holds nil, or holds two providers with one name.
func New(providers []Provider, opts *Options) (*Client, error) {
	if len(providers) == 0 {
		return nil, fmt.Errorf("%w: no providers", ErrInvalidRequest)
	}
	seen := map[string]bool{}
	for i, p := range providers {
		if p == nil {
			return nil, fmt.Errorf("%w: provider %d is nil", ErrInvalidRequest, i)
		}
		if seen[p.Name()] {
			return nil, fmt.Errorf("%w: two providers named %q", ErrInvalidRequest, p.Name())
		}
		seen[p.Name()] = true
	}
	c := &Client{providers: append([]Provider(nil), providers...), cooldown: map[string]time.Time{}}
	c.resources = make(map[string]string, len(providers))
	for _, p := range providers {
		c.resources[p.Name()] = "llm/" + p.Name()
	}
	if opts != nil {
		c.opts = *opts
	}
	o := &c.opts
	o.Timeout = orDefault(o.Timeout, DefaultTimeout)
	o.AttemptTimeout = orDefault(o.AttemptTimeout, DefaultAttemptTimeout)
	o.FirstByteTimeout = orDefault(o.FirstByteTimeout, DefaultFirstByteTimeout)
	o.IdleTimeout = orDefault(o.IdleTimeout, DefaultIdleTimeout)
	o.Cooldown = orDefault(o.Cooldown, DefaultCooldown)
	if o.Actor == "" {
		o.Actor = "service:llm"
	}
	if o.Service == "" {
		o.Service = "llm"
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Retry != nil {
		c.retry = *o.Retry
	}
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = DefaultMaxAttempts
	}
	c.retry.BaseDelay = orDefault(c.retry.BaseDelay, DefaultBaseDelay)
	c.retry.MaxDelay = orDefault(c.retry.MaxDelay, DefaultMaxDelay)
	c.retry.MaxServerDelay = orDefault(c.retry.MaxServerDelay, DefaultMaxServerDelay)
	c.now = clock.NowFunc(o.Now)
	c.sleep = o.Sleep
	if c.sleep == nil {
		c.sleep = sleepTimer
	}
	c.log = o.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.redactor = o.Redactor
	if c.redactor == nil {
		c.redactor = redact.New(nil)
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// Providers returns the client's providers in order. The slice is a copy.
func (c *Client) Providers() []Provider { return append([]Provider(nil), c.providers...) }

// Close makes later calls on the client and its conversations return
// [ErrClosed]. Calls in flight finish. It is safe to call more than once.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.deadlines.close()
	return nil
}

// Conversation starts a conversation about subject, the pseudonym of the
// person whose data the messages carry (it is what consent is checked for
// and what audit events name). The conversation owns a redaction vault, so
// a value gets the same placeholder in every turn; Close wipes it.
func (c *Client) Conversation(subject string) *Conversation {
	return &Conversation{c: c, subject: subject, vault: redact.NewVault(c.redactor), seed: maphash.MakeSeed(), cache: map[uint64]int32{}}
}

// Conversation is a series of calls about one subject sharing one redaction
// vault. It is safe for concurrent use. It keeps no message history: pass
// the whole conversation in each [Request]. It remembers the redacted form
// (placeholders only) of the texts of its latest request, so a resent
// history is not redacted again; Close forgets them with the vault.
type Conversation struct {
	c       *Client
	subject string

	mu      sync.Mutex // guards the fields below
	vault   *redact.Vault
	closed  bool
	seed    maphash.Seed     // of the cache's keys
	cache   map[uint64]int32 // hash of a text -> index in texts; nil once closed
	texts   []cachedText     // the cached redactions
	scratch []byte           // for hashing; wiped after each use
	digests [][32]byte       // SHA-256 of each redacted message of the call being prepared
	gen     uint32           // counts redacted requests, to tell the cache's used texts
	touched int              // distinct cached texts the current request used
}

// Counts returns how many values of each kind the conversation has
// redacted so far (see redact.Vault.Counts). It never returns the values.
func (cv *Conversation) Counts() map[redact.Kind]int {
	return cv.vault.Counts()
}

// Subject returns the conversation's subject.
func (cv *Conversation) Subject() string { return cv.subject }

// Close wipes the conversation's vault: placeholders already sent can no
// longer be restored. Later calls return [ErrClosed]. It is safe to call more
// than once.
func (cv *Conversation) Close() error {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if !cv.closed {
		cv.closed = true
		cv.vault.Close()
		cv.cache = nil
		cv.texts = nil
		cv.scratch = nil
	}
	return nil
}

// Chat sends req to the first provider that meets the data policy, with
// retries and fallback, and returns the answer with personal data restored.
//
// Before any network I/O it checks consent ([ErrConsent]) and the data
// policy ([*PolicyError]). Every call, whatever its outcome, records one
// audit event.
func (cv *Conversation) Chat(ctx context.Context, req *Request) (*Response, error) {
	st := cv.c.newState(cv.subject, "llm.chat")
	resp, err := cv.chat(ctx, req, st)
	cv.c.record(ctx, st, err)
	return resp, err
}

func (cv *Conversation) chat(ctx context.Context, req *Request, st *callState) (*Response, error) {
	cands, red, err := cv.prepare(ctx, req, st)
	if err != nil {
		return nil, err
	}
	var resp *Response
	err = cv.c.run(ctx, false, cands, st, func(ctx context.Context, p Provider) error {
		r, err := p.Chat(ctx, red)
		if err != nil {
			return err
		}
		if r == nil {
			return fmt.Errorf("%w: %s returned no response", ErrMalformed, p.Name())
		}
		resp = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := *resp
	out.Provider = st.provider
	st.model = out.Model
	st.usage = out.Usage
	st.finish = out.FinishReason
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.closed {
		return nil, ErrClosed
	}
	out.Text = cv.vault.Restore(out.Text)
	out.ToolCalls = cv.restoreToolCalls(out.ToolCalls)
	return &out, nil
}

// prepare checks the request, consent and policy, then redacts. It does no
// network I/O other than the consent check.
func (cv *Conversation) prepare(ctx context.Context, req *Request, st *callState) ([]Provider, *Request, error) {
	c := cv.c
	if c.closed.Load() {
		return nil, nil, ErrClosed
	}
	cv.mu.Lock()
	closed := cv.closed
	cv.mu.Unlock()
	if closed {
		return nil, nil, ErrClosed
	}
	if err := validate(req); err != nil {
		return nil, nil, err
	}
	st.model = req.Model
	if c.opts.Consent == nil {
		st.consent = "unchecked"
	} else {
		ok, err := c.opts.Consent.Allowed(ctx, cv.subject, PurposeLLMProcessing)
		switch {
		case err != nil:
			st.consent = "error"
			st.denied = true
			return nil, nil, fmt.Errorf("%w: check failed: %w", ErrConsent, err)
		case !ok:
			st.consent = "denied"
			st.denied = true
			return nil, nil, ErrConsent
		}
		st.consent = "allowed"
	}
	reqs := c.opts.Requirements.merge(req.Requirements)
	ok, refused := eligible(c.providers, reqs)
	st.excluded = len(refused)
	if len(ok) == 0 {
		st.policy = "refused"
		st.denied = true
		return nil, nil, &PolicyError{Refusals: refused}
	}
	if reqs.empty() {
		st.policy = "none"
	} else {
		st.policy = "met"
	}
	cv.mu.Lock()
	if cv.closed {
		cv.mu.Unlock()
		return nil, nil, ErrClosed
	}
	red := cv.redactRequest(req, st)
	st.promptHash, cv.scratch = promptHash(red, cv.digests, cv.scratch)
	if cap(cv.scratch) > maxScratch {
		cv.scratch = nil
	}
	cv.mu.Unlock()
	return c.order(ok), red, nil
}

func validate(req *Request) error {
	if req == nil {
		return fmt.Errorf("%w: nil request", ErrInvalidRequest)
	}
	if len(req.Messages) == 0 {
		return fmt.Errorf("%w: no messages", ErrInvalidRequest)
	}
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		case RoleTool:
			if m.ToolCallID == "" && m.Name == "" {
				return fmt.Errorf("%w: tool message %d names no tool call", ErrInvalidRequest, i)
			}
		default:
			return fmt.Errorf("%w: message %d has an unknown role", ErrInvalidRequest, i)
		}
	}
	if req.MaxTokens < 0 {
		return fmt.Errorf("%w: negative max tokens", ErrInvalidRequest)
	}
	for i, t := range req.Tools {
		if t.Name == "" {
			return fmt.Errorf("%w: tool %d has no name", ErrInvalidRequest, i)
		}
	}
	return nil
}

// order puts providers that are cooling down after the others, keeping the
// configured order within each group.
func (c *Client) order(ps []Provider) []Provider {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cooldown) == 0 {
		return ps // nobody cools down; ps is read only
	}
	now := c.now()
	var warm, cold []Provider
	for _, p := range ps {
		if until, ok := c.cooldown[p.Name()]; ok && now.Before(until) {
			cold = append(cold, p)
			continue
		}
		warm = append(warm, p)
	}
	return append(warm, cold...)
}

func (c *Client) cool(p Provider) {
	if c.opts.Cooldown < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cooldown[p.Name()] = c.now().Add(c.opts.Cooldown)
}

func (c *Client) warm(p Provider) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cooldown, p.Name())
}

// CoolingDown reports whether the named provider is cooling down after a
// failure.
func (c *Client) CoolingDown(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.cooldown[name]
	return ok && c.now().Before(until)
}
