// Package roundtrip runs the HTTP round trips that every provider of
// privkit's llm packages shares: build the request, send it, turn a failed
// status into the provider's *llm.APIError, and decode the answer, whole or
// streamed. A provider supplies only what is specific to its API in a
// [Codec].
package roundtrip

import (
	"context"
	"fmt"
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
	// nil leaves the default.
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
		resp, r, err := w.OpenStream(ctx, hreq, c.StreamError)
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
	return fmt.Errorf("llm: %s: %w", w.Name, err)
}
