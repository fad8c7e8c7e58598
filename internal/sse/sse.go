// Package sse reads Server-Sent Events streams (the text/event-stream format
// of the WHATWG HTML standard, §9.2) the way LLM providers actually send
// them.
//
// The reader is tolerant: lines may end in LF, CRLF or a lone CR; comment
// lines (": keep-alive") are skipped; an event's data may span several
// "data:" lines; "event:", "id:" and "retry:" fields are parsed; unknown
// fields are ignored; and an event still pending when the stream ends without
// its final blank line is delivered rather than dropped. It is strict about
// size: a line or an event larger than the limit ends the stream with
// [ErrTooLarge] instead of growing memory without bound.
//
// A [Reader] does no I/O of its own beyond reading the io.Reader it wraps and
// starts no goroutine; cancel a stuck read by closing the underlying body.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// ErrTooLarge reports a line or event larger than the reader's limit.
var ErrTooLarge = errors.New("sse: event too large")

// DefaultMaxEvent is the event size limit used when NewReader is given 0.
const DefaultMaxEvent = 1 << 20

// Event is one dispatched server-sent event.
type Event struct {
	// Type is the value of the last "event:" field, or "" when the event
	// had none (the standard's "message").
	Type string
	// Data is the event's data: its "data:" lines joined by "\n".
	Data string
	// ID is the last event ID seen on the stream so far (it persists across
	// events, as the standard says).
	ID string
	// Retry is the reconnection time in milliseconds from the last valid
	// "retry:" field of this event, or -1 when the event had none.
	Retry int
}

// Reader reads events from a stream. It is not safe for concurrent use.
type Reader struct {
	sc      *bufio.Scanner
	max     int
	lastID  string
	started bool
	err     error
}

// NewReader returns a Reader over r that refuses lines and events larger than
// maxEvent bytes (0 means [DefaultMaxEvent]).
func NewReader(r io.Reader, maxEvent int) *Reader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	sc := bufio.NewScanner(r)
	initial := 4096
	if initial > maxEvent {
		initial = maxEvent
	}
	sc.Buffer(make([]byte, 0, initial), maxEvent+2) // room for the line ending
	sc.Split(splitLines)
	return &Reader{sc: sc, max: maxEvent}
}

// splitLines is a bufio.SplitFunc for lines ended by LF, CRLF or CR. The
// returned token excludes the line ending; a final line without an ending is
// returned at EOF.
func splitLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		// CR: a following LF belongs to the same line ending.
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if atEOF {
			return i + 1, data[:i], nil
		}
		return 0, nil, nil // need one more byte to tell CR from CRLF
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// Next returns the next event. At the end of the stream it returns io.EOF
// (after delivering any pending event); a read error from the underlying
// reader is returned as is, and an oversized line or event as [ErrTooLarge].
// After an error every later call returns the same error.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	var (
		data    []byte
		hasData bool
		typ     string
		retry   = -1
	)
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) == 0 {
			if !hasData {
				// The standard: an event with no data is not dispatched.
				typ, retry = "", -1
				continue
			}
			return Event{Type: typ, Data: string(data), ID: r.lastID, Retry: retry}, nil
		}
		if line[0] == ':' {
			continue // comment
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
			if len(data) > r.max {
				r.err = ErrTooLarge
				return Event{}, r.err
			}
		case "event":
			typ = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.lastID = string(value)
			}
		case "retry":
			if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 && isDigits(value) {
				retry = n
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = ErrTooLarge
		}
		r.err = err
		return Event{}, err
	}
	r.err = io.EOF
	if hasData {
		// The stream ended without the blank line that closes the event:
		// deliver it anyway (a missing final newline is common).
		return Event{Type: typ, Data: string(data), ID: r.lastID, Retry: retry}, nil
	}
	return Event{}, io.EOF
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
