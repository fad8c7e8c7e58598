package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"
)

func sampleEntry() *Entry {
	return &Entry{
		Index: 41,
		Prev:  tlog.Hash{1, 2, 3},
		Event: Event{
			Time: time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC), Actor: "employee:e_17", OnBehalfOf: "user:u_1",
			Action: "workspace.file.read", Resource: "workspace/ws_9a/file/3", Subject: "user:u_3f9c",
			Purpose: "resolve_issue", Outcome: Denied, Service: "api", IP: "2001:db8::/48",
			Attrs: []Attr{String("reason", "no grant ✓"), Int("n", -7), Bool("cached", true)},
		},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	e := sampleEntry()
	data, err := e.MarshalBinary()
	require.NoError(t, err)
	got, err := ParseEntry(data)
	require.NoError(t, err)
	e.Hash = tlog.RecordHash(data)
	assert.Equal(t, e, got, "an entry survives encoding")
	again, err := got.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, data, again, "the encoding is deterministic")
	idx, prev, err := checkLeaf(data)
	require.NoError(t, err)
	assert.Equal(t, e.Index, idx)
	assert.Equal(t, e.Prev, prev)
	assert.Equal(t, len(data), leafSize(&e.Event), "leafSize predicts the encoding's length")
}

func TestParseEntryRejects(t *testing.T) {
	t.Parallel()
	data, err := sampleEntry().MarshalBinary()
	require.NoError(t, err)
	for n := range len(data) {
		_, err := ParseEntry(data[:n])
		require.ErrorIs(t, err, ErrMalformedEntry, "a truncation to %d bytes is rejected", n)
	}
	_, err = ParseEntry(append(bytes.Clone(data), 0))
	require.ErrorIs(t, err, ErrMalformedEntry, "a trailing byte is rejected")
	for _, tc := range []struct {
		name string
		edit func(d []byte)
	}{
		{"unknown version", func(d []byte) { d[0] = 2 }},
		{"bool not 0 or 1", func(d []byte) { d[len(d)-1] = 2 }},
		{"unknown attribute kind", func(d []byte) { d[len(d)-2] = 9 }},
	} {
		d := bytes.Clone(data)
		tc.edit(d)
		_, err := ParseEntry(d)
		assert.ErrorIs(t, err, ErrMalformedEntry, tc.name)
		_, _, err = checkLeaf(d)
		assert.ErrorIs(t, err, ErrMalformedEntry, tc.name)
	}
	_, err = (&Entry{Stripped: true}).MarshalBinary()
	assert.Error(t, err, "a stripped entry has no leaf")
}

