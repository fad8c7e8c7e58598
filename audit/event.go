package audit

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Outcome is how an audited action ended.
type Outcome string

// The outcomes an [Event] may carry.
const (
	Success Outcome = "success"
	Denied  Outcome = "denied"
	Error   Outcome = "error"
)

// Event is one audited action: who did what to which resource, about whose
// data, for which purpose, and how it ended. It never carries content: no
// plaintext, no raw e-mail address or name, no secret. Identifiers of people
// are pseudonyms the host supplies.
type Event struct {
	// Time is when the action happened. The zero value means "now" on the
	// log's clock when the event is appended.
	Time time.Time
	// Actor is who acted, as "kind:id", for example "user:u_3f9c",
	// "employee:e_17" or "service:sweeper".
	Actor string
	// OnBehalfOf is the principal the actor acted for, if any.
	OnBehalfOf string
	// Action is what was done, dotted and lower case, for example
	// "workspace.file.read" or "llm.chat".
	Action string
	// Resource names what was acted on, for example "workspace/ws_9a/file/3".
	Resource string
	// Subject is the pseudonym of the person whose data was touched.
	Subject string
	// Purpose is why the action was taken, for example "resolve_issue".
	Purpose string
	// Outcome is how the action ended.
	Outcome Outcome
	// Service is the component that recorded the event.
	Service string
	// IP is the origin address, already truncated or pseudonymised.
	IP string
	// Attrs are small typed attributes, such as counts, hashes and reasons.
	Attrs []Attr
}

// Kind is the type of an [Attr]'s value.
type Kind uint8

// The kinds of attribute values.
const (
	KindString Kind = iota + 1
	KindInt
	KindBool
)

// Attr is a typed key-value pair attached to an [Event].
type Attr struct {
	Key  string
	Kind Kind
	Str  string // set when Kind is KindString
	Int  int64  // set when Kind is KindInt; 0 or 1 when Kind is KindBool
}

// String returns a string attribute.
func String(key, value string) Attr { return Attr{Key: key, Kind: KindString, Str: value} }

// Int returns an integer attribute.
func Int(key string, value int64) Attr { return Attr{Key: key, Kind: KindInt, Int: value} }

// Bool returns a boolean attribute.
func Bool(key string, value bool) Attr {
	a := Attr{Key: key, Kind: KindBool}
	if value {
		a.Int = 1
	}
	return a
}

// Value returns the attribute's value formatted as text.
func (a Attr) Value() string {
	switch a.Kind {
	case KindInt:
		return strconv.FormatInt(a.Int, 10)
	case KindBool:
		return strconv.FormatBool(a.Int != 0)
	default:
		return a.Str
	}
}

// Limits on the size of an [Event]. An event that exceeds one is rejected
// with an [*EventError]; audit events describe actions and never carry
// content, so these limits are generous for identifiers and tight for text.
const (
	MaxFieldLen  = 512  // bytes in any one string field (Actor, Resource, …)
	MaxAttrs     = 32   // attributes per event
	MaxAttrKey   = 64   // bytes in an attribute key
	MaxAttrValue = 1024 // bytes in a string attribute value
)

// EventError reports an event that [Event.Validate] rejects: which field and
// why. It never quotes the field's value.
type EventError struct {
	Field  string // "Action", "Attrs[2].Key", …
	Reason string // "is empty", "exceeds 512 bytes", …
}

// Error returns "audit: invalid event: <field> <reason>".
func (e *EventError) Error() string {
	return "audit: invalid event: " + e.Field + " " + e.Reason
}

// Unwrap returns [ErrInvalidEvent], so callers can branch with errors.Is.
func (e *EventError) Unwrap() error { return ErrInvalidEvent }

// Validate reports whether e can be appended to a log. Action and Actor are
// required; every string is valid UTF-8 without control characters and at
// most [MaxFieldLen] bytes; Outcome is empty (read as [Success]) or one of
// the three outcomes; attribute keys are unique, non-empty, made of
// lower-case letters, digits, '_', '.' and '-', and at most [MaxAttrKey]
// bytes; string values are at most [MaxAttrValue] bytes; the time, when
// set, lies between the years 1678 and 2262 (nanoseconds fit an int64).
func (e *Event) Validate() error {
	if e.Action == "" {
		return &EventError{"Action", "is empty"}
	}
	if e.Actor == "" {
		return &EventError{"Actor", "is empty"}
	}
	// The common case, printable ASCII within the limits, is checked first
	// in one quick pass; only a field that fails it gets a closer look.
	bad := textBits(e.Actor, MaxFieldLen) | textBits(e.OnBehalfOf, MaxFieldLen) | textBits(e.Action, MaxFieldLen) |
		textBits(e.Resource, MaxFieldLen) | textBits(e.Subject, MaxFieldLen) | textBits(e.Purpose, MaxFieldLen) |
		textBits(string(e.Outcome), MaxFieldLen) | textBits(e.Service, MaxFieldLen) | textBits(e.IP, MaxFieldLen)
	if bad != 0 {
		fields := [...]struct{ name, v string }{
			{"Actor", e.Actor}, {"OnBehalfOf", e.OnBehalfOf}, {"Action", e.Action},
			{"Resource", e.Resource}, {"Subject", e.Subject}, {"Purpose", e.Purpose},
			{"Outcome", string(e.Outcome)}, {"Service", e.Service}, {"IP", e.IP},
		}
		for _, f := range fields {
			if r := checkText(f.v, MaxFieldLen); r != "" {
				return &EventError{f.name, r}
			}
		}
	}
	switch e.Outcome {
	case "", Success, Denied, Error:
	default:
		return &EventError{"Outcome", "is not success, denied or error"}
	}
	if !e.Time.IsZero() && (e.Time.Before(minTime) || e.Time.After(maxTime)) {
		return &EventError{"Time", "is out of range"}
	}
	if len(e.Attrs) > MaxAttrs {
		return &EventError{"Attrs", "has more than " + strconv.Itoa(MaxAttrs) + " attributes"}
	}
	for i, a := range e.Attrs {
		if why := checkAttr(a, e.Attrs[:i]); why.Field != "" {
			err := &EventError{"Attrs[" + strconv.Itoa(i) + "]" + why.Field, why.Reason}
			return err
		}
	}
	return nil
}

