package sandbox_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/workspace/sandbox"
)

func TestRunHello(t *testing.T) {
	t.Parallel()
	s, a := newTestSandbox(t)
	code := []byte("import os\nprint('hello', os.getuid(), os.getcwd())\n")
	res, err := s.Run(context.Background(), newMemFiles("u_1", nil), sandbox.Spec{Code: code})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	assert.Equal(t, "hello 65534 /work\n", string(res.Stdout), "code runs as nobody in the scratch dir")
	assert.Equal(t, sandbox.LimitNone, res.LimitHit)
	assert.Positive(t, res.Usage.Wall, "wall time is measured")
	assert.Positive(t, res.Usage.User+res.Usage.System, "CPU time of the sandbox's processes is measured")
	assert.Positive(t, res.Usage.MaxRSS, "max RSS is measured")

	ev := a.all()
	require.Len(t, ev, 1, "one audit event per run")
	e := ev[0]
	assert.Equal(t, "sandbox.run", e.Action)
	assert.Equal(t, "u_1", e.Subject)
	assert.Equal(t, audit.Success, e.Outcome)
	h, _ := attr(e, "code_sha256")
	assert.Equal(t, sandbox.CodeHash(&sandbox.Spec{Code: code}), h)
	assert.Len(t, h, 64)
	lim, _ := attr(e, "limit")
	assert.Equal(t, "none", lim)
	for _, at := range e.Attrs {
		assert.NotContains(t, at.Value(), "print", "the code's text is never recorded")
	}
}

func TestRunInputsOutputs(t *testing.T) {
	t.Parallel()
	s, a := newTestSandbox(t)
	files := newMemFiles("u_2", map[string]string{
		"sales.csv":       "region,amount\nnorth,10\nsouth,32\n",
		"nested/notes.md": "# notes\n",
	})
	code := `
import csv, os
rows = list(csv.DictReader(open("/work/in/sales.csv")))
total = sum(int(r["amount"]) for r in rows)
os.makedirs("/work/out/charts", exist_ok=True)
open("/work/out/summary.txt", "w").write(f"rows={len(rows)} total={total}\n")
open("/work/out/charts/a.svg", "w").write("<svg/>")
open("/work/out/ignored.log", "w").write("not collected")
print(open("/work/in/nested/notes.md").read().strip())
`
	res, err := s.Run(context.Background(), files, sandbox.Spec{
		Code:    []byte(code),
		Inputs:  []string{"sales.csv", "nested/notes.md"},
		Outputs: []string{"*.txt", "charts/*.svg"},
	})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	assert.Equal(t, "# notes\n", string(res.Stdout), "nested input names work")
	got, ok := files.Get("summary.txt")
	require.True(t, ok, "summary.txt was written back")
	assert.Equal(t, "rows=2 total=42\n", got)
	svg, ok := files.Get("charts/a.svg")
	require.True(t, ok, "nested outputs are collected")
	assert.Equal(t, "<svg/>", svg)
	_, ok = files.Get("ignored.log")
	assert.False(t, ok, "files matching no pattern are not written back")
	assert.ElementsMatch(t, []sandbox.Output{{Name: "summary.txt", Size: 16}, {Name: "charts/a.svg", Size: 6}}, res.Outputs)
	outputs, _ := attr(a.all()[0], "outputs")
	assert.Equal(t, "2", outputs)
}

func TestRunFailedCommandCollectsNothing(t *testing.T) {
	t.Parallel()
	s, a := newTestSandbox(t)
	files := newMemFiles("u_3", nil)
	res, err := s.Run(context.Background(), files, sandbox.Spec{
		Code:    []byte("open('/work/out/partial.txt','w').write('x')\nraise SystemExit(3)\n"),
		Outputs: []string{"*"},
	})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, sandbox.LimitNone, res.LimitHit)
	assert.Empty(t, res.Outputs, "outputs of a failed command are not collected")
	_, ok := files.Get("partial.txt")
	assert.False(t, ok)
	assert.Equal(t, audit.Error, a.all()[0].Outcome, "a non-zero exit is audited as an error")
}

func TestRunStdinArgvEnv(t *testing.T) {
	// Not parallel: t.Setenv.
	s, _ := newTestSandbox(t)
	t.Setenv("PRIVKIT_HOST_SECRET", "hunter2") // must not leak into the sandbox
	res, err := s.Run(context.Background(), newMemFiles("u_4", nil), sandbox.Spec{
		Stdin: strings.NewReader("import os, sys\nprint(sorted(os.environ))\n"),
	})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	assert.NotContains(t, string(res.Stdout), "PRIVKIT_HOST_SECRET", "the host environment is not inherited")
	assert.Contains(t, string(res.Stdout), "TMPDIR", "DefaultEnv applies")

	res, err = s.Run(context.Background(), newMemFiles("u_4", nil), sandbox.Spec{
		Argv: []string{"/usr/bin/python3", "-c", "import os,sys; print(sys.argv[1:], [k for k in os.environ if k != 'LC_CTYPE']); print(sys.stdin.read())", "x", "y"},
		// python3 sets LC_CTYPE itself when the locale is C (PEP 538).
		Env:   []string{"A=b"},
		Stdin: strings.NewReader("from stdin"),
	})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	assert.Equal(t, "['x', 'y'] ['A']\nfrom stdin\n", string(res.Stdout), "argv, an explicit env and stdin reach the command exactly")
}

func TestRunExitBySignal(t *testing.T) {
	t.Parallel()
	s, a := newTestSandbox(t)
	res, err := s.Run(context.Background(), newMemFiles("u_5", nil), sandbox.Spec{
		Code: []byte("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"),
	})
	require.NoError(t, err)
	assert.Equal(t, -1, res.ExitCode)
	assert.Equal(t, syscall.SIGSEGV, res.Signal, "death by signal is reported as the signal")
	assert.Equal(t, sandbox.LimitNone, res.LimitHit)
	sig, _ := attr(a.all()[0], "signal")
	assert.Equal(t, "11", sig)
}