func TestEventValidate(t *testing.T) {
	t.Parallel()
	long := string(bytes.Repeat([]byte("a"), MaxFieldLen+1))
	ok := func() Event { return sampleEntry().Event }
	for _, tc := range []struct {
		name  string
		edit  func(e *Event)
		field string
	}{
		{"no action: an entry must say what happened", func(e *Event) { e.Action = "" }, "Action"},
		{"no actor: an entry must say who acted", func(e *Event) { e.Actor = "" }, "Actor"},
		{"oversized resource", func(e *Event) { e.Resource = long }, "Resource"},
		{"invalid UTF-8", func(e *Event) { e.Subject = "u\xff" }, "Subject"},
		{"newline could forge log lines", func(e *Event) { e.Actor = "a\nb" }, "Actor"},
		{"C1 control character", func(e *Event) { e.Service = "a\u0085" }, "Service"},
		{"unknown outcome", func(e *Event) { e.Outcome = "maybe" }, "Outcome"},
		{"time beyond int64 nanoseconds", func(e *Event) { e.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, "Time"},
		{"too many attributes", func(e *Event) { e.Attrs = make([]Attr, MaxAttrs+1) }, "Attrs"},
		{"empty attribute key", func(e *Event) { e.Attrs = []Attr{Int("", 1)} }, "Attrs[0].Key"},
		{"upper-case attribute key", func(e *Event) { e.Attrs = []Attr{Int("N", 1)} }, "Attrs[0].Key"},
		{"repeated attribute key", func(e *Event) { e.Attrs = []Attr{Int("n", 1), Bool("n", true)} }, "Attrs[1].Key"},
		{"oversized attribute value", func(e *Event) { e.Attrs = []Attr{String("v", string(make([]byte, MaxAttrValue+1)))} }, "Attrs[0].Str"},
		{"non-canonical bool", func(e *Event) { e.Attrs = []Attr{{Key: "b", Kind: KindBool, Int: 2}} }, "Attrs[0].Int"},
		{"unknown kind", func(e *Event) { e.Attrs = []Attr{{Key: "b", Kind: 7}} }, "Attrs[0].Kind"},
	} {
		e := ok()
		tc.edit(&e)
		err := e.Validate()
		var ee *EventError
		if assert.ErrorAs(t, err, &ee, tc.name) {
			assert.Equal(t, tc.field, ee.Field, tc.name)
			assert.ErrorIs(t, err, ErrInvalidEvent)
			assert.NotContains(t, err.Error(), "u\xff", "errors never quote values")
		}
	}
	e := ok()
	e.Outcome = ""
	assert.NoError(t, e.Validate(), "an empty outcome is read as success")
}

// FuzzParseEntry holds the entry decoder to: no panic; the allocation-free
// structural checker used by Verify accepts whatever it accepts, with the
// same index and chain link; whatever decodes re-encodes to the same bytes
// (one encoding per entry).
func FuzzParseEntry(f *testing.F) {
	data, _ := sampleEntry().MarshalBinary()
	f.Add(data)
	e := sampleEntry()
	e.Event.Attrs = nil
	e.Event.OnBehalfOf = ""
	data2, _ := e.MarshalBinary()
	f.Add(data2)
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry(data)
		idx, prev, cerr := checkLeaf(data)
		if err == nil && cerr != nil {
			t.Fatalf("ParseEntry accepts what checkLeaf rejects: %v", cerr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("error does not wrap ErrMalformedEntry: %v", err)
			}
			return
		}
		if idx != e.Index || prev != e.Prev {
			t.Fatal("checkLeaf and ParseEntry disagree on index or chain")
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("a decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatal("decoding is not canonical: re-encoding differs")
		}
	})
}

// TestPlainASCII checks the eight-bytes-at-a-time scan against the plain
// definition for every byte value at every position of a 16-byte string.
func TestPlainASCII(t *testing.T) {
	t.Parallel()
	printable := func(c byte) bool { return c >= 0x20 && c < 0x7f }
	for pos := range 16 {
		for c := range 256 {
			b := bytes.Repeat([]byte("a"), 16)
			b[pos] = byte(c)
			n := plainASCII(b)
			require.Zero(t, n%8)
			for _, x := range b[:n] {
				require.True(t, printable(x), "byte %#x at %d passed as plain ASCII", c, pos)
			}
			if printable(byte(c)) {
				require.Equal(t, 16, n, "all-printable input is consumed")
			}
			require.Equal(t, n, plainASCII(string(b)))
			if quickText(string(b), MaxFieldLen) {
				require.Empty(t, checkText(string(b), MaxFieldLen), "quickText accepts only what checkText accepts")
			}
			require.Equal(t, printable(byte(c)), quickText(string(b), MaxFieldLen))
		}
	}
}

// TestQuickText checks the word-at-a-time printable-ASCII test against the
// plain definition for every byte value at every position of strings of
// every length up to 20 (short strings take other paths than long ones),
// and the length limit.
func TestQuickText(t *testing.T) {
	t.Parallel()
	printable := func(c byte) bool { return c >= 0x20 && c < 0x7f }
	for n := range 21 {
		require.True(t, quickText(strings.Repeat("a", n), MaxFieldLen), "length %d", n)
		require.Equal(t, n <= 10, quickText(strings.Repeat("a", n), 10), "length %d, limit 10", n)
		for pos := range n {
			for c := range 256 {
				b := bytes.Repeat([]byte("~"), n)
				b[pos] = byte(c)
				require.Equal(t, printable(byte(c)), quickText(string(b), MaxFieldLen), "byte %#x at %d of %d", c, pos, n)
			}
		}
	}
}
