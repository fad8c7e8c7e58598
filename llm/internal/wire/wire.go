// Package wire is the HTTP plumbing shared by privkit's LLM providers:
// sending a request under the client's first-byte and idle timeouts, reading
// bounded bodies, and parsing the retry hints servers send.
package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors shared by the providers (re-exported by package llm).
var (
	ErrFirstByteTimeout = errors.New("llm: no response within the first-byte timeout")
	ErrStalled          = errors.New("llm: stream stalled")
	ErrTooLarge         = errors.New("llm: response too large")
	ErrMalformed        = errors.New("llm: malformed provider response")
	ErrTruncated        = errors.New("llm: stream ended early")
)

// DefaultMaxBody caps a non-streamed response body.
const DefaultMaxBody = 8 << 20

// DefaultMaxStream caps the total size of a streamed response.
const DefaultMaxStream = 64 << 20

// Timeouts are the per-attempt timers the client asks providers to enforce.
type Timeouts struct {
	// FirstByte bounds the time from sending a streaming request to the
	// first byte of its body; 0 means none.
	FirstByte time.Duration
	// Idle bounds the gap between bytes of a streamed body; 0 means none.
	Idle time.Duration
}

type timeoutsKey struct{}

// WithTimeouts returns ctx carrying t for the providers.
func WithTimeouts(ctx context.Context, t Timeouts) context.Context {
	return context.WithValue(ctx, timeoutsKey{}, t)
}

// TimeoutsFrom returns the timeouts in ctx, or none.
func TimeoutsFrom(ctx context.Context) Timeouts {
	t, _ := ctx.Value(timeoutsKey{}).(Timeouts)
	return t
}

// Response is an HTTP response whose body is guarded by the first-byte and
// idle timers, if any. Close it.
type Response struct {
	*http.Response
	body *guardedBody // nil without timers
}

// Close releases the connection and stops the timers.
func (r *Response) Close() error {
	if r.body == nil {
		return r.Body.Close()
	}
	return r.body.Close()
}

// Send sends req with ctx. For a stream it arms the first-byte timer at once
// and the idle timer after each read, canceling the request with
// ErrFirstByteTimeout or ErrStalled when they fire; errors from the body
// then report those causes.
func Send(ctx context.Context, hc *http.Client, req *http.Request, stream bool) (*Response, error) {
	resp, g, err := send(ctx, hc, req, stream)
	if err != nil {
		return nil, err
	}
	return &Response{Response: resp, body: g}, nil
}

// send is Send returning the parts of its Response: the HTTP response and
// the guarded body, nil without timers.
func send(ctx context.Context, hc *http.Client, req *http.Request, stream bool) (*http.Response, *guardedBody, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	var t Timeouts
	if stream {
		t = TimeoutsFrom(ctx)
	}
	if t.FirstByte <= 0 && t.Idle <= 0 {
		// No timers: the caller's context alone bounds the request.
		if req.Context() != ctx {
			req = req.WithContext(ctx)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		return resp, nil, nil // no timers: the body as it is
	}
	actx, cancel := context.WithCancelCause(ctx)
	g := &guardedBody{ctx: actx, cancel: cancel, idle: t.Idle}
	if t.FirstByte > 0 {
		g.timer = time.AfterFunc(t.FirstByte, func() { cancel(ErrFirstByteTimeout) })
	}
	resp, err := hc.Do(req.WithContext(actx))
	if err != nil {
		g.stop()
		if c := context.Cause(actx); c != nil && (errors.Is(c, ErrFirstByteTimeout) || errors.Is(c, ErrStalled)) {
			err = c
		}
		cancel(nil)
		return nil, nil, err
	}
	g.rc = resp.Body
	resp.Body = g
	return resp, g, nil
}

// guardedBody resets the idle timer on every read and maps reads that fail
// because a timer fired to the timer's error.
type guardedBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration

	mu     sync.Mutex
	timer  *time.Timer
	got    bool
	closed bool
}

