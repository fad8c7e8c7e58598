package sandbox_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/sandbox"
)

// A workspace is the Files a sandbox runs over.
var _ sandbox.Files = (*workspace.Workspace)(nil)

// newWorkspaceManager returns a manager over an encrypting keyring in a
// temporary root, and the root.
func newWorkspaceManager(t *testing.T) (*workspace.Manager, string) {
	t.Helper()
	kek, err := encryption.GenerateLocalKEK()
	require.NoError(t, err)
	kr, err := encryption.NewKeyring(encryption.NewMemoryKeyStore(), kek, nil)
	require.NoError(t, err)
	root := t.TempDir()
	m, err := workspace.New(context.Background(), root, kr, workspace.NewMemoryStore(), &workspace.Options{JanitorInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m, root
}

// TestRunOverRealWorkspace runs a summary over an uploaded CSV in a real,
// encrypted workspace: the input is decrypted into the sandbox, the output
// is encrypted back, and no plaintext of either is on disk.
func TestRunOverRealWorkspace(t *testing.T) {
	t.Parallel()
	s, a := newTestSandbox(t)
	m, root := newWorkspaceManager(t)
	ctx := context.Background()
	ws, err := m.Open(ctx, "u_real")
	require.NoError(t, err)
	other, err := m.Open(ctx, "u_other")
	require.NoError(t, err)

	const csv = "patient,glucose\nalice-7f3e,5.4\nbob-19ac,6.1\n"
	_, err = ws.Create(ctx, "labs.csv", strings.NewReader(csv))
	require.NoError(t, err)
	_, err = other.Create(ctx, "theirs.csv", strings.NewReader("other-user-row-5c1d\n"))
	require.NoError(t, err)

	code := `
import csv, glob, os
assert not os.path.exists(` + "\"" + root + "\"" + `), "the workspace root is not visible"
rows = list(csv.DictReader(open("/work/in/labs.csv")))
mean = sum(float(r["glucose"]) for r in rows) / len(rows)
open("/work/out/summary.txt", "w").write(f"n={len(rows)} mean-glucose={mean:.2f}\n")
print(glob.glob("/work/in/*"))
`
	res, err := s.Run(ctx, ws, sandbox.Spec{Code: []byte(code), Inputs: []string{"labs.csv"}, Outputs: []string{"summary.txt"}})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	assert.Equal(t, "['/work/in/labs.csv']\n", string(res.Stdout), "only this run's input is visible")
	require.Equal(t, []sandbox.Output{{Name: "summary.txt", Size: 22}}, res.Outputs)

	r, err := ws.Open(ctx, "summary.txt")
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	r.Close()
	require.NoError(t, err)
	assert.Equal(t, "n=2 mean-glucose=5.75\n", string(got), "the output was written back and decrypts")

	// No plaintext under the workspace root: input, output, other user's file.
	for _, secret := range []string{"alice-7f3e", "mean-glucose", "other-user-row-5c1d"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			assert.False(t, bytes.Contains(b, []byte(secret)), "%s holds plaintext %q", p, secret)
			return nil
		})
		require.NoError(t, err)
	}
	assert.Equal(t, "u_real", a.all()[0].Subject)

	// Another user's file is not this workspace's: rejected before running.
	_, err = s.Run(ctx, ws, sandbox.Spec{Code: []byte("pass"), Inputs: []string{"theirs.csv"}})
	require.ErrorIs(t, err, sandbox.ErrBadInput)
	require.ErrorIs(t, err, workspace.ErrNotFound, "the workspace's own error is kept")
}

// TestPlaintextStaysInMemory looks for a run's decrypted input on the
// host's disk while the run holds it: in the workspace root and in the
// host's temporary directory. The sandbox's tmpfs lives in its own mount
// namespace, so neither holds it.
func TestPlaintextStaysInMemory(t *testing.T) {
	t.Parallel()
	s, _ := newTestSandbox(t)
	m, root := newWorkspaceManager(t)
	ctx := context.Background()
	ws, err := m.Open(ctx, "u_mem")
	require.NoError(t, err)
	secret := marker(t)
	_, err = ws.Create(ctx, "secret.txt", strings.NewReader(secret))
	require.NoError(t, err)

	done := make(chan *sandbox.Result, 1)
	go func() {
		res, err := s.Run(ctx, ws, sandbox.Spec{
			Code:   []byte("import time\ns = open('/work/in/secret.txt').read()\nopen('/work/tmp/copy', 'w').write(s * 2)\nprint('ready', flush=True)\ntime.sleep(1.5)\n"),
			Inputs: []string{"secret.txt"},
		})
		assert.NoError(t, err)
		done <- res
	}()
	time.Sleep(800 * time.Millisecond) // the run holds the plaintext now
	for _, dir := range []string{root, os.TempDir()} {
		scanned := 0
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || scanned > 20000 {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				scanned++
				if fi, err := d.Info(); err == nil && fi.Size() < 1<<20 {
					if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(secret)) {
						t.Errorf("plaintext of the input found on disk at %s", p)
					}
				}
			}
			return nil
		})
	}
	res := <-done
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	assert.Equal(t, "ready\n", string(res.Stdout), "the run did hold the plaintext during the scan")
}
