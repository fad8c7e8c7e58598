package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace/sandbox"
	"github.com/inferlabs/privkit/workspace/sandbox/sandboxtest"
)

func TestRunCanceled(t *testing.T) {
	t.Parallel()
	s, a := newTestSandbox(t)
	m := marker(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := s.Run(ctx, newMemFiles("u_cancel", nil), sandbox.Spec{
		Argv: []string{"/usr/bin/python3", "-c", "import time; time.sleep(3600)", m},
	})
	require.ErrorIs(t, err, context.Canceled, "the caller's cancellation is an error, not a limit")
	assert.Nil(t, res)
	assert.Less(t, time.Since(start), 5*time.Second)
	assertNoProcess(t, m)
	ev := a.all()
	require.Len(t, ev, 1, "a canceled run is audited")
	reason, _ := attr(ev[0], "error")
	assert.Equal(t, "canceled", reason)
}

// failingFiles serves inputs whose content fails after a few bytes, as a
// ciphertext that does not authenticate would.
type failingFiles struct{ *sandboxtest.MemFiles }

var errDecrypt = errors.New("test: message authentication failed")

func (f failingFiles) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return io.NopCloser(io.MultiReader(strings.NewReader("partial,row\n"), errReader{})), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errDecrypt }

func TestRunInputReadFails(t *testing.T) {
	t.Parallel()
	s, _ := newTestSandbox(t)
	files := failingFiles{newMemFiles("u_fail", map[string]string{"a.csv": "x"})}
	res, err := s.Run(context.Background(), files, sandbox.Spec{
		Code:    []byte("open('/work/out/r.txt','w').write(open('/work/in/a.csv').read())\n"),
		Inputs:  []string{"a.csv"},
		Outputs: []string{"*"},
	})
	require.ErrorIs(t, err, errDecrypt, "a truncated input fails the run instead of feeding the code half a file")
	assert.Nil(t, res)
	_, ok := files.Get("r.txt")
	assert.False(t, ok, "nothing was written back")
}

// quotaFiles refuses every write, as a full workspace would.
type quotaFiles struct{ *sandboxtest.MemFiles }

var errQuota = errors.New("test: quota exceeded")

func (quotaFiles) Create(context.Context, string, io.Reader) (fs.FileInfo, error) {
	return nil, errQuota
}

func TestRunOutputWriteFails(t *testing.T) {
	t.Parallel()
	s, _ := newTestSandbox(t)
	_, err := s.Run(context.Background(), quotaFiles{newMemFiles("u_quota", nil)}, sandbox.Spec{
		Code:    []byte("open('/work/out/r.txt','w').write('x')\n"),
		Outputs: []string{"*.txt"},
	})
	require.ErrorIs(t, err, errQuota, "a failed write-back is the run's error")
}

func TestRunConcurrentUsers(t *testing.T) {
	t.Parallel()
	s, a := newTestSandbox(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			user := fmt.Sprintf("u_c%d", i)
			files := newMemFiles(user, map[string]string{"in.txt": user})
			res, err := s.Run(context.Background(), files, sandbox.Spec{
				Code:    []byte("import os\nprint(os.listdir('/work/in'), open('/work/in/in.txt').read())\nopen('/work/out/o.txt','w').write('done')\n"),
				Inputs:  []string{"in.txt"},
				Outputs: []string{"o.txt"},
			})
			if assert.NoError(t, err) {
				assert.Equal(t, fmt.Sprintf("['in.txt'] %s\n", user), string(res.Stdout), "each run sees its own input only")
				out, _ := files.Get("o.txt")
				assert.Equal(t, "done", out)
			}
		})
	}
	wg.Wait()
	assert.Len(t, a.all(), 4, "one event per run")
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	s := sandbox.New(nil, nil) // bubblewrap, default limits, no auditor
	require.NoError(t, s.Check(context.Background()))
	res, err := s.Run(context.Background(), newMemFiles("u_def", nil), sandbox.Spec{Stdin: strings.NewReader("print(6*7)")})
	require.NoError(t, err)
	assert.Equal(t, "42\n", string(res.Stdout), "nil Argv and Code: python3 reads the program from stdin")
}

func TestRunStdinNeverEnds(t *testing.T) {
	t.Parallel()
	s, _ := newTestSandbox(t)
	pr, pw := io.Pipe() // a client that never sends the rest
	defer pw.Close()
	start := time.Now()
	res, err := s.Run(context.Background(), newMemFiles("u_stdin", nil), sandbox.Spec{
		Argv:   []string{"/usr/bin/python3", "-c", "import sys; sys.stdin.read()"},
		Stdin:  pr,
		Limits: sandbox.Limits{Timeout: 500 * time.Millisecond},
	})
	require.NoError(t, err)
	assert.Equal(t, sandbox.LimitTimeout, res.LimitHit, "a stdin that never ends is stopped by the timeout")
	assert.Less(t, time.Since(start), 5*time.Second, "Run does not wait for the stuck reader")
}

func TestRunLimitBeyondHost(t *testing.T) {
	t.Parallel()
	s, _ := newTestSandbox(t)
	// More open files than the kernel allows any process (fs.nr_open).
	_, err := s.Run(context.Background(), newMemFiles("u_lim", nil), sandbox.Spec{
		Code:   []byte("print('never')"),
		Limits: sandbox.Limits{Files: 1 << 30},
	})
	var se *sandbox.SetupError
	require.ErrorAs(t, err, &se, "a limit the host cannot grant fails the run before the command starts")
	assert.Contains(t, string(se.Stderr), "ulimit")
	assert.NotErrorIs(t, err, sandbox.ErrUnavailable, "the host can run sandboxes; this spec asked too much")
}
