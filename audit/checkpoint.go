package audit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size and the RFC 6962 root hash of the tree of that size.
type Checkpoint struct {
	// Origin names the log, conventionally a schema-less URL such as
	// "audit.example.com/prod". It is the first line of the body.
	Origin string
	// Size is the number of entries the checkpoint commits to.
	Size uint64
	// Root is the RFC 6962 root hash of the first Size entries.
	Root tlog.Hash
	// Extensions are optional further lines, without their newlines.
	// privkit writes none and ignores those it reads.
	Extensions []string
}

// ErrMalformedCheckpoint reports bytes that are not a tlog-checkpoint body.
var ErrMalformedCheckpoint = errors.New("audit: malformed checkpoint")

// ErrCheckpointSignature reports a checkpoint note that does not carry a
// valid signature by the expected key: forged, altered, or signed by
// another log's key.
var ErrCheckpointSignature = errors.New("audit: checkpoint not signed by the expected key")

// ErrCheckpointOrigin reports a correctly signed checkpoint of another log.
var ErrCheckpointOrigin = errors.New("audit: checkpoint is for another log")

// MarshalText returns the checkpoint body: "<origin>\n<size>\n<base64
// root>\n" followed by any extension lines. It fails if the origin or an
// extension is empty or holds a newline.
func (c Checkpoint) MarshalText() ([]byte, error) {
	if c.Origin == "" || strings.ContainsAny(c.Origin, "\n") {
		return nil, fmt.Errorf("%w: origin must be one non-empty line", ErrMalformedCheckpoint)
	}
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root[:]))
	b.WriteByte('\n')
	for _, x := range c.Extensions {
		if x == "" || strings.Contains(x, "\n") {
			return nil, fmt.Errorf("%w: extension must be one non-empty line", ErrMalformedCheckpoint)
		}
		b.WriteString(x)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// ParseCheckpoint parses a tlog-checkpoint body (the text of a note, not
// the signed note itself: see [VerifyCheckpoint]). The size must be a
// decimal without leading zeros and the root exactly 32 bytes in standard
// base64.
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	var c Checkpoint
	text := string(body)
	if !strings.HasSuffix(text, "\n") {
		return c, fmt.Errorf("%w: does not end in a newline", ErrMalformedCheckpoint)
	}
	lines := strings.Split(text[:len(text)-1], "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("%w: fewer than three lines", ErrMalformedCheckpoint)
	}
	if lines[0] == "" || !utf8Printable(lines[0]) {
		return c, fmt.Errorf("%w: bad origin line", ErrMalformedCheckpoint)
	}
	c.Origin = lines[0]
	n, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: bad size line", ErrMalformedCheckpoint)
	}
	c.Size = n
	// encoding/base64 skips '\r' even in strict mode: insist on the
	// canonical text by encoding the result again.
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != len(c.Root) || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return Checkpoint{}, fmt.Errorf("%w: bad root hash line", ErrMalformedCheckpoint)
	}
	copy(c.Root[:], root)
	for _, x := range lines[3:] {
		if x == "" {
			return Checkpoint{}, fmt.Errorf("%w: empty extension line", ErrMalformedCheckpoint)
		}
		c.Extensions = append(c.Extensions, x)
	}
	return c, nil
}

func utf8Printable(s string) bool {
	return checkText(s, len(s)) == ""
}

// SignCheckpoint formats c and signs it as a C2SP signed note.
func SignCheckpoint(c Checkpoint, signer note.Signer) ([]byte, error) {
	body, err := c.MarshalText()
	if err != nil {
		return nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(body)}, signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return msg, nil
}

// VerifyCheckpoint opens a signed checkpoint note, checks that verifier
// signed it and that its origin is origin (or, if origin is empty, the
// verifier's name, the convention [Open] follows), and parses its body.
// A forged or altered note, or one signed by another key, yields an error
// wrapping [ErrCheckpointSignature]; another log's checkpoint
// [ErrCheckpointOrigin].
func VerifyCheckpoint(msg []byte, origin string, verifier note.Verifier) (Checkpoint, error) {
	if verifier == nil {
		return Checkpoint{}, errors.New("audit: VerifyCheckpoint needs a verifier")
	}
	if origin == "" {
		origin = verifier.Name()
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil && err.Error() == "malformed note" { // x/mod keeps this sentinel unexported
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrMalformedCheckpoint, err)
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrCheckpointSignature, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, ErrCheckpointOrigin
	}
	return c, nil
}
