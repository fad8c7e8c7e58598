// Package sandboxtest checks that an [sandbox.Engine] keeps the engine
// contract, the way testing/fstest checks an fs.FS, and provides an
// in-memory [sandbox.Files] for tests of code that uses a sandbox.
//
// Only tests import it.
package sandboxtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace/sandbox"
)

// Run checks the engine newEngine returns against the [sandbox.Engine]
// contract. The sandbox must provide a POSIX /bin/sh; the suite runs shell
// commands only. If the engine's Check reports [sandbox.ErrUnavailable],
// Run skips, saying why.
func Run(t *testing.T, newEngine func(t *testing.T) sandbox.Engine) {
	t.Helper()
	e := newEngine(t)
	if err := e.Check(context.Background()); err != nil {
		if assert.ErrorIs(t, err, sandbox.ErrUnavailable, "Check fails only with ErrUnavailable") {
			t.Skipf("engine unavailable here: %v", err)
		}
		return
	}
	lim := sandbox.DefaultLimits()
	lim.Timeout = 20 * time.Second
	job := func(script string) *sandbox.Job {
		return &sandbox.Job{Argv: []string{"/bin/sh", "-c", script}, Env: []string{}, Limits: lim}
	}

	t.Run("ExitStatus", func(t *testing.T) {
		t.Parallel()
		ex, _, _ := exec(t, e, job("exit 7"))
		assert.Equal(t, 7, ex.Code, "the command's exit status")
		assert.Zero(t, ex.Signal)
		assert.False(t, ex.Killed)
	})
	t.Run("Signal", func(t *testing.T) {
		t.Parallel()
		ex, _, _ := exec(t, e, job("kill -SEGV $$"))
		assert.Equal(t, -1, ex.Code, "no exit status after a signal")
		assert.Equal(t, syscall.SIGSEGV, ex.Signal)
	})
	t.Run("StreamsAndEnv", func(t *testing.T) {
		t.Parallel()
		j := job(`echo "out $A ${HOSTVAR-unset} $1"; echo err >&2; cat`)
		j.Argv = append(j.Argv, "sh", "arg1")
		j.Env = []string{"A=b"}
		j.Stdin = strings.NewReader("from stdin\n")
		ex, out, errOut := exec(t, e, j)
		assert.Equal(t, 0, ex.Code)
		assert.Equal(t, "out b unset arg1\nfrom stdin\n", out, "argv, exactly Env, and stdin reach the command")
		assert.Equal(t, "err\n", errOut)
	})
	t.Run("FilesAndCollect", func(t *testing.T) {
		t.Parallel()
		j := job(`cat /work/in/a.csv /work/in/sub/b.txt > /work/out/joined.txt && echo x > /work/out/second`)
		j.Files = []sandbox.File{
			{Path: sandbox.InputDir + "/a.csv", Content: strings.NewReader("1,2\n")},
			{Path: sandbox.InputDir + "/sub/b.txt", Content: strings.NewReader("three\n")},
		}
		var mu sync.Mutex
		got := map[string]string{}
		j.Collect = func(name string, size int64, r io.Reader) error {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			assert.Equal(t, size, int64(len(b)), "size matches the content")
			mu.Lock()
			got[name] = string(b)
			mu.Unlock()
			return nil
		}
		ex, _, errOut := exec(t, e, j)
		require.Equal(t, 0, ex.Code, "stderr: %s", errOut)
		assert.Equal(t, map[string]string{"joined.txt": "1,2\nthree\n", "second": "x\n"}, got, "files placed; outputs collected")
	})
	t.Run("NoCollectOnFailure", func(t *testing.T) {
		t.Parallel()
		j := job(`echo x > /work/out/partial; exit 1`)
		j.Collect = func(string, int64, io.Reader) error {
			t.Error("Collect called for a command that failed")
			return nil
		}
		ex, _, _ := exec(t, e, j)
		assert.Equal(t, 1, ex.Code)
	})
	t.Run("CollectError", func(t *testing.T) {
		t.Parallel()
		j := job(`echo x > /work/out/a`)
		boom := fmt.Errorf("sandboxtest: write refused")
		j.Collect = func(string, int64, io.Reader) error { return boom }
		_, err := e.Exec(context.Background(), j)
		assert.ErrorIs(t, err, boom, "Collect's error is Exec's")
	})
	t.Run("CancelKills", func(t *testing.T) {
		t.Parallel()
		j := job(`read x; echo never`)
		pr, pw := io.Pipe() // stdin that never ends
		defer pw.Close()
		j.Stdin = pr
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		ex, out, _ := execCtx(ctx, t, e, j)
		assert.True(t, ex.Killed, "a done ctx kills the sandbox")
		assert.Empty(t, out)
		assert.Less(t, time.Since(start), 10*time.Second, "killed promptly")
	})
	t.Run("CPULimit", func(t *testing.T) {
		t.Parallel()
		j := job(`while :; do :; done`)
		j.Limits.CPU = time.Second
		ex, _, _ := exec(t, e, j)
		assert.Contains(t, []syscall.Signal{syscall.Signal(24), syscall.SIGKILL}, ex.Signal, "stopped by RLIMIT_CPU (SIGXCPU or SIGKILL)")
		assert.False(t, ex.Killed, "the engine's limit, not ctx, stopped it")
	})
	t.Run("ScratchIsBounded", func(t *testing.T) {
		t.Parallel()
		j := job(`i=0; while [ $i -lt 64 ]; do cat /work/in/blob >> /work/tmp/big || exit 3; i=$((i+1)); done`)
		j.Limits.Scratch = 2 << 20
		j.Files = []sandbox.File{{Path: sandbox.InputDir + "/blob", Content: bytes.NewReader(make([]byte, 256<<10))}}
		ex, _, errOut := exec(t, e, j)
		assert.Equal(t, 3, ex.Code, "writing 16 MiB into 2 MiB of scratch fails: %s", errOut)
	})
	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				j := job(`cat /work/in/me`)
				me := fmt.Sprintf("run %d\n", i)
				j.Files = []sandbox.File{{Path: sandbox.InputDir + "/me", Content: strings.NewReader(me)}}
				_, out, _ := exec(t, e, j)
				assert.Equal(t, me, out, "each run sees its own files")
			})
		}
		wg.Wait()
	})
}

