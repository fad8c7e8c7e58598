//go:build unix

package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace/sandbox"
)

// fakeBwrap writes a script that stands in for bwrap: it prints msg to
// stderr and exits with status 1, as bwrap does when setup fails.
func fakeBwrap(t *testing.T, msg string) string {
	t.Helper()
	dir := t.TempDir()
	// bwrap runs as nobody when the tests run as root: let it in.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	p := filepath.Join(dir, "bwrap")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\ncat >&2 <<'EOF'\n"+msg+"\nEOF\nexit 1\n"), 0o755))
	return p
}

func TestBubblewrapSetupFailures(t *testing.T) {
	// Not parallel, and every script written before any runs: a script
	// still open for writing in one goroutine while another forks fails to
	// execute with ETXTBSY.
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh to stand in for bwrap")
	}
	tests := []struct {
		name        string
		msg         string
		unavailable bool
		limit       sandbox.LimitKind
		why         string
	}{
		{"no userns", "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.", true, 0, "a host without user namespaces cannot run the sandbox"},
		{"uid map", "bwrap: setting up uid map: Permission denied", true, 0, "a refused uid map is the same"},
		{"old bwrap", "bwrap: Unknown option --disable-userns", true, 0, "bwrap before 0.8.0 lacks options we need"},
		{"scratch full", "bwrap: Can't write data to file /work/in/big.csv: No space left on device", false, sandbox.LimitScratch, "inputs larger than scratch are a limit, not an error"},
		{"loopback", "bwrap: loopback: Failed RTM_NEWADDR: Operation not permitted", true, 0, "a container that forbids configuring the network namespace"},
		{"wrapper", "sh: 1: ulimit: error setting limit (Operation not permitted)", false, 0, "not bwrap's message: a setup error, not an unavailable host"},
		{"other", "bwrap: Can't mount proc on /newroot/proc: Device or resource busy", false, 0, "anything else is a setup error"},
	}
	paths := make([]string, len(tests))
	for i, tt := range tests {
		paths[i] = fakeBwrap(t, tt.msg)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sandbox.New(&sandbox.Bubblewrap{Path: paths[i]}, nil)
			res, err := s.Run(context.Background(), newMemFiles("u", nil), sandbox.Spec{Code: []byte("pass")})
			switch {
			case tt.unavailable:
				require.ErrorIs(t, err, sandbox.ErrUnavailable, tt.why)
				assert.NotContains(t, err.Error(), "/work/in", "no file name in the error")
			case tt.limit != sandbox.LimitNone:
				require.NoError(t, err, tt.why)
				assert.Equal(t, tt.limit, res.LimitHit, tt.why)
			default:
				var se *sandbox.SetupError
				require.ErrorAs(t, err, &se, tt.why)
				assert.Equal(t, 1, se.Status)
				assert.Contains(t, string(se.Stderr), tt.msg[len(tt.msg)-10:], "the message is kept for the operator")
				assert.NotContains(t, err.Error(), "newroot", "but not in the error text")
			}
		})
	}
}
