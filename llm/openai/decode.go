package openai

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/inferlabs/privkit/llm"
)

// parseResponseFast decodes a non-streamed chat completion as
// parseResponseStd would, without reflection and straight into the
// llm.Response: it is on every call's path, and encoding/json costs about
// as much as the loopback round trip. ok is false whenever the body holds
// something it does not decode exactly as encoding/json would (invalid
// JSON, a value of the wrong type anywhere, a repeated field, a key that
// only case-folding would match, very deep nesting); ParseResponse then
// uses parseResponseStd, so both paths give the same result.
// FuzzParseResponseFast checks that. A nil Response with ok true means the
// body has no first choice with a message.
func parseResponseFast(body []byte) (out *llm.Response, ok bool) {
	d := jdec{b: body}
	d.ws()
	if d.peek() != '{' {
		return nil, false
	}
	out = new(llm.Response)
	var seen uint8
	choices, message := 0, false // choices seen; whether the first has a message
	ok = d.object(func(key []byte) bool {
		switch string(key) {
		case "model":
			return d.once(&seen, 1) && d.stringField(&out.Model)
		case "choices":
			if !d.once(&seen, 2) {
				return false
			}
			if d.null() {
				return true
			}
			return d.array(func() bool {
				choices++
				if choices > 1 {
					// Checked as encoding/json would, and dropped.
					var rest llm.Response
					var restMessage bool
					return d.choiceInto(&rest, &restMessage)
				}
				return d.choiceInto(out, &message)
			})
		case "usage":
			if !d.once(&seen, 4) {
				return false
			}
			if d.null() {
				return true
			}
			var u chatUsage
			if !d.usage(&u) {
				return false
			}
			out.Usage = llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
			return true
		case "error":
			if !d.once(&seen, 8) {
				return false
			}
			if d.null() {
				return true
			}
			var e errorBody // checked, and dropped (as by ParseResponse)
			return d.errorBody(&e)
		}
		return d.other(key)
	})
	if !ok {
		return nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	if !message {
		return nil, true
	}
	return out, true
}

// choiceInto decodes a choice into out; *message reports whether it has a
// message (not null). The choices after the first are decoded into a
// response that is dropped, which checks them as encoding/json would.
func (d *jdec) choiceInto(out *llm.Response, message *bool) bool {
	var seen uint8
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			var n int
			return d.once(&seen, 1) && d.intField(&n)
		case "message":
			if !d.once(&seen, 2) {
				return false
			}
			if d.null() {
				return true
			}
			*message = true
			return d.messageInto(out)
		case "delta":
			if !d.once(&seen, 4) {
				return false
			}
			if d.null() {
				return true
			}
			var m llm.Response // checked, and dropped
			return d.messageInto(&m)
		case "finish_reason":
			if !d.once(&seen, 8) {
				return false
			}
			var fr string // null leaves "", which maps to no reason
			if !d.stringField(&fr) {
				return false
			}
			out.FinishReason = finishReason(fr)
			return true
		}
		return d.other(key)
	})
}

// messageInto decodes a choice's message (or delta) into out.
func (d *jdec) messageInto(out *llm.Response) bool {
	var seen uint8
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "role":
			var role string
			return d.once(&seen, 1) && d.stringField(&role)
		case "content":
			if !d.once(&seen, 2) {
				return false
			}
			if d.null() {
				return true
			}
			s, ok := d.str()
			out.Text = s
			return ok
		case "tool_call_id":
			var id string
			return d.once(&seen, 4) && d.stringField(&id)
		case "tool_calls":
			if !d.once(&seen, 8) {
				return false
			}
			if d.null() {
				return true
			}
			return d.array(func() bool {
				var tc chatToolCall
				if !d.toolCall(&tc) {
					return false
				}
				out.ToolCalls = append(out.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: json.RawMessage(tc.Function.Arguments)})
				return true
			})
		}
		return d.other(key)
	})
}

// jdec is a minimal JSON decoder over a byte slice. Every method returns
// false to give up; the caller then falls back to encoding/json.
type jdec struct {
	b     []byte
	i     int
	depth int
}

