// Package roundtrip runs the HTTP round trips that every provider of
// privkit's llm packages shares: build the request, send it, turn a failed
// status into the provider's *llm.APIError, and decode the answer, whole or
// streamed. A provider supplies only what is specific to its API in a
// [Codec].
package roundtrip

import (
	"context"
	"io"
	"iter"
	"net/http"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

// Codec is what a provider knows of its API.
type Codec struct {
	// NewRequest builds the HTTP request of one call.
	NewRequest func(ctx context.Context, req *llm.Request, stream bool) (*http.Request, error)
	// APIError turns a response with a failed status into an error.
	APIError func(resp *http.Response, body []byte) *llm.APIError
	// StreamError turns a streamed response that carries an error (a failed
	// status, or an error object where a stream was asked) into an error;
	// nil means StreamError(APIError(resp, body), inStream).
	StreamError func(resp *http.Response, body []byte, inStream bool) error
	// Parse decodes a whole response body.
	Parse func(body []byte) (*llm.Response, error)
	// Decode decodes a stream, yielding each chunk.
	Decode func(r io.Reader, maxEvent int, yield func(llm.Chunk) bool) error
	// RequestIDHeader names the response header that carries the
	// provider's request ID, recorded in errors met inside a stream; ""
	// means none.
	RequestIDHeader string
}

// Chat runs one whole call.
func Chat(ctx context.Context, w *wire.Base[llm.Facts], c *Codec, req *llm.Request) (*llm.Response, error) {
	hreq, err := c.NewRequest(ctx, req, false)
	if err != nil {
		return nil, err
	}
	resp, body, err := w.Call(ctx, hreq)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.APIError(resp, body)
	}
	out, err := c.Parse(body)
	if err != nil {
		return nil, annotate(w, err, "", false)
	}
	return out, nil
}

// Stream runs one streamed call.
func Stream(ctx context.Context, w *wire.Base[llm.Facts], c *Codec, req *llm.Request) iter.Seq2[llm.Chunk, error] {
	return func(yield func(llm.Chunk, error) bool) {
		hreq, err := c.NewRequest(ctx, req, true)
		if err != nil {
			yield(llm.Chunk{}, err)
			return
		}
		streamErr := c.StreamError
		if streamErr == nil {
			streamErr = func(resp *http.Response, body []byte, inStream bool) error {
				return StreamError(c.APIError(resp, body), inStream)
			}
		}
		resp, r, err := w.OpenStream(ctx, hreq, streamErr)
		if err != nil {
			yield(llm.Chunk{}, err)
			return
		}
		defer resp.Close()
		err = c.Decode(r, int(w.MaxBody), func(ch llm.Chunk) bool { return yield(ch, nil) })
		if err != nil {
			requestID := ""
			if c.RequestIDHeader != "" {
				requestID = resp.Header.Get(c.RequestIDHeader)
			}
			yield(llm.Chunk{}, annotate(w, err, requestID, c.RequestIDHeader != ""))
		}
	}
}

// NewAPIError starts the *llm.APIError of a response with a failed status:
// the provider, the status, whether the status is retryable, the request ID
// of header requestIDHeader ("" for none) and the delay of a Retry-After
// header. The provider then fills in what its error body says.
func NewAPIError(w *wire.Base[llm.Facts], resp *http.Response, requestIDHeader string) *llm.APIError {
	e := &llm.APIError{
		Provider:   w.Name,
		StatusCode: resp.StatusCode,
		Retryable:  wire.RetryableStatus(resp.StatusCode),
	}
	if requestIDHeader != "" {
		e.RequestID = resp.Header.Get(requestIDHeader)
	}
	if d, ok := wire.RetryAfter(resp.Header, w.Now()); ok {
		e.RetryAfter = d
	}
	return e
}

// StreamError is the error of a streaming request answered with an error
// body, ae being the API's error made of it: ae itself or, for a JSON body
// with status 200 (inStream), ae marked InStream when the body holds an
// error and nil when it does not.
func StreamError(ae *llm.APIError, inStream bool) error {
	if !inStream {
		return ae
	}
	if ae.Type == "" && ae.Code == "" && ae.Message == "" {
		return nil
	}
	ae.InStream = true
	return ae
}

// annotate names the provider in err: an *llm.APIError gets the provider
// (and, when setID, the request ID of the response's header); any other
// error is wrapped.
func annotate(w *wire.Base[llm.Facts], err error, requestID string, setID bool) error {
	if ae, ok := err.(*llm.APIError); ok {
		ae.Provider = w.Name
		if setID {
			ae.RequestID = requestID
		}
		return ae
	}
	return w.Wrap(err)
}
