package llm

import (
	"fmt"
	"net/http"
	"time"
)

// APIError is a failure a provider reported: an HTTP error status, or an
// error event inside a stream that began with HTTP 200.
//
// Error() carries the provider, status, type and code but not the
// provider's message, which may echo request content; read Message when you
// need it and treat it as such.
type APIError struct {
	// Provider is the provider's name.
	Provider string
	// StatusCode is the HTTP status; 200 for an error inside a stream.
	StatusCode int
	// Type and Code are the provider's error type and code, such as
	// "insufficient_quota" or "overloaded_error".
	Type, Code string
	// Message is the provider's message.
	Message string
	// RequestID is the provider's request ID, for support tickets.
	RequestID string
	// RetryAfter is the wait the provider asked for (retry-after-ms,
	// Retry-After, or Gemini's RetryInfo.retryDelay); 0 when it asked none.
	RetryAfter time.Duration
	// Retryable reports whether trying again may succeed: set for 408, 409,
	// 429, 5xx and overload errors, cleared for quota exhaustion
	// (insufficient_quota, enforced_spend_limit_reached, per-day quotas), and
	// overridden by an x-should-retry header.
	Retryable bool
	// InStream reports an error that arrived inside a stream after HTTP 200.
	InStream bool
}

// Error describes the failure without the provider's message.
func (e *APIError) Error() string {
	s := fmt.Sprintf("llm: %s: ", e.Provider)
	if e.InStream {
		s += "error in stream"
	} else {
		s += fmt.Sprintf("status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Type != "" {
		s += " type=" + e.Type
	}
	if e.Code != "" && e.Code != e.Type {
		s += " code=" + e.Code
	}
	if e.RequestID != "" {
		s += " request_id=" + e.RequestID
	}
	return s
}