func (g *guardedBody) Read(p []byte) (int, error) {
	// The idle timer runs only while Read waits for the server, so a slow
	// consumer is never mistaken for a stalled stream.
	g.mu.Lock()
	if g.got && g.idle > 0 && !g.closed {
		if g.timer == nil {
			g.timer = time.AfterFunc(g.idle, func() { g.cancel(ErrStalled) })
		} else {
			g.timer.Reset(g.idle)
		}
	}
	g.mu.Unlock()
	n, err := g.rc.Read(p)
	g.mu.Lock()
	if n > 0 && !g.got {
		g.got = true
		if g.timer != nil {
			g.timer.Stop() // the first-byte timer
			g.timer = nil
		}
	} else if g.got && g.timer != nil {
		g.timer.Stop()
	}
	g.mu.Unlock()
	if err != nil && err != io.EOF {
		if c := context.Cause(g.ctx); c != nil && (errors.Is(c, ErrFirstByteTimeout) || errors.Is(c, ErrStalled)) {
			err = c
		}
	}
	return n, err
}

func (g *guardedBody) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.timer != nil {
		g.timer.Stop()
	}
}

func (g *guardedBody) Close() error {
	g.stop()
	var err error
	if g.rc != nil {
		err = g.rc.Close()
	}
	g.cancel(nil)
	return err
}

// NewPost returns the POST request of body to u that
// http.NewRequestWithContext(ctx, "POST", u.String(), bytes.NewReader(body))
// returns, with header's entries, without printing and parsing the URL. It
// differs in one field: Host is empty, so the request goes to u.Host (as it
// would anyway) and http.Client needs no copy of the URL for its cookie jar.
// The request holds a copy of u and a new header map whose value slices are
// header's: pass full slices (len == cap), so that an append copies them.
func NewPost(ctx context.Context, u *url.URL, header http.Header, body []byte) *http.Request {
	h := make(http.Header, len(header))
	for k, v := range header {
		h[k] = v
	}
	uc := *u
	r := &http.Request{
		Method:        http.MethodPost,
		URL:           &uc,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(len(body)),
	}
	if len(body) == 0 {
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	} else {
		// A *bytes.Reader in a NopCloser, as NewRequest makes: the
		// transport then knows the body is in memory and writes it with
		// the headers in one go.
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return r.WithContext(ctx)
}

// ReadBody reads at most max bytes of r (0 means DefaultMaxBody) and fails
// with ErrTooLarge beyond that.
func ReadBody(r io.Reader, max int64) ([]byte, error) {
	return ReadBodySized(r, max, -1)
}

// ReadBodySized is ReadBody with a size hint (a response's ContentLength;
// negative means unknown) to allocate the buffer once.
func ReadBodySized(r io.Reader, max, hint int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	size := int64(512)
	if hint >= 0 && hint <= max {
		size = hint + 1 // room to see the end without growing
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		// Read at most max+1 bytes in all: one more than allowed tells a
		// body that is too large.
		room := b[len(b):cap(b)]
		if left := max + 1 - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Read(room)
		b = b[:len(b)+n]
		if int64(len(b)) > max {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// LimitStream wraps r so that reading more than max bytes (0 means
// DefaultMaxStream) fails with ErrTooLarge.
func LimitStream(r io.Reader, max int64) io.Reader {
	if max <= 0 {
		max = DefaultMaxStream
	}
	return &limited{r: r, left: max}
}

type limited struct {
	r    io.Reader
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// At the limit: only the end of the stream is acceptable.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n == 0 && err != nil {
			return 0, err
		}
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// RetryAfter returns the wait a response asks for: retry-after-ms
// (milliseconds), then Retry-After as seconds or as an HTTP date (relative to
// now). ok is false when there is no usable hint.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || s > 1e9 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// ShouldRetry returns the value of an x-should-retry header: set is false
// when the header is absent or not a boolean.
func ShouldRetry(h http.Header) (retry, set bool) {
	switch strings.ToLower(strings.TrimSpace(h.Get("X-Should-Retry"))) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// IsJSON reports whether a response declares a JSON body.
func IsJSON(h http.Header) bool {
	ct := strings.ToLower(strings.TrimSpace(h.Get("Content-Type")))
	return strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/problem+json")
}

// RetryableStatus reports whether an HTTP status is worth retrying by
// default: 408, 409, 429 and every 5xx (including Anthropic's 529).
func RetryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusConflict ||
		code == http.StatusTooManyRequests || code >= 500
}

// ParseDuration parses a protobuf Duration in its JSON form ("51s",
// "34.4s", "0.5s").
func ParseDuration(s string) (time.Duration, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "s")
	if !ok || num == "" {
		return 0, fmt.Errorf("wire: bad duration %q", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("wire: bad duration %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Truncate shortens a provider's message for an error string.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
