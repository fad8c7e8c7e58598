package roundtrip

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

func TestNewAPIError(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := wire.NewBase(wire.Config[llm.Facts]{Name: "p", BaseURL: "http://h", Now: func() time.Time { return now }})
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{
		"Request-Id":  {"req-1"},
		"Retry-After": {"7"},
	}}
	e := NewAPIError(&w, resp, "Request-Id")
	assert.Equal(t, &llm.APIError{Provider: "p", StatusCode: 429, RequestID: "req-1", RetryAfter: 7 * time.Second, Retryable: true}, e)

	e = NewAPIError(&w, &http.Response{StatusCode: http.StatusBadRequest, Header: resp.Header}, "")
	assert.Empty(t, e.RequestID, "no request ID header named, none read")
	assert.False(t, e.Retryable, "400 is not retryable")
	assert.Equal(t, 7*time.Second, e.RetryAfter, "Retry-After whatever the status")
}

func TestStreamError(t *testing.T) {
	t.Parallel()
	ae := &llm.APIError{Provider: "p", StatusCode: 500}
	assert.Same(t, ae, StreamError(ae, false), "a failed status: the API's error as is")
	assert.False(t, ae.InStream)

	err := StreamError(&llm.APIError{StatusCode: 200}, true)
	assert.True(t, err == nil, "a JSON body without an error: an untyped nil, got %#v", err)

	ae = &llm.APIError{StatusCode: 200, Type: "overloaded_error"}
	err = StreamError(ae, true)
	require.Same(t, ae, err)
	assert.True(t, ae.InStream, "an error object where a stream was asked")
}