func exec(t *testing.T, e sandbox.Engine, j *sandbox.Job) (*sandbox.Exit, string, string) {
	t.Helper()
	return execCtx(context.Background(), t, e, j)
}

func execCtx(ctx context.Context, t *testing.T, e sandbox.Engine, j *sandbox.Job) (*sandbox.Exit, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	j.Stdout, j.Stderr = &out, &errOut
	ex, err := e.Exec(ctx, j)
	require.NoError(t, err)
	require.NotNil(t, ex)
	return ex, out.String(), errOut.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// MemFiles is an in-memory [sandbox.Files]: one user's workspace. It is safe
// for concurrent use. Open of a missing name returns an error matching
// fs.ErrNotExist.
type MemFiles struct {
	user string
	mu   sync.Mutex
	m    map[string][]byte
}

var _ sandbox.Files = (*MemFiles)(nil)

// NewMemFiles returns a MemFiles of user holding files (name to content).
func NewMemFiles(user string, files map[string]string) *MemFiles {
	f := &MemFiles{user: user, m: map[string][]byte{}}
	for k, v := range files {
		f.m[k] = []byte(v)
	}
	return f
}

// User returns the user's pseudonym.
func (f *MemFiles) User() string { return f.user }

// Open returns the named file's content.
func (f *MemFiles) Open(_ context.Context, name string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.m[name]
	if !ok {
		return nil, fmt.Errorf("sandboxtest: open: %w", fs.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Create stores r's content under name, or nothing if reading r fails.
func (f *MemFiles) Create(_ context.Context, name string, r io.Reader) (fs.FileInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[name] = b
	return nil, nil
}

// Get returns the named file's content and whether it exists.
func (f *MemFiles) Get(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.m[name]
	return string(b), ok
}

// Names returns the names of all files, sorted.
func (f *MemFiles) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.m))
	for k := range f.m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