// checkAttr returns why a is invalid after the attributes before it, with a
// Field relative to the attribute, or a zero EventError.
func checkAttr(a Attr, before []Attr) EventError {
	if a.Key == "" {
		return EventError{".Key", "is empty"}
	}
	if len(a.Key) > MaxAttrKey {
		return EventError{".Key", "exceeds " + strconv.Itoa(MaxAttrKey) + " bytes"}
	}
	ok := true
	for j := 0; j < len(a.Key); j++ {
		ok = ok && keyByte[a.Key[j]]
	}
	if !ok {
		return EventError{".Key", "has a character outside [a-z0-9_.-]"}
	}
	for _, b := range before {
		if b.Key == a.Key {
			return EventError{".Key", "repeats an earlier key"}
		}
	}
	switch a.Kind {
	case KindString:
		if quickText(a.Str, MaxAttrValue) {
			// Printable ASCII within the limit: acceptable.
		} else if r := checkText(a.Str, MaxAttrValue); r != "" {
			return EventError{".Str", r}
		}
		if a.Int != 0 {
			return EventError{".Int", "is set on a string attribute"}
		}
	case KindInt:
		if a.Str != "" {
			return EventError{".Str", "is set on an integer attribute"}
		}
	case KindBool:
		if a.Str != "" || (a.Int != 0 && a.Int != 1) {
			return EventError{".Int", "is not a canonical boolean"}
		}
	default:
		return EventError{".Kind", "is unknown"}
	}
	return EventError{}
}

// keyByte tells the bytes an attribute key may hold: [a-z0-9_.-].
var keyByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
	}
	return t
}()

var (
	minTime = time.Unix(0, math.MinInt64).Add(time.Second)
	maxTime = time.Unix(0, math.MaxInt64).Add(-time.Second)
)

// checkText returns why s is not acceptable text of at most max bytes, or "".
func checkText(s string, max int) string {
	if len(s) > max {
		return "exceeds " + strconv.Itoa(max) + " bytes"
	}
	for i := plainASCII(s); i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return "contains a control character"
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return "is not valid UTF-8"
		}
		if r < 0xa0 {
			return "contains a control character"
		}
		i += n
	}
	return ""
}

// quickText reports whether s is at most max bytes of printable ASCII,
// which checkText accepts too.
func quickText(s string, max int) bool {
	return textBits(s, max)&hiBits == 0
}

const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// textBits returns a word with a top bit (of hiBits) set if s is longer
// than max bytes or holds a byte outside printable ASCII (0x20–0x7e), and
// none set otherwise; callers OR the words of several strings and test
// hiBits once. It reads s eight bytes at a time, the last word overlapping
// the one before it, and a short s as one word padded with spaces.
func textBits(s string, max int) uint64 {
	n := len(s)
	if n > max {
		return hiBits
	}
	b := unsafe.Slice(unsafe.StringData(s), n)
	var acc uint64
	switch {
	case n >= 8:
		for i := 0; i+8 <= n; i += 8 {
			acc |= unprintable(binary.LittleEndian.Uint64(b[i:]))
		}
		acc |= unprintable(binary.LittleEndian.Uint64(b[n-8:]))
	case n >= 4:
		acc = unprintable(uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32)
	case n > 0:
		// Three bytes (some repeated when n < 3), padded with spaces.
		acc = unprintable(0x2020202020000000 | uint64(b[0]) | uint64(b[n>>1])<<8 | uint64(b[n-1])<<16)
	}
	return acc & hiBits
}

// unprintable returns a word whose top bits (of hiBits) are all clear if
// every byte of v is printable ASCII (0x20–0x7e); only its top bits are
// meaningful. A byte c below 0x80 is printable exactly when c+0x60 has its
// top bit set and c+0x01 does not; neither sum carries into the next byte.
// (A byte of 0x80 or more sets a top bit of v itself; the carries it may
// cause do not matter then.)
func unprintable(v uint64) uint64 {
	return v | (v + loBits) | ^(v + 0x60*loBits)
}

// plainASCII returns the length of a prefix of s, a multiple of 8 bytes,
// that is printable ASCII (0x20–0x7e); the rest needs a closer look. It
// tests eight bytes at a time.
func plainASCII[T string | []byte](s T) int {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		v := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if v&hi != 0 {
			break // not ASCII
		}
		below := (v - 0x20*lo) & ^v & hi // some byte < 0x20
		x := v ^ 0x7f*lo
		del := (x - lo) & ^x & hi // some byte == 0x7f
		if below|del != 0 {
			break
		}
	}
	return i
}
