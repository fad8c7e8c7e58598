package wire

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewBase(t *testing.T) {
	t.Parallel()
	official := func() string { return "official" }
	other := func(name string) string { return "other:" + name }
	explicit := "explicit"
	hc := &http.Client{}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		cfg     Config[string]
		wantURL string
		wantNm  string
		wantMdl string
		facts   string
	}{
		{"all defaults: official facts", Config[string]{DefaultBaseURL: "https://api/v1", DefaultName: "p", DefaultModel: "m", OfficialFacts: official, OtherFacts: other},
			"https://api/v1", "p", "m", "official"},
		{"trailing slashes trimmed, still official", Config[string]{BaseURL: "https://api/v1//", DefaultBaseURL: "https://api/v1", DefaultName: "p", OfficialFacts: official, OtherFacts: other},
			"https://api/v1", "p", "", "official"},
		{"other server: other facts with the configured name", Config[string]{BaseURL: "http://local", DefaultBaseURL: "https://api/v1", Name: "loc", DefaultName: "p", Model: "x", DefaultModel: "m", OfficialFacts: official, OtherFacts: other},
			"http://local", "loc", "x", "other:loc"},
		{"explicit facts win", Config[string]{BaseURL: "http://local", DefaultBaseURL: "https://api/v1", Facts: &explicit, OfficialFacts: official, OtherFacts: other},
			"http://local", "", "", "explicit"},
		{"no OtherFacts: official facts for any server", Config[string]{BaseURL: "http://local", DefaultBaseURL: "https://api/v1", OfficialFacts: official},
			"http://local", "", "", "official"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := NewBase(tt.cfg)
			assert.Equal(t, tt.wantURL, b.BaseURL)
			assert.Equal(t, tt.wantNm, b.Name)
			assert.Equal(t, tt.wantMdl, b.Model)
			assert.Equal(t, tt.facts, b.Facts)
			assert.Same(t, http.DefaultClient, b.HC, "nil client means http.DefaultClient")
			assert.NotNil(t, b.Now)
		})
	}
	b := NewBase(Config[string]{Label: "x.Provider", Key: "sk-secret", Name: "n", BaseURL: "http://h", HTTPClient: hc, Now: func() time.Time { return fixed }})
	assert.Same(t, hc, b.HC)
	assert.Equal(t, fixed, b.Now())
	assert.Equal(t, "x.Provider{n http://h}", b.String())
	assert.False(t, strings.Contains(b.String(), "sk-secret"), "String never prints the key")
}

var errAPI = errors.New("api error")

func TestBaseCallAndOpenStream(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: hello\n\n")
		case "/big":
			_, _ = io.WriteString(w, strings.Repeat("x", 64))
		case "/fail":
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":"slow down"}`)
		case "/json-error":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"error":"boom"}`)
		case "/json-plain":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(srv.Close)
	b := NewBase(Config[string]{Name: "fake", BaseURL: srv.URL, MaxResponseBytes: 32, MaxStreamBytes: 8})
	req := func(path string) *http.Request {
		r, err := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		require.NoError(t, err)
		return r
	}
	ctx := context.Background()
	var gotBody string
	var gotInStream bool
	apiErr := func(resp *http.Response, body []byte, inStream bool) error {
		gotBody, gotInStream = string(body), inStream
		if inStream && !strings.Contains(gotBody, "error") {
			return nil
		}
		return errAPI
	}

	t.Run("Call returns status and body", func(t *testing.T) {
		resp, body, err := b.Call(ctx, req("/fail"))
		require.NoError(t, err)
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.Equal(t, `{"error":"slow down"}`, string(body))
	})
	t.Run("Call caps the body", func(t *testing.T) {
		_, _, err := b.Call(ctx, req("/big"))
		require.ErrorIs(t, err, ErrTooLarge)
		assert.True(t, strings.HasPrefix(err.Error(), "llm: fake: "), err.Error())
	})
	t.Run("OpenStream limits the stream", func(t *testing.T) {
		resp, r, err := b.OpenStream(ctx, req("/ok"), apiErr)
		require.NoError(t, err)
		defer resp.Close()
		_, err = io.ReadAll(r)
		require.ErrorIs(t, err, ErrTooLarge, "14 bytes over a cap of 8")
	})
	t.Run("OpenStream status error", func(t *testing.T) {
		_, _, err := b.OpenStream(ctx, req("/fail"), apiErr)
		require.ErrorIs(t, err, errAPI)
		assert.False(t, gotInStream)
		assert.Equal(t, `{"error":"slow down"}`, gotBody)
	})
	t.Run("OpenStream JSON error with status 200", func(t *testing.T) {
		_, _, err := b.OpenStream(ctx, req("/json-error"), apiErr)
		require.ErrorIs(t, err, errAPI)
		assert.True(t, gotInStream)
	})
	t.Run("OpenStream JSON without an error is malformed", func(t *testing.T) {
		_, _, err := b.OpenStream(ctx, req("/json-plain"), apiErr)
		require.ErrorIs(t, err, ErrMalformed)
		assert.Equal(t, "llm: fake: llm: malformed provider response: JSON body instead of an event stream", err.Error())
	})
	t.Run("transport error wrapped", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := b.OpenStream(cctx, req("/ok"), apiErr)
		require.ErrorIs(t, err, context.Canceled)
		_, _, err = b.Call(cctx, req("/ok"))
		require.ErrorIs(t, err, context.Canceled)
		assert.True(t, strings.HasPrefix(err.Error(), "llm: fake: "), err.Error())
	})
}
