package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// ErrInvalidJSON is returned by [Vault.RestoreJSON] for input that is not
// valid JSON.
var ErrInvalidJSON = errors.New("redact: invalid JSON")

// RestoreJSON restores placeholders inside the strings of a JSON document,
// such as the arguments of a tool call the model asked for: in string values
// and in object keys. Each string that holds a placeholder is decoded
// (so "\u005bEMAIL_1]" counts), restored and encoded again, with quotes,
// backslashes and control characters escaped; everything else is copied
// byte for byte. Invalid JSON returns an error wrapping [ErrInvalidJSON]
// (the message never quotes the input).
func (v *Vault) RestoreJSON(data []byte) ([]byte, error) {
	if !json.Valid(data) {
		return nil, ErrInvalidJSON
	}
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); {
		c := data[i]
		if c != '"' {
			out = append(out, c)
			i++
			continue
		}
		// A string literal: find its closing quote (input is valid JSON).
		j, esc := i+1, false
		for data[j] != '"' {
			if data[j] == '\\' {
				esc = true
				j++
			}
			j++
		}
		lit := data[i : j+1]
		i = j + 1
		if !esc && bytes.IndexByte(lit, '[') < 0 {
			out = append(out, lit...)
			continue
		}
		var s string
		if err := json.Unmarshal(lit, &s); err != nil {
			return nil, ErrInvalidJSON
		}
		r := v.Restore(s)
		if r == s {
			out = append(out, lit...)
			continue
		}
		out = appendJSONString(out, r)
	}
	return out, nil
}

// appendJSONString appends s as a JSON string literal, escaping '"', '\\',
// control characters and U+2028/U+2029; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
