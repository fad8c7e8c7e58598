package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// LeafVersion is the version byte that starts every leaf this package
// writes. See the package documentation for the format.
const LeafVersion = 1

// prevOffset is where the previous leaf hash sits in a leaf.
const prevOffset = 1 + 8

// MaxLeafSize bounds an encoded leaf. Validation keeps every event far below.
const MaxLeafSize = 64 << 10

// ErrMalformedEntry reports leaf bytes that are not a canonical encoding of
// an entry.
var ErrMalformedEntry = errors.New("audit: malformed entry")

// Entry is one leaf of the log: an [Event] with its position and the hash of
// the leaf before it.
type Entry struct {
	// Index is the entry's position in the log, from 0.
	Index uint64
	// Prev is the leaf hash of entry Index-1, or all zeros for entry 0:
	// the hash chain.
	Prev tlog.Hash
	// Hash is this entry's RFC 6962 leaf hash, SHA-256(0x00 || leaf).
	Hash tlog.Hash
	// Event is what happened. It is the zero Event when Stripped.
	Event Event
	// Stripped reports an entry whose payload retention has removed: only
	// Index and Hash remain, so proofs of other entries still verify.
	Stripped bool
}

// MarshalBinary returns e's leaf: the canonical, versioned encoding of Index,
// Prev and Event described in the package documentation. It fails for an
// event that does not pass [Event.Validate] or has no time.
func (e *Entry) MarshalBinary() ([]byte, error) {
	if e.Stripped {
		return nil, errors.New("audit: a stripped entry has no leaf")
	}
	if err := e.Event.Validate(); err != nil {
		return nil, err
	}
	return appendLeaf(nil, e.Index, e.Prev, &e.Event)
}

// appendLeaf appends the leaf encoding of a validated event to buf.
func appendLeaf(buf []byte, index uint64, prev tlog.Hash, ev *Event) ([]byte, error) {
	if ev.Time.IsZero() {
		return nil, &EventError{"Time", "is not set"}
	}
	if ev.Outcome == "" {
		return nil, &EventError{"Outcome", "is not set"}
	}
	buf = append(buf, LeafVersion)
	buf = binary.BigEndian.AppendUint64(buf, index)
	buf = append(buf, prev[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(ev.Time.UnixNano()))
	buf = appendString(buf, ev.Actor)
	buf = appendString(buf, ev.OnBehalfOf)
	buf = appendString(buf, ev.Action)
	buf = appendString(buf, ev.Resource)
	buf = appendString(buf, ev.Subject)
	buf = appendString(buf, ev.Purpose)
	buf = appendString(buf, string(ev.Outcome))
	buf = appendString(buf, ev.Service)
	buf = appendString(buf, ev.IP)
	buf = append(buf, byte(len(ev.Attrs)))
	for _, a := range ev.Attrs {
		buf = appendString(buf, a.Key)
		buf = append(buf, byte(a.Kind))
		switch a.Kind {
		case KindString:
			buf = appendString(buf, a.Str)
		case KindInt:
			buf = binary.BigEndian.AppendUint64(buf, uint64(a.Int))
		case KindBool:
			buf = append(buf, byte(a.Int))
		}
	}
	return buf, nil
}

// leafSize returns the length of ev's leaf.
func leafSize(ev *Event) int {
	n := 1 + 8 + 32 + 8 + 9*2 + len(ev.Actor) + len(ev.OnBehalfOf) + len(ev.Action) + len(ev.Resource) +
		len(ev.Subject) + len(ev.Purpose) + len(ev.Outcome) + len(ev.Service) + len(ev.IP) + 1
	for _, a := range ev.Attrs {
		n += 2 + len(a.Key) + 1
		switch a.Kind {
		case KindString:
			n += 2 + len(a.Str)
		case KindInt:
			n += 8
		case KindBool:
			n++
		}
	}
	return n
}

func appendString(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(s)))
	return append(buf, s...)
}

// ParseEntry decodes a leaf written by [Entry.MarshalBinary] and computes its
// leaf hash. It accepts only the canonical encoding: any other bytes,
// including a truncation, trailing data or a flipped bit that breaks the
// structure, yield an error wrapping [ErrMalformedEntry]. (A flipped bit
// inside a string decodes to a different entry with a different hash; the
// log's hash chain and Merkle tree catch those.)
func ParseEntry(data []byte) (*Entry, error) {
	e, err := parseEntry(data)
	if err != nil {
		return nil, err
	}
	e.Hash = tlog.RecordHash(data)
	return e, nil
}

