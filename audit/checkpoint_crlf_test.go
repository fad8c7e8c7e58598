package audit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/inferlabs/privkit/audit"
)

// A root line with a carriage return decodes under encoding/base64 (which
// skips line breaks) but is not the canonical text: it must be refused.
func TestParseCheckpointRejectsCarriageReturnInRoot(t *testing.T) {
	root := strings.Repeat("A", 43) + "="
	good := "example.com/log\n7\n" + root + "\n"
	if _, err := audit.ParseCheckpoint([]byte(good)); err != nil {
		t.Fatalf("canonical checkpoint refused: %v", err)
	}
	bad := "example.com/log\n7\n" + root[:20] + "\r" + root[20:] + "\n"
	if _, err := audit.ParseCheckpoint([]byte(bad)); !errors.Is(err, audit.ErrMalformedCheckpoint) {
		t.Fatalf("root with a carriage return: got %v, want ErrMalformedCheckpoint", err)
	}
}
