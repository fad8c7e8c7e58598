package llm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// redactRequest returns a copy of req whose message contents and tool-call
// arguments went through the vault, counting findings by kind into st.
// Tool definitions are the host's own text and are copied as is. The caller
// holds cv.mu.
func (cv *Conversation) redactRequest(req *Request, st *callState) *Request {
	out := *req
	out.Messages = make([]Message, len(req.Messages))
	for i, m := range req.Messages {
		m.Content = cv.redactText(m.Content, st)
		if len(m.ToolCalls) > 0 {
			calls := make([]ToolCall, len(m.ToolCalls))
			for j, tc := range m.ToolCalls {
				tc.Arguments = cv.redactJSON(tc.Arguments, st)
				calls[j] = tc
			}
			m.ToolCalls = calls
		}
		out.Messages[i] = m
	}
	return &out
}

// redactText redacts one text through the vault. A conversation resends
// its whole history on every turn, so results are remembered per text:
// the key is a SHA-256 of the text under the conversation's random key (no
// text is kept as a key), the value is the redacted text (placeholders
// only) and its counts. The caller holds cv.mu.
func (cv *Conversation) redactText(s string, st *callState) string {
	if s == "" {
		return s
	}
	var key [sha256.Size]byte
	if cv.cache != nil {
		// SHA-256(cacheKey || s), through a scratch buffer that is wiped
		// at once (hash.Hash.Write would need a copy of s per call).
		cv.scratch = append(append(cv.scratch[:0], cv.cacheKey[:]...), s...)
		key = sha256.Sum256(cv.scratch)
		clear(cv.scratch)
		if e, ok := cv.cache[key]; ok {
			e.count(st)
			return e.text
		}
	}
	red, findings := cv.vault.Redact(s)
	e := cachedText{text: red}
	for _, f := range findings {
		e.kinds = append(e.kinds, string(f.Kind))
	}
	e.count(st)
	if cv.cache != nil {
		if len(cv.cache) >= maxCachedTexts {
			clear(cv.cache)
		}
		cv.cache[key] = e
	}
	return red
}

// maxCachedTexts bounds a conversation's memory of redacted texts.
const maxCachedTexts = 2048

// maxScratch bounds the hashing buffer a conversation keeps between calls.
const maxScratch = 1 << 20

// cachedText is a remembered redaction: the redacted text and the kind of
// each finding. It holds no personal data.
type cachedText struct {
	text  string
	kinds []string
}

func (e cachedText) count(st *callState) {
	for _, k := range e.kinds {
		st.redactions[k]++
	}
}

// redactJSON redacts every string value (not the keys) of a JSON document.
// A document that is not valid JSON is redacted as plain text.
func (cv *Conversation) redactJSON(raw json.RawMessage, st *callState) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return json.RawMessage(cv.redactText(string(raw), st))
	}
	v = cv.redactValue(v, st)
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(cv.redactText(string(raw), st))
	}
	return b
}

func (cv *Conversation) redactValue(v any, st *callState) any {
	switch x := v.(type) {
	case string:
		return cv.redactText(x, st)
	case []any:
		for i := range x {
			x[i] = cv.redactValue(x[i], st)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = cv.redactValue(e, st)
		}
		return x
	default:
		return v
	}
}

// restoreToolCalls restores placeholders inside tool-call arguments. The
// caller holds cv.mu.
func (cv *Conversation) restoreToolCalls(calls []ToolCall) []ToolCall {
	if len(calls) == 0 {
		return calls
	}
	out := make([]ToolCall, len(calls))
	for i, tc := range calls {
		if len(tc.Arguments) > 0 {
			if b, err := cv.vault.RestoreJSON(tc.Arguments); err == nil {
				tc.Arguments = b
			} else {
				tc.Arguments = json.RawMessage(cv.vault.Restore(string(tc.Arguments)))
			}
		}
		out[i] = tc
	}
	return out
}

// promptHash is the SHA-256 of the redacted prompt: the model and each
// message's role, tool fields and content, length-prefixed so that no two
// prompts share an encoding. buf is scratch space; it comes back wiped, to
// be reused.
func promptHash(req *Request, buf []byte) (string, []byte) {
	buf = buf[:0]
	field := func(s string) {
		buf = strconv.AppendInt(buf, int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
	}
	field(req.Model)
	for _, m := range req.Messages {
		field(string(m.Role))
		field(m.Name)
		field(m.ToolCallID)
		field(m.Content)
		for _, tc := range m.ToolCalls {
			field(tc.ID)
			field(tc.Name)
			field(string(tc.Arguments))
		}
	}
	sum := sha256.Sum256(buf)
	clear(buf)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:]), buf
}
