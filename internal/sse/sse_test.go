package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t testing.TB, r *Reader) ([]Event, error) {
	t.Helper()
	var evs []Event
	for i := 0; i < 10000; i++ {
		ev, err := r.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("reader did not end")
	return nil, nil
}

func TestReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   []Event
		reason string
	}{
		{"lf", "data: a\n\ndata: b\n\n", []Event{{Data: "a", Retry: -1}, {Data: "b", Retry: -1}}, "plain LF framing"},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []Event{{Data: "a", Retry: -1}, {Data: "b", Retry: -1}}, "Gemini frames with CRLF"},
		{"cr", "data: a\r\rdata: b\r\r", []Event{{Data: "a", Retry: -1}, {Data: "b", Retry: -1}}, "a lone CR ends a line too"},
		{"comment", ": OPENROUTER PROCESSING\n\ndata: x\n\n", []Event{{Data: "x", Retry: -1}}, "comments are skipped and dispatch nothing"},
		{"multiline", "data: a\ndata: b\ndata:\n\n", []Event{{Data: "a\nb\n", Retry: -1}}, "data lines join with LF"},
		{"event type", "event: ping\ndata: {}\n\n", []Event{{Type: "ping", Data: "{}", Retry: -1}}, "event names the type"},
		{"id persists", "id: 7\ndata: a\n\ndata: b\n\n", []Event{{Data: "a", ID: "7", Retry: -1}, {Data: "b", ID: "7", Retry: -1}}, "the last event ID persists"},
		{"id with nul ignored", "id: a\x00b\ndata: a\n\n", []Event{{Data: "a", Retry: -1}}, "an ID with NUL is ignored"},
		{"retry", "retry: 1500\ndata: a\n\nretry: 1x\ndata: b\n\n", []Event{{Data: "a", Retry: 1500}, {Data: "b", Retry: -1}}, "retry takes digits only"},
		{"no final newline", "data: a\n\ndata: b", []Event{{Data: "a", Retry: -1}, {Data: "b", Retry: -1}}, "a pending event at EOF is delivered"},
		{"no space", "data:a\n\n", []Event{{Data: "a", Retry: -1}}, "the space after the colon is optional"},
		{"two spaces", "data:  a\n\n", []Event{{Data: " a", Retry: -1}}, "only one leading space is removed"},
		{"field without colon", "data\n\n", []Event{{Data: "", Retry: -1}}, "a bare field name has an empty value"},
		{"event without data", "event: x\n\ndata: y\n\n", []Event{{Data: "y", Retry: -1}}, "an event with no data is not dispatched and its type is reset"},
		{"unknown field", "foo: bar\ndata: y\n\n", []Event{{Data: "y", Retry: -1}}, "unknown fields are ignored"},
		{"bom", "\xef\xbb\xbfdata: y\n\n", []Event{{Data: "y", Retry: -1}}, "a leading BOM is skipped"},
		{"empty", "", nil, "an empty stream has no events"},
		{"blank lines", "\n\n\r\n", nil, "blank lines alone dispatch nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readAll(t, NewReader(strings.NewReader(tt.in), 0))
			require.ErrorIs(t, err, io.EOF, tt.reason)
			assert.Equal(t, tt.want, got, tt.reason)
			// The same stream delivered one byte at a time parses the same.
			got, err = readAll(t, NewReader(iotest.OneByteReader(strings.NewReader(tt.in)), 0))
			require.ErrorIs(t, err, io.EOF, tt.reason)
			assert.Equal(t, tt.want, got, "one byte at a time: "+tt.reason)
		})
	}
}

func TestReaderTooLarge(t *testing.T) {
	t.Parallel()
	_, err := readAll(t, NewReader(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 64))
	assert.ErrorIs(t, err, ErrTooLarge, "a line longer than the limit is refused")
	_, err = readAll(t, NewReader(strings.NewReader(strings.Repeat("data: xxxxxxxxxx\n", 10)+"\n"), 64))
	assert.ErrorIs(t, err, ErrTooLarge, "an event assembled from many lines is bounded too")
	r := NewReader(strings.NewReader(strings.Repeat("x", 100)), 64)
	_, err1 := r.Next()
	_, err2 := r.Next()
	assert.ErrorIs(t, err2, err1, "errors are sticky")
}

func TestReaderReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom)), 0)
	ev, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "a", ev.Data)
	_, err = r.Next()
	assert.ErrorIs(t, err, boom, "a read error ends the stream and is not mistaken for EOF")
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "event: x\r\ndata: {}\r\n\r\n", ": c\rdata:\r\r", "id: 1\nretry: 5\ndata: a\ndata: b", "\xef\xbb\xbf"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(strings.NewReader(string(in)), 256)
		n := 0
		for {
			ev, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			n++
			if len(ev.Data) > 256 {
				t.Fatalf("event of %d bytes exceeds the limit", len(ev.Data))
			}
			if strings.ContainsAny(ev.Type, "\r\n") || strings.ContainsAny(ev.Data, "\r") {
				t.Fatalf("line endings leaked into the event: %+v", ev)
			}
			if n > len(in) {
				t.Fatal("more events than input bytes")
			}
		}
	})
}