// recordingEngine fails the test if the sandbox runs anything.
type recordingEngine struct{ t *testing.T }

func (e recordingEngine) Check(context.Context) error { return nil }
func (e recordingEngine) Exec(context.Context, *sandbox.Job) (*sandbox.Exit, error) {
	e.t.Error("Exec called for a spec that should have been rejected")
	return &sandbox.Exit{}, nil
}

func TestRunRejectsBeforeRunning(t *testing.T) {
	t.Parallel()
	files := newMemFiles("u_6", map[string]string{"a.csv": "x"})
	tests := []struct {
		name string
		spec sandbox.Spec
		want error
		why  string
	}{
		{"missing input", sandbox.Spec{Inputs: []string{"a.csv", "nope.csv"}}, sandbox.ErrBadInput, "names that are not workspace files are rejected"},
		{"dot-dot input", sandbox.Spec{Inputs: []string{"../other/a.csv"}}, sandbox.ErrBadInput, "no escaping the workspace by name"},
		{"absolute input", sandbox.Spec{Inputs: []string{"/etc/passwd"}}, sandbox.ErrBadInput, "inputs are workspace names, not host paths"},
		{"empty input", sandbox.Spec{Inputs: []string{""}}, sandbox.ErrBadInput, "empty name"},
		{"duplicate input", sandbox.Spec{Inputs: []string{"a.csv", "a.csv"}}, sandbox.ErrBadSpec, "one file per name"},
		{"nested input", sandbox.Spec{Inputs: []string{"a.csv/x", "a.csv"}}, sandbox.ErrBadSpec, "a file cannot also be a directory"},
		{"relative argv", sandbox.Spec{Argv: []string{"python3"}}, sandbox.ErrBadSpec, "no PATH lookup: the command is explicit"},
		{"bad env", sandbox.Spec{Env: []string{"NOEQUALS"}}, sandbox.ErrBadSpec, "environment entries are KEY=value"},
		{"bad pattern", sandbox.Spec{Outputs: []string{"["}}, sandbox.ErrBadSpec, "output patterns must parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &memAuditor{}
			s := sandbox.New(recordingEngine{t}, &sandbox.Options{Auditor: a})
			res, err := s.Run(context.Background(), files, tt.spec)
			require.ErrorIs(t, err, tt.want, tt.why)
			assert.Nil(t, res)
			assert.True(t, strings.HasPrefix(err.Error(), "sandbox: "), "error %q has the package prefix", err)
			assert.NotContains(t, err.Error(), "nope.csv", "errors carry no file names")
			ev := a.all()
			require.Len(t, ev, 1, "a rejected run is audited too")
			assert.Equal(t, audit.Denied, ev[0].Outcome)
		})
	}
}

func TestRunNilFiles(t *testing.T) {
	t.Parallel()
	_, err := sandbox.New(recordingEngine{t}, nil).Run(context.Background(), nil, sandbox.Spec{})
	require.ErrorIs(t, err, sandbox.ErrBadSpec)
}

func TestRunAuditFailure(t *testing.T) {
	t.Parallel()
	a := &memAuditor{err: os.ErrClosed}
	s := sandbox.New(recordingEngine{t}, &sandbox.Options{Auditor: a})
	_, err := s.Run(context.Background(), newMemFiles("u", nil), sandbox.Spec{Inputs: []string{"missing"}})
	require.ErrorIs(t, err, sandbox.ErrBadInput, "the run's own error wins")

	s = sandbox.New(okEngine{}, &sandbox.Options{Auditor: a})
	res, err := s.Run(context.Background(), newMemFiles("u", nil), sandbox.Spec{Code: []byte("pass")})
	require.ErrorIs(t, err, os.ErrClosed, "a run that cannot be audited reports it")
	require.NotNil(t, res, "the run happened: its result is returned too")
	assert.Equal(t, 0, res.ExitCode)
}

func TestAuditorFunc(t *testing.T) {
	t.Parallel()
	var got []audit.Event
	s := sandbox.New(okEngine{}, &sandbox.Options{Auditor: sandbox.AuditorFunc(func(_ context.Context, e audit.Event) error {
		got = append(got, e)
		return nil
	})})
	_, err := s.Run(context.Background(), newMemFiles("u_f", nil), sandbox.Spec{Code: []byte("pass")})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "user:u_f", got[0].Actor)
}

// okEngine runs nothing and reports success.
type okEngine struct{}

func (okEngine) Check(context.Context) error { return nil }
func (okEngine) Exec(context.Context, *sandbox.Job) (*sandbox.Exit, error) {
	return &sandbox.Exit{}, nil
}

func TestBubblewrapMissing(t *testing.T) {
	t.Parallel()
	b := &sandbox.Bubblewrap{Path: "/nonexistent/bwrap"}
	err := b.Check(context.Background())
	require.ErrorIs(t, err, sandbox.ErrUnavailable, "a missing bwrap is reported as unavailable")
	var ue *sandbox.UnavailableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "bubblewrap", ue.Engine)
}

func TestLimitKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[sandbox.LimitKind]string{
		sandbox.LimitNone: "none", sandbox.LimitTimeout: "timeout", sandbox.LimitCPU: "cpu",
		sandbox.LimitMemory: "memory", sandbox.LimitProcesses: "processes", sandbox.LimitFiles: "files",
		sandbox.LimitScratch: "scratch", sandbox.LimitOutput: "output", sandbox.LimitKind(99): "unknown",
	} {
		assert.Equal(t, want, k.String())
	}
}
