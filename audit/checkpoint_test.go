package audit_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/audittest"
)

func TestParseCheckpoint(t *testing.T) {
	t.Parallel()
	root := "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw="
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"plain", "example.com/log\n7\n" + root + "\n", true},
		{"with an extension line", "example.com/log\n7\n" + root + "\nx-ext 1\n", true},
		{"no final newline", "example.com/log\n7\n" + root, false},
		{"missing root", "example.com/log\n7\n", false},
		{"empty origin", "\n7\n" + root + "\n", false},
		{"leading zero in size", "example.com/log\n07\n" + root + "\n", false},
		{"negative size", "example.com/log\n-7\n" + root + "\n", false},
		{"size overflows", "example.com/log\n18446744073709551616\n" + root + "\n", false},
		{"short root", "example.com/log\n7\nAAAA\n", false},
		{"root not base64", "example.com/log\n7\n" + strings.Repeat("!", 44) + "\n", false},
		{"empty extension line", "example.com/log\n7\n" + root + "\n\n", false},
		{"CRLF", "example.com/log\r\n7\r\n" + root + "\r\n", false},
	} {
		c, err := audit.ParseCheckpoint([]byte(tc.body))
		if !tc.ok {
			assert.ErrorIs(t, err, audit.ErrMalformedCheckpoint, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		again, err := c.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, tc.body, string(again), "%s: formatting is the inverse of parsing", tc.name)
	}
}

func TestVerifyCheckpointBadInput(t *testing.T) {
	t.Parallel()
	k := audittest.NewKeys(t, "audit.example.com/cp")
	good, err := audit.SignCheckpoint(audit.Checkpoint{Origin: "audit.example.com/cp", Size: 3, Root: audit.EmptyRoot}, k.Signer)
	require.NoError(t, err)
	_, err = audit.VerifyCheckpoint(good, "", k.Verifier)
	require.NoError(t, err)
	// A note whose body is not a checkpoint, correctly signed.
	notCP, err := note.Sign(&note.Note{Text: "hello\n"}, k.Signer)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, audit.ErrMalformedCheckpoint},
		{"garbage", []byte("not a note"), audit.ErrMalformedCheckpoint},
		{"signature removed", good[:bytes.Index(good, []byte("\n\n"))+2], audit.ErrMalformedCheckpoint},
		{"signed body that is not a checkpoint", notCP, audit.ErrMalformedCheckpoint},
		{"size edited", bytes.Replace(good, []byte("\n3\n"), []byte("\n4\n"), 1), audit.ErrCheckpointSignature},
	} {
		_, err := audit.VerifyCheckpoint(tc.msg, "", k.Verifier)
		assert.ErrorIs(t, err, tc.want, tc.name)
	}
	_, err = audit.VerifyCheckpoint(good, "", nil)
	assert.Error(t, err, "a nil verifier")
}

// FuzzParseCheckpoint: no panic, and whatever parses formats back to the
// same bytes.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("example.com/log\n7\n3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=\n"))
	f.Add([]byte("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := audit.ParseCheckpoint(body)
		if err != nil {
			if !errors.Is(err, audit.ErrMalformedCheckpoint) {
				t.Fatalf("error does not wrap ErrMalformedCheckpoint: %v", err)
			}
			return
		}
		again, err := c.MarshalText()
		if err != nil {
			t.Fatalf("a parsed checkpoint does not format: %v", err)
		}
		if !bytes.Equal(again, body) {
			t.Fatalf("format(parse(%q)) = %q", body, again)
		}
	})
}

// FuzzVerifyCheckpoint: signed notes from anywhere never panic the
// verifier, and only the key's own signatures pass.
func FuzzVerifyCheckpoint(f *testing.F) {
	skey := "PRIVATE+KEY+example.com/audit-test+b256ea33+Af+HsTdy3teJi4VmhIWzNvqsLB1dpcEVLLCA847cKs38"
	vkey := "example.com/audit-test+b256ea33+AYAQOlK+NMeNuYKMpP12fU/pbLAyaVdBu2P13xDH0mRN"
	s, err := note.NewSigner(skey)
	if err != nil {
		f.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := audit.SignCheckpoint(audit.Checkpoint{Origin: "example.com/audit-test", Size: 8, Root: audit.EmptyRoot}, s)
	f.Add(good)
	f.Add([]byte("example.com/audit-test\n1\n\n— x y\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := audit.VerifyCheckpoint(msg, "", v)
		if err == nil && c.Origin != "example.com/audit-test" {
			t.Fatal("accepted a checkpoint of another origin")
		}
	})
}