// maxDepth bounds nesting; deeper documents go to encoding/json.
const maxDepth = 512

func (d *jdec) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *jdec) ws() {
	b, i := d.b, d.i
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	d.i = i
}

// once marks bit in *seen and reports whether it was clear: a repeated
// field gives up (encoding/json merges repeated objects).
func (d *jdec) once(seen *uint8, bit uint8) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// null consumes a null literal if one is next.
func (d *jdec) null() bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// object calls field for each member of the object at d.i with d.i at the
// member's value; field must consume the value.
func (d *jdec) object(field func(key []byte) bool) bool {
	if d.peek() != '{' {
		return false
	}
	if d.depth++; d.depth > maxDepth {
		return false
	}
	d.i++
	d.ws()
	if d.peek() == '}' {
		d.i++
		d.depth--
		return true
	}
	for {
		key, ok := d.strBytes()
		if !ok {
			return false
		}
		d.ws()
		if d.peek() != ':' {
			return false
		}
		d.i++
		d.ws()
		if !field(key) {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// array calls elem for each element of the array at d.i, with d.i at the
// element; elem must consume it.
func (d *jdec) array(elem func() bool) bool {
	if d.peek() != '[' {
		return false
	}
	if d.depth++; d.depth > maxDepth {
		return false
	}
	d.i++
	d.ws()
	if d.peek() == ']' {
		d.i++
		d.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
		case ']':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// other skips the value of a key the struct does not have. A key that
// case-folding could map to a field gives up: only keys of lowercase ASCII
// letters, digits and '_' are skipped (every field name is of that form,
// so such a key matches a field only when equal to it).
func (d *jdec) other(key []byte) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return d.skip()
}

// stringField decodes a string or null (which leaves *dst alone, as
// encoding/json does). The usual values of enumerated fields (roles, types,
// finish reasons) come without allocating.
func (d *jdec) stringField(dst *string) bool {
	if d.null() {
		return true
	}
	b, ok := d.strBytes()
	if ok {
		*dst = intern(b)
	}
	return ok
}

// intern returns the usual values of enumerated fields as constants.
func intern(b []byte) string {
	switch string(b) {
	case "assistant":
		return "assistant"
	case "function":
		return "function"
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	}
	return string(b)
}

// intField decodes an integer or null (which leaves *dst alone).
func (d *jdec) intField(dst *int) bool {
	if d.null() {
		return true
	}
	n, ok := d.integer()
	if ok {
		*dst = n
	}
	return ok
}

func (d *jdec) toolCall(tc *chatToolCall) bool {
	var seen uint8
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			if !d.once(&seen, 1) {
				return false
			}
			if d.null() {
				return true
			}
			n, ok := d.integer()
			tc.Index = &n
			return ok
		case "id":
			return d.once(&seen, 2) && d.stringField(&tc.ID)
		case "type":
			return d.once(&seen, 4) && d.stringField(&tc.Type)
		case "function":
			if !d.once(&seen, 8) {
				return false
			}
			if d.null() {
				return true
			}
			var fseen uint8
			return d.object(func(key []byte) bool {
				switch string(key) {
				case "name":
					return d.once(&fseen, 1) && d.stringField(&tc.Function.Name)
				case "arguments":
					return d.once(&fseen, 2) && d.stringField(&tc.Function.Arguments)
				}
				return d.other(key)
			})
		}
		return d.other(key)
	})
}

func (d *jdec) usage(u *chatUsage) bool {
	var seen uint8
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "prompt_tokens":
			return d.once(&seen, 1) && d.intField(&u.PromptTokens)
		case "completion_tokens":
			return d.once(&seen, 2) && d.intField(&u.CompletionTokens)
		}
		return d.other(key)
	})
}

func (d *jdec) errorBody(e *errorBody) bool {
	var seen uint8
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "message":
			return d.once(&seen, 1) && d.stringField(&e.Message)
		case "type":
			return d.once(&seen, 2) && d.stringField(&e.Type)
		case "code":
			if !d.once(&seen, 4) {
				return false
			}
			start := d.i
			if !d.skip() {
				return false
			}
			e.Code = append(json.RawMessage(nil), d.b[start:d.i]...)
			return true
		}
		return d.other(key)
	})
}