func parseEntry(data []byte) (*Entry, error) {
	if len(data) > MaxLeafSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the maximum", ErrMalformedEntry, len(data))
	}
	d := decoder{b: data}
	if v := d.byte(); v != LeafVersion {
		if d.err != nil {
			return nil, fmt.Errorf("%w: empty", ErrMalformedEntry)
		}
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformedEntry, v)
	}
	e := &Entry{Index: d.uint64()}
	copy(e.Prev[:], d.bytes(len(e.Prev)))
	ns := int64(d.uint64())
	ev := &e.Event
	for _, p := range [...]*string{&ev.Actor, &ev.OnBehalfOf, &ev.Action, &ev.Resource, &ev.Subject, &ev.Purpose, (*string)(&ev.Outcome), &ev.Service, &ev.IP} {
		*p = d.string()
	}
	if n := int(d.byte()); n > 0 && d.err == nil {
		if n > MaxAttrs {
			return nil, fmt.Errorf("%w: too many attributes", ErrMalformedEntry)
		}
		ev.Attrs = make([]Attr, n)
		for i := range ev.Attrs {
			a := &ev.Attrs[i]
			a.Key = d.string()
			a.Kind = Kind(d.byte())
			switch a.Kind {
			case KindString:
				a.Str = d.string()
			case KindInt:
				a.Int = int64(d.uint64())
			case KindBool:
				a.Int = int64(d.byte())
			default:
				if d.err == nil {
					return nil, fmt.Errorf("%w: attribute %d has unknown kind", ErrMalformedEntry, i)
				}
			}
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: truncated", ErrMalformedEntry)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformedEntry, len(d.b))
	}
	ev.Time = time.Unix(0, ns).UTC()
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEntry, err)
	}
	if ev.Outcome == "" {
		return nil, fmt.Errorf("%w: no outcome", ErrMalformedEntry)
	}
	return e, nil
}

// decoder reads big-endian fields; after the first short read it returns
// zero values and sets err.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = ErrMalformedEntry
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) byte() byte {
	if p := d.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if p := d.bytes(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) string() string {
	p := d.bytes(2)
	if p == nil {
		return ""
	}
	return string(d.bytes(int(binary.BigEndian.Uint16(p))))
}

// checkLeaf checks a leaf's structure without allocating and returns its
// index and previous-leaf hash: it is the hot path of [Verify]. It accepts
// every leaf [ParseEntry] accepts (FuzzParseEntry holds it to that) and
// rejects a truncation, trailing bytes, an unknown version or attribute
// kind, and non-canonical booleans, but it does not re-validate the text
// of the fields: the log validated them when it wrote the leaf, and any
// later change to them changes the leaf hash, which Verify catches.
func checkLeaf(data []byte) (index uint64, prev tlog.Hash, err error) {
	bad := func(why string) (uint64, tlog.Hash, error) {
		return 0, tlog.Hash{}, fmt.Errorf("%w: %s", ErrMalformedEntry, why)
	}
	if len(data) > MaxLeafSize {
		return bad("too long")
	}
	if len(data) < 1+8+32+8 {
		return bad("truncated")
	}
	if data[0] != LeafVersion {
		return bad("unknown version")
	}
	index = binary.BigEndian.Uint64(data[1:])
	copy(prev[:], data[prevOffset:])
	d := data[prevOffset+32+8:]
	skip := func() bool {
		if len(d) < 2 {
			return false
		}
		n := 2 + int(binary.BigEndian.Uint16(d))
		if len(d) < n {
			return false
		}
		d = d[n:]
		return true
	}
	for range 9 {
		if !skip() {
			return bad("truncated")
		}
	}
	if len(d) < 1 {
		return bad("truncated")
	}
	nattrs := int(d[0])
	d = d[1:]
	if nattrs > MaxAttrs {
		return bad("too many attributes")
	}
	for range nattrs {
		if !skip() || len(d) < 1 {
			return bad("truncated")
		}
		kind := Kind(d[0])
		d = d[1:]
		switch kind {
		case KindString:
			if !skip() {
				return bad("truncated")
			}
		case KindInt:
			if len(d) < 8 {
				return bad("truncated")
			}
			d = d[8:]
		case KindBool:
			if len(d) < 1 || d[0] > 1 {
				return bad("bad attribute value")
			}
			d = d[1:]
		default:
			return bad("unknown attribute kind")
		}
	}
	if len(d) != 0 {
		return bad("trailing bytes")
	}
	return index, prev, nil
}
