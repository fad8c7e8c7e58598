package audit

import (
	"strconv"
	"time"
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
