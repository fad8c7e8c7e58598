package openai

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/inferlabs/privkit/llm"
)

// encodeRequest appends the chat completion request body by hand: it is on
// every call's path, and encoding/json's reflection costs as much as the
// loopback round trip itself. encodeRequestStd is its reference.
func encodeRequest(req *llm.Request, model string, stream, legacyMaxTokens bool) ([]byte, error) {
	n := 256 + len(req.Model) + len(model)
	for _, m := range req.Messages {
		n += len(m.Content) + len(m.ToolCallID) + 48
		for _, tc := range m.ToolCalls {
			n += len(tc.ID) + len(tc.Name) + 2*len(tc.Arguments) + 64
		}
	}
	for _, t := range req.Tools {
		n += len(t.Name) + len(t.Description) + len(t.Parameters) + 64
	}
	b := make([]byte, 0, n)
	b = append(b, `{"model":`...)
	if req.Model != "" {
		b = appendString(b, req.Model)
	} else {
		b = appendString(b, model)
	}
	b = append(b, `,"messages":[`...)
	for i, m := range req.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = appendString(b, string(m.Role))
		b = append(b, `,"content":`...)
		calls := m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0
		if calls && m.Content == "" {
			b = append(b, "null"...)
		} else {
			b = appendString(b, m.Content)
		}
		if calls {
			b = append(b, `,"tool_calls":[`...)
			for j, tc := range m.ToolCalls {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '{')
				if tc.ID != "" {
					b = append(b, `"id":`...)
					b = appendString(b, tc.ID)
					b = append(b, ',')
				}
				b = append(b, `"type":"function","function":{`...)
				if tc.Name != "" {
					b = append(b, `"name":`...)
					b = appendString(b, tc.Name)
					b = append(b, ',')
				}
				args := string(tc.Arguments)
				if args == "" {
					args = "{}"
				}
				b = append(b, `"arguments":`...)
				b = appendString(b, args)
				b = append(b, "}}"...)
			}
			b = append(b, ']')
		}
		if m.ToolCallID != "" {
			b = append(b, `,"tool_call_id":`...)
			b = appendString(b, m.ToolCallID)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if req.MaxTokens != 0 {
		if legacyMaxTokens {
			b = append(b, `,"max_tokens":`...)
		} else {
			b = append(b, `,"max_completion_tokens":`...)
		}
		b = strconv.AppendInt(b, int64(req.MaxTokens), 10)
	}
	if req.Temperature != nil {
		t := *req.Temperature
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, errors.New("temperature is not a finite number")
		}
		b = append(b, `,"temperature":`...)
		b = strconv.AppendFloat(b, t, 'g', -1, 64)
	}
	if len(req.StopSequences) > 0 {
		b = append(b, `,"stop":[`...)
		for i, s := range req.StopSequences {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if len(req.Tools) > 0 {
		b = append(b, `,"tools":[`...)
		for i, t := range req.Tools {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"function","function":{"name":`...)
			b = appendString(b, t.Name)
			if t.Description != "" {
				b = append(b, `,"description":`...)
				b = appendString(b, t.Description)
			}
			if len(t.Parameters) > 0 {
				if !json.Valid(t.Parameters) {
					return nil, errors.New("tool parameters are not JSON")
				}
				b = append(b, `,"parameters":`...)
				b = append(b, t.Parameters...)
			}
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	b = append(b, `,"store":false`...)
	if stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// plainPrefix returns the index of the first byte at or after i that ends a
// run of jsonPlain bytes, or an index before it: it steps eight bytes at a
// time and stops at the first word that holds a byte that is not plain
// (the caller finishes byte by byte).
func plainPrefix(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		t := s[i : i+8] // one bounds check; the loads below merge into one
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		// A byte is plain when it is below 0x80, not below 0x20, and
		// neither '"' nor '\\'. Each term has its high bit set in a byte
		// that fails one test (a zero byte of w^x is a byte equal to x).
		q := w ^ (ones * '"')
		bs := w ^ (ones * '\\')
		if (w|(w-ones*0x20)|((q-ones)&^q)|((bs-ones)&^bs))&highs != 0 {
			break
		}
	}
	return i
}

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, U+2028 and U+2029 escaped, invalid UTF-8 replaced by
// U+FFFD (as encoding/json does).
// jsonPlain marks the bytes a JSON string holds as they are: printable
// ASCII other than '"' and '\\'.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		i = plainPrefix(s, i)
		for i < len(s) && jsonPlain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