// integer decodes a JSON number that is an integer fitting an int. A
// fraction or exponent gives up (encoding/json refuses them for an int).
func (d *jdec) integer() (int, bool) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || d.b[digits] == '0' && d.i-digits > 1 {
		return 0, false
	}
	switch d.peek() {
	case '.', 'e', 'E':
		return 0, false
	}
	// At most 18 digits cannot overflow an int64; longer numbers go
	// through strconv, which reports a range error as encoding/json does.
	if d.i-digits > 18 || strconv.IntSize < 64 {
		n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, strconv.IntSize)
		return int(n), err == nil
	}
	n := 0
	for _, c := range d.b[digits:d.i] {
		n = n*10 + int(c-'0')
	}
	if digits > start {
		n = -n
	}
	return n, true
}

// str decodes the string at d.i as encoding/json does: invalid UTF-8 and
// unpaired surrogates become U+FFFD.
func (d *jdec) str() (string, bool) {
	b, ok := d.strBytes()
	return string(b), ok
}

// strBytes is str without the copy: the result aliases d.b unless the
// string holds escapes or invalid UTF-8.
func (d *jdec) strBytes() ([]byte, bool) {
	if d.peek() != '"' {
		return nil, false
	}
	d.i++
	start := d.i
	for {
		// Locals, not d.i: the loop then runs in registers.
		b, i := d.b, plainRun(d.b, d.i)
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		d.i = i
		if d.i >= len(d.b) {
			return nil, false
		}
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c == '\\' || c < ' ':
			return d.strSlow(start)
		default: // c >= utf8.RuneSelf
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				return d.strSlow(start)
			}
			d.i += size
		}
	}
}

// plainByte marks the bytes a string may hold as they are: printable ASCII
// other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainRun returns an index at or after i and no further than the first
// byte at or after i that is not plainByte: it steps eight bytes at a time
// and stops before the first word that holds such a byte (the caller
// finishes byte by byte).
func plainRun(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
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

func (d *jdec) strSlow(start int) ([]byte, bool) {
	out := make([]byte, 0, d.i-start+16)
	out = append(out, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return out, true
		case c < ' ':
			return nil, false
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return nil, false
			}
			switch e := d.b[d.i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := hex4(d.b[d.i+2:])
				if r < 0 {
					return nil, false
				}
				d.i += 6
				if utf16.IsSurrogate(r) {
					if len(d.b)-d.i >= 6 && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
						if r1 := hex4(d.b[d.i+2:]); r1 >= 0 {
							if dec := utf16.DecodeRune(r, r1); dec != unicode.ReplacementChar {
								d.i += 6
								out = utf8.AppendRune(out, dec)
								continue
							}
						}
					}
					r = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return nil, false
			}
			d.i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, unicode.ReplacementChar)
			} else {
				out = append(out, d.b[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
	return nil, false
}

// hex4 decodes four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// skip consumes one JSON value of any type, checking its syntax.
func (d *jdec) skip() bool {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func([]byte) bool { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		return d.skipString()
	case c == '-' || c >= '0' && c <= '9':
		return d.skipNumber()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.null()
	}
	return false
}

func (d *jdec) literal(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

func (d *jdec) skipString() bool {
	d.i++
	for d.i < len(d.b) {
		b, i := d.b, plainRun(d.b, d.i)
		for i < len(b) && plainByte[b[i]] || i < len(b) && b[i] >= utf8.RuneSelf {
			i++
		}
		d.i = i
		if i == len(b) {
			return false
		}
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return true
		case c < ' ':
			return false
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return false
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if hex4(d.b[d.i+2:]) < 0 {
					return false
				}
				d.i += 6
			default:
				return false
			}
		default:
			d.i++
		}
	}
	return false
}

// skipNumber consumes a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jdec) skipNumber() bool {
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		d.digits()
	default:
		return false
	}
	if d.peek() == '.' {
		d.i++
		if !d.digits() {
			return false
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !d.digits() {
			return false
		}
	}
	return true
}

// digits consumes one or more digits.
func (d *jdec) digits() bool {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}
