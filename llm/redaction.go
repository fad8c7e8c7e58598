package llm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash/maphash"
	"strconv"
)

// redactRequest returns a copy of req whose message contents and tool-call
// arguments went through the vault, counting findings by kind into st.
// Tool definitions are the host's own text and are copied as is. The caller
// holds cv.mu.
func (cv *Conversation) redactRequest(req *Request, st *callState) *Request {
	out := *req
	out.Messages = make([]Message, len(req.Messages))
	cv.digests = cv.digests[:0]
	cv.gen++
	cv.touched = 0
	defer cv.trimCache()
	for i, m := range req.Messages {
		var d [sha256.Size]byte
		m.Content, d = cv.redactText(m.Content, st)
		cv.digests = append(cv.digests, d)
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

// redactText redacts one text through the vault and returns it with the
// SHA-256 of the redacted text (for the prompt hash). A conversation
// resends its whole history on every turn, so results are remembered per
// text: the key is a hash of the text under the conversation's random seed
// (no text is kept as a key), the value is the index in cv.texts of the
// redacted text (placeholders only), its SHA-256 and its counts. A hit
// counts only if the vault restores the remembered redaction to exactly
// this text, or if the remembered redaction is this text (a text that
// redacted to itself, such as an answer resent with its placeholders:
// redacting it again changes nothing). So neither a hash collision nor a
// change to the text can return another text's redaction, and no original
// is kept to compare with. The caller holds cv.mu, on an open
// conversation.
func (cv *Conversation) redactText(s string, st *callState) (string, [sha256.Size]byte) {
	if s == "" {
		return s, emptySHA256
	}
	key := maphash.String(cv.seed, s)
	if i, ok := cv.cache[key]; ok {
		if e := &cv.texts[i]; e.text == s || cv.vault.RestoresTo(e.text, s) {
			if e.used != cv.gen {
				e.used = cv.gen
				cv.touched++
			}
			e.count(st)
			return e.text, e.sum
		}
	}
	red, findings := cv.vault.Redact(s)
	cv.scratch = append(cv.scratch[:0], red...)
	e := cachedText{text: red, sum: sha256.Sum256(cv.scratch), key: key, used: cv.gen}
	clear(cv.scratch)
	for _, f := range findings {
		e.kinds = append(e.kinds, string(f.Kind))
	}
	e.count(st)
	cv.touched++
	cv.cache[key] = int32(len(cv.texts))
	cv.texts = append(cv.texts, e)
	return red, e.sum
}

var emptySHA256 = sha256.Sum256(nil)

// trimCache forgets the remembered redactions that the request just
// redacted did not use, once they outnumber the used ones (plus some
// slack): what a conversation remembers is bounded by the size of its
// latest request, and texts that left the history (edited or dropped
// messages, each turn's previous question) do not linger. Compacting
// only when the cache has doubled keeps the cost per text constant.
// The caller holds cv.mu.
func (cv *Conversation) trimCache() {
	if len(cv.texts) <= 2*cv.touched+minCachedTexts {
		return
	}
	kept := cv.texts[:0]
	clear(cv.cache)
	for _, e := range cv.texts {
		if e.used == cv.gen {
			cv.cache[e.key] = int32(len(kept))
			kept = append(kept, e)
		}
	}
	clear(cv.texts[len(kept):])
	cv.texts = kept
}

// minCachedTexts is how many unused redactions a conversation may keep
// beyond twice the used ones before it trims them.
const minCachedTexts = 16

// maxScratch bounds the hashing buffer a conversation keeps between calls.
const maxScratch = 1 << 20

// cachedText is a remembered redaction: the redacted text and the kind of
// each finding. It holds no personal data.
type cachedText struct {
	text  string
	sum   [sha256.Size]byte // of text
	kinds []string
	key   uint64 // in cv.cache
	used  uint32 // the last request (cv.gen) that used it
}

func (e cachedText) count(st *callState) {
	for _, k := range e.kinds {
		st.countKind(k)
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
		red, _ := cv.redactText(string(raw), st)
		return json.RawMessage(red)
	}
	v = cv.redactValue(v, st)
	b, err := json.Marshal(v)
	if err != nil {
		red, _ := cv.redactText(string(raw), st)
		return json.RawMessage(red)
	}
	return b
}

func (cv *Conversation) redactValue(v any, st *callState) any {
	switch x := v.(type) {
	case string:
		red, _ := cv.redactText(x, st)
		return red
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
// message's role, tool fields and the SHA-256 of its content (digests[i],
// from redactText: a resent history is not hashed again), length-prefixed
// so that no two prompts share an encoding. buf is scratch space; it comes
// back wiped, to be reused.
func promptHash(req *Request, digests [][sha256.Size]byte, buf []byte) (string, []byte) {
	buf = buf[:0]
	field := func(s string) {
		buf = strconv.AppendInt(buf, int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
	}
	field(req.Model)
	for i, m := range req.Messages {
		field(string(m.Role))
		field(m.Name)
		field(m.ToolCallID)
		buf = append(buf, digests[i][:]...)
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
