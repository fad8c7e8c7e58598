package wire

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
		ok      bool
		reason  string
	}{
		{"none", nil, 0, false, "no hint"},
		{"ms", map[string]string{"Retry-After-Ms": "250"}, 250 * time.Millisecond, true, "milliseconds"},
		{"ms fraction", map[string]string{"Retry-After-Ms": "1.5"}, 1500 * time.Microsecond, true, "fractional milliseconds"},
		{"ms wins", map[string]string{"Retry-After-Ms": "100", "Retry-After": "9"}, 100 * time.Millisecond, true, "the finer hint wins"},
		{"bad ms falls back", map[string]string{"Retry-After-Ms": "soon", "Retry-After": "2"}, 2 * time.Second, true, "a bad ms value is ignored"},
		{"seconds", map[string]string{"Retry-After": "30"}, 30 * time.Second, true, "seconds"},
		{"date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true, "an HTTP date"},
		{"past date", map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0, true, "a date in the past means now"},
		{"negative", map[string]string{"Retry-After": "-5"}, 0, false, "negative is nonsense"},
		{"garbage", map[string]string{"Retry-After": "tomorrow"}, 0, false, "not a number or date"},
		{"huge", map[string]string{"Retry-After": "1e300"}, 0, false, "no overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			d, ok := RetryAfter(h, now)
			assert.Equal(t, tt.ok, ok, tt.reason)
			assert.Equal(t, tt.want, d, tt.reason)
		})
	}
}

func TestShouldRetryAndStatus(t *testing.T) {
	t.Parallel()
	for v, want := range map[string][2]bool{"true": {true, true}, "False": {false, true}, "": {false, false}, "maybe": {false, false}} {
		h := http.Header{}
		if v != "" {
			h.Set("X-Should-Retry", v)
		}
		r, set := ShouldRetry(h)
		assert.Equal(t, want, [2]bool{r, set}, v)
	}
	for code, want := range map[int]bool{400: false, 401: false, 404: false, 408: true, 409: true, 429: true, 500: true, 503: true, 529: true} {
		assert.Equal(t, want, RetryableStatus(code), code)
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"51s": 51 * time.Second, "34.4s": 34400 * time.Millisecond, "45.837906927s": 45837906927, "0s": 0} {
		d, err := ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d, in)
	}
	for _, bad := range []string{"", "s", "5", "5m", "-1s", "1e20s", "abc s"} {
		_, err := ParseDuration(bad)
		assert.Error(t, err, bad)
	}
}

func TestReadBodyAndLimit(t *testing.T) {
	t.Parallel()
	b, err := ReadBody(strings.NewReader("12345"), 5)
	require.NoError(t, err)
	assert.Equal(t, "12345", string(b), "exactly the limit is fine")
	_, err = ReadBody(strings.NewReader("123456"), 5)
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = io.ReadAll(LimitStream(strings.NewReader("123456"), 5))
	assert.ErrorIs(t, err, ErrTooLarge)
	b, err = io.ReadAll(LimitStream(strings.NewReader("12345"), 5))
	require.NoError(t, err, "reading up to the limit then EOF")
	assert.Equal(t, "12345", string(b))
	assert.Equal(t, "ab…", Truncate("abc", 2))
	assert.Equal(t, "é…", Truncate("éé", 3), "never cuts a character in half")
}

func TestSendTimers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/stall":
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "data: a\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/slow":
			w.WriteHeader(200)
			for i := 0; i < 3; i++ {
				_, _ = io.WriteString(w, "x")
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	tight := WithTimeouts(context.Background(), Timeouts{FirstByte: 50 * time.Millisecond, Idle: 100 * time.Millisecond})
	// Generous timers for the steady stream, so a loaded machine does not
	// make 20 ms pauses look like stalls.
	loose := WithTimeouts(context.Background(), Timeouts{FirstByte: 5 * time.Second, Idle: 5 * time.Second})
	do := func(path string, stream bool) ([]byte, error) {
		ctx := tight
		if path == "/slow" {
			ctx = loose
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		resp, err := Send(ctx, nil, req, stream)
		if err != nil {
			return nil, err
		}
		defer resp.Close()
		return io.ReadAll(resp.Body)
	}
	_, err := do("/hang", true)
	assert.ErrorIs(t, err, ErrFirstByteTimeout, "no headers within the first-byte timeout")
	_, err = do("/stall", true)
	assert.ErrorIs(t, err, ErrStalled, "silence after the first byte")
	b, err := do("/slow", true)
	require.NoError(t, err, "a slow but steady stream is not stalled")
	assert.Equal(t, "xxx", string(b))
	b, err = do("/slow", false)
	require.NoError(t, err, "timers apply to streams only")
	assert.Equal(t, "xxx", string(b))
}

func TestReadBodySized(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		max    int64
		hint   int64
		tooBig bool
		reason string
	}{
		{"exact hint", "hello", 10, 5, false, "the usual Content-Length"},
		{"short hint", strings.Repeat("x", 2000), 4096, 3, false, "a wrong hint only costs growing"},
		{"long hint", "hi", 10, 9, false, "a hint beyond the body"},
		{"no hint", strings.Repeat("y", 1500), 4096, -1, false, "unknown length"},
		{"at max", "12345", 5, 5, false, "exactly the limit"},
		{"over max", "123456", 5, 6, true, "a hint beyond max is ignored, the body refused"},
		{"over max lying hint", "123456", 5, 2, true, "the limit holds whatever the hint"},
		{"empty", "", 5, 0, false, "an empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := ReadBodySized(iotest.HalfReader(strings.NewReader(tt.body)), tt.max, tt.hint)
			if tt.tooBig {
				assert.ErrorIs(t, err, ErrTooLarge, tt.reason)
				return
			}
			require.NoError(t, err, tt.reason)
			assert.Equal(t, tt.body, string(b), tt.reason)
		})
	}
}

// TestNewPostAsNewRequest checks that NewPost's request goes on the wire as
// the one http.NewRequestWithContext builds, and can be replayed.
func TestNewPostAsNewRequest(t *testing.T) {
	t.Parallel()
	u, err := url.Parse("https://api.example.com:8443/v1/chat/completions?a=b%20c")
	require.NoError(t, err)
	header := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer k"}}
	for _, body := range []string{`{"model":"m"}`, ""} {
		ctx := context.WithValue(context.Background(), timeoutsKey{}, Timeouts{Idle: time.Second})
		got := NewPost(ctx, u, header, []byte(body))
		want, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(body))
		require.NoError(t, err)
		want.Header = header.Clone()

		gotDump, err := httputil.DumpRequestOut(got, true)
		require.NoError(t, err)
		wantDump, err := httputil.DumpRequestOut(want, true)
		require.NoError(t, err)
		assert.Equal(t, string(wantDump), string(gotDump), "the same bytes on the wire")
		assert.Equal(t, ctx, got.Context(), "the caller's context")
		assert.Equal(t, int64(len(body)), got.ContentLength, "a known length")
		assert.NotSame(t, u, got.URL, "a copy of the URL, which the client may change")
		rc, err := got.GetBody()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		assert.Equal(t, body, string(b), "GetBody replays the body for a retry on a new connection")
		got.Header.Set("X-Added", "1")
		assert.Empty(t, header.Get("X-Added"), "the request has its own header map")
	}
}
