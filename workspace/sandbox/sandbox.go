package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
)

// Layout of the scratch area every run sees. It is a tmpfs of
// [Limits.Scratch] bytes, private to the run, and the working directory.
const (
	// ScratchDir is the run's private, size-limited tmpfs and working directory.
	ScratchDir = "/work"
	// InputDir holds a copy of each input, under its workspace name.
	InputDir = "/work/in"
	// OutputDir is where the command writes the files to collect.
	OutputDir = "/work/out"
	// TempDir is the run's temporary directory (TMPDIR in [DefaultEnv]).
	TempDir = "/work/tmp"
	// CodePath is where [Spec.Code] is written.
	CodePath = "/work/main.py"
	// DefaultInterpreter runs [Spec.Code] when [Spec.Argv] is empty. It is
	// Debian's python3, not a shim on the host's PATH.
	DefaultInterpreter = "/usr/bin/python3"
)

// DefaultEnv returns the environment of a run whose [Spec.Env] is nil: PATH,
// HOME (the scratch directory), TMPDIR ([TempDir]), LANG=C.UTF-8, Python
// told to write no bytecode and skip the user site, numerical libraries held
// to one thread and glibc to two malloc arenas (threads count against
// [Limits.Processes], reserved arenas against [Limits.Memory]). The host's
// environment is never passed on.
func DefaultEnv() []string { return append([]string(nil), defaultEnv...) }

var defaultEnv = []string{
	"PATH=/usr/bin:/bin",
	"HOME=" + ScratchDir,
	"TMPDIR=" + TempDir,
	"LANG=C.UTF-8",
	"PYTHONDONTWRITEBYTECODE=1",
	"PYTHONNOUSERSITE=1",
	"OMP_NUM_THREADS=1",
	"OPENBLAS_NUM_THREADS=1",
	"MKL_NUM_THREADS=1",
	"MALLOC_ARENA_MAX=2",
}

// Errors callers branch on.
var (
	// ErrBadInput reports a [Spec] input that is not a readable workspace
	// file; nothing ran. The error also wraps what [Files.Open] returned,
	// so that callers can tell a missing file from, say, an expired
	// workspace.
	ErrBadInput = errors.New("sandbox: input is not a workspace file")
	// ErrBadSpec reports a malformed [Spec]; nothing ran.
	ErrBadSpec = errors.New("sandbox: invalid spec")
	// ErrUnavailable reports that the engine cannot run on this host; see
	// [UnavailableError].
	ErrUnavailable = errors.New("sandbox: engine unavailable")
)

// UnavailableError says why an engine cannot isolate code on this host: the
// sandbox binary is missing, or the kernel refuses to create user
// namespaces. It matches [ErrUnavailable] with errors.Is.
type UnavailableError struct {
	// Engine names the engine, for example "bubblewrap".
	Engine string
	// Reason is a short explanation fit for an operator.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *UnavailableError) Error() string {
	return "sandbox: " + e.Engine + " unavailable: " + e.Reason
}

// Unwrap returns [ErrUnavailable] and the underlying error.
func (e *UnavailableError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.Err}
}

// Files is the workspace a run reads its inputs from and writes its outputs
// to. *workspace.Workspace satisfies it. Implementations must be safe for
// concurrent use: inputs are read while outputs may be written.
type Files interface {
	// User returns the pseudonym of the workspace's user, for the audit event.
	User() string
	// Open returns the decrypted content of the named workspace file.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Create writes the content of r as the named file, atomically and
	// encrypted: on error no partial file remains.
	Create(ctx context.Context, name string, r io.Reader) (fs.FileInfo, error)
}

// Auditor records audit events. *audit.Log implements it.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// AuditorFunc adapts a function to [Auditor].
type AuditorFunc func(ctx context.Context, e audit.Event) error

// Record calls f.
func (f AuditorFunc) Record(ctx context.Context, e audit.Event) error { return f(ctx, e) }

// Options configure a [Sandbox]. The zero value (or nil) is usable.
type Options struct {
	// Auditor receives one event per run. Nil records nothing.
	Auditor Auditor
	// Now is the clock for audit event times. Nil means time.Now.
	Now func() time.Time
	// Logger receives operational messages (never code, inputs or outputs).
	// Nil discards them.
	Logger *slog.Logger
	// Limits are the defaults for every run; a zero field means the package
	// default (see [Limits]).
	Limits Limits
}

// Spec describes one run.
type Spec struct {
	// Argv is the command, its first element an absolute path inside the
	// sandbox. Empty means [DefaultInterpreter] running [CodePath] if Code is
	// set, or reading the program from Stdin otherwise.
	Argv []string
	// Code, if set, is written to [CodePath] before the command starts. Its
	// SHA-256, never its text, is recorded in the audit event.
	Code []byte
	// Stdin is the command's standard input. Nil means empty.
	Stdin io.Reader
	// Env is the command's entire environment as "KEY=value" entries. Nil
	// means [DefaultEnv]; the host's environment is never inherited.
	Env []string
	// Inputs are the names of workspace files to copy into [InputDir] under
	// the same name. A name that is not a workspace file fails the run before
	// anything starts, with [ErrBadInput].
	Inputs []string
	// Outputs are path.Match patterns, relative to [OutputDir], of the files
	// to write back into the workspace under the same relative name (which
	// must be a valid workspace name). Outputs are collected only when the
	// command exits with status 0, one file at a time; if writing one fails,
	// Run returns the error and the files already written stay. Code in the
	// sandbox can tamper with the collection of its own outputs (not with
	// anyone else's): treat outputs as the user's data, never as trusted.
	Outputs []string
	// Limits override the [Options] limits field by field.
	Limits Limits
}

// Output is one collected file, written back into the workspace.
type Output struct {
	// Name is the workspace name, the path relative to [OutputDir].
	Name string
	// Size is the number of plaintext bytes written.
	Size int64
}

// Usage is the resources a run consumed.
type Usage struct {
	// Wall is the elapsed real time, from start to the sandbox's exit.
	Wall time.Duration
	// User and System are the CPU times of the sandbox's processes that had
	// been waited for when it exited.
	User, System time.Duration
	// MaxRSS is the largest resident set size of any one of those
	// processes, in bytes.
	MaxRSS int64
}

// Result is how a run ended.
type Result struct {
	// ExitCode is the command's exit status, or -1 if it ended by a signal or
	// was killed.
	ExitCode int
	// Signal is the signal that ended the command, or 0. The bubblewrap
	// engine, like a shell, reports death by signal N as status 128+N, so a
	// program that itself exits with status 129–192 is reported as signalled.
	Signal syscall.Signal
	// Stdout and Stderr hold at most [Limits.Output] bytes each.
	Stdout, Stderr []byte
	// StdoutTruncated and StderrTruncated are set when the stream was longer
	// than [Limits.Output]; the run was then stopped with [LimitOutput].
	StdoutTruncated, StderrTruncated bool
	// LimitHit is the limit that stopped the run, or [LimitNone].
	LimitHit LimitKind
	// Usage is the resources consumed.
	Usage Usage
	// Outputs are the files written back into the workspace, in the order
	// collected.
	Outputs []Output
}

// Sandbox runs code in isolation over a workspace's files. It is safe for
// concurrent use and owns no goroutine between calls. Use [New].
type Sandbox struct {
	engine Engine
	opts   Options
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Sandbox running on engine. A nil engine means a
// [Bubblewrap] with default settings; nil opts means defaults.
func New(engine Engine, opts *Options) *Sandbox {
	if engine == nil {
		engine = &Bubblewrap{}
	}
	s := &Sandbox{engine: engine}
	if opts != nil {
		s.opts = *opts
	}
	s.now = clock.NowFunc(s.opts.Now)
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Check reports whether the engine can run on this host: nil, or an error
// matching [ErrUnavailable] that says why. Hosts call it at startup; tests
// skip when it fails.
func (s *Sandbox) Check(ctx context.Context) error { return s.engine.Check(ctx) }

// Run copies spec's inputs from files into a fresh sandbox, runs the command
// under spec's limits, writes the collected outputs back through
// files.Create and records one audit event.
//
// A run that stops at a limit is not an error: the Result says which limit
// was hit. Errors are a bad spec ([ErrBadSpec], [ErrBadInput]), an engine that
// cannot run ([ErrUnavailable]), a failure to read an input or write an
// output, ctx's cancellation, or a failure to record the audit event (the
// Result is then returned too).
func (s *Sandbox) Run(ctx context.Context, files Files, spec Spec) (*Result, error) {
	start := s.now()
	lim := spec.Limits.orDefaults(s.opts.Limits.orDefaults(defaultLimits))
	res, err := s.run(ctx, files, &spec, lim)
	if aerr := s.record(ctx, files, &spec, start, res, err); aerr != nil {
		if err == nil {
			err = aerr
		}
	}
	return res, err
}

func (s *Sandbox) run(ctx context.Context, files Files, spec *Spec, lim Limits) (*Result, error) {
	if files == nil {
		return nil, fmt.Errorf("%w: nil Files", ErrBadSpec)
	}
	argv, env, err := validate(spec)
	if err != nil {
		return nil, err
	}
	// Open every input before anything runs, so a bad name starts nothing.
	job := &Job{Argv: argv, Env: env, Stdin: spec.Stdin, Limits: lim}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for i, name := range spec.Inputs {
		r, err := files.Open(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%w: input %d: %w", ErrBadInput, i, err)
		}
		closers = append(closers, r)
		job.Files = append(job.Files, File{Path: InputDir + "/" + name, Content: r})
	}
	if spec.Code != nil {
		job.Files = append(job.Files, File{Path: CodePath, Content: bytes.NewReader(spec.Code)})
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runCtx, cancelTimeout := context.WithTimeoutCause(runCtx, lim.Timeout, errTimeout)
	defer cancelTimeout()

	stdout := newCapture(lim.Output, func() { cancel(errOutput) })
	stderr := newCapture(lim.Output, func() { cancel(errOutput) })
	job.Stdout, job.Stderr = stdout, stderr

	res := &Result{}
	if len(spec.Outputs) > 0 {
		job.Collect = func(name string, size int64, r io.Reader) error {
			if !matchAny(spec.Outputs, name) {
				return nil
			}
			fi, err := files.Create(runCtx, name, r)
			if err != nil {
				return fmt.Errorf("sandbox: write output %d: %w", len(res.Outputs), err)
			}
			if fi != nil {
				size = fi.Size()
			}
			res.Outputs = append(res.Outputs, Output{Name: name, Size: size})
			return nil
		}
	}

	exit, err := s.engine.Exec(runCtx, job)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sandbox: run: %w", context.Cause(ctx))
		}
		return nil, err
	}
	res.ExitCode, res.Signal, res.Usage = exit.Code, exit.Signal, exit.Usage
	res.Stdout, res.StdoutTruncated = stdout.bytes()
	res.Stderr, res.StderrTruncated = stderr.bytes()
	res.LimitHit = exit.Limit
	if exit.Killed {
		res.ExitCode, res.Signal = -1, syscall.SIGKILL
		switch cause := context.Cause(runCtx); {
		case errors.Is(cause, errOutput):
			res.LimitHit = LimitOutput
		case errors.Is(cause, errTimeout):
			res.LimitHit = LimitTimeout
		case ctx.Err() != nil:
			return nil, fmt.Errorf("sandbox: run: %w", context.Cause(ctx))
		}
	}
	if res.LimitHit == LimitNone {
		res.LimitHit = classify(res, lim, stderr.tailBytes())
	}
	s.log.DebugContext(ctx, "sandbox: run finished",
		"exit", res.ExitCode, "signal", int(res.Signal), "limit", res.LimitHit.String(),
		"wall", res.Usage.Wall, "outputs", len(res.Outputs))
	return res, nil
}

var (
	errTimeout = errors.New("sandbox: wall-clock timeout")
	errOutput  = errors.New("sandbox: output limit")
)

func validate(spec *Spec) (argv, env []string, err error) {
	argv = spec.Argv
	if len(argv) == 0 {
		argv = []string{DefaultInterpreter}
		if spec.Code != nil {
			argv = append(argv, CodePath)
		}
	}
	if !path.IsAbs(argv[0]) {
		return nil, nil, fmt.Errorf("%w: command must be an absolute path", ErrBadSpec)
	}
	for _, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, nil, fmt.Errorf("%w: NUL byte in argument", ErrBadSpec)
		}
	}
	env = spec.Env
	if env == nil {
		env = defaultEnv
	}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
			return nil, nil, fmt.Errorf("%w: environment entries must be KEY=value", ErrBadSpec)
		}
	}
	env = append([]string{}, env...) // never nil: nil would inherit the host's
	seen := make(map[string]bool, len(spec.Inputs))
	for i, name := range spec.Inputs {
		if !fs.ValidPath(name) || name == "." {
			return nil, nil, fmt.Errorf("%w: input %d: invalid name", ErrBadInput, i)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("%w: input %d: duplicate name", ErrBadSpec, i)
		}
		seen[name] = true
	}
	for i, name := range spec.Inputs {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if seen[d] {
				return nil, nil, fmt.Errorf("%w: input %d: inside another input", ErrBadSpec, i)
			}
		}
	}
	for i, p := range spec.Outputs {
		if _, err := path.Match(p, ""); err != nil {
			return nil, nil, fmt.Errorf("%w: output pattern %d: %w", ErrBadSpec, i, err)
		}
	}
	return argv, env, nil
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// record writes the run's one audit event. It names the user and the code's
// hash, never the code, the inputs' names or any content.
func (s *Sandbox) record(ctx context.Context, files Files, spec *Spec, start time.Time, res *Result, runErr error) error {
	if s.opts.Auditor == nil {
		return nil
	}
	user := ""
	if files != nil {
		user = files.User()
	}
	e := audit.Event{
		Time:    start,
		Actor:   "user:" + user,
		Subject: user,
		Action:  "sandbox.run",
		Service: "sandbox",
		Outcome: audit.Success,
		Attrs: []audit.Attr{
			audit.String("code_sha256", CodeHash(spec)),
			audit.Int("inputs", int64(len(spec.Inputs))),
		},
	}
	switch {
	case runErr != nil:
		e.Outcome = audit.Error
		reason := "error"
		switch {
		case errors.Is(runErr, ErrBadInput):
			reason = "bad_input"
			e.Outcome = audit.Denied
		case errors.Is(runErr, ErrBadSpec):
			reason = "bad_spec"
			e.Outcome = audit.Denied
		case errors.Is(runErr, ErrUnavailable):
			reason = "unavailable"
		case ctx.Err() != nil:
			reason = "canceled"
		}
		e.Attrs = append(e.Attrs, audit.String("error", reason))
	default:
		if res.ExitCode != 0 || res.LimitHit != LimitNone {
			e.Outcome = audit.Error
		}
		e.Attrs = append(e.Attrs,
			audit.Int("duration_ms", res.Usage.Wall.Milliseconds()),
			audit.Int("exit_code", int64(res.ExitCode)),
			audit.Int("signal", int64(res.Signal)),
			audit.String("limit", res.LimitHit.String()),
			audit.Int("outputs", int64(len(res.Outputs))),
		)
	}
	// Record even when ctx is done: the run happened.
	if err := s.opts.Auditor.Record(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "sandbox: audit record failed", "err", err)
		return fmt.Errorf("sandbox: record audit event: %w", err)
	}
	return nil
}

// CodeHash returns the hex SHA-256 that the audit event records for spec's
// code: over the argv (each element length-prefixed) and then Code, so that
// code passed as "python3 -c ..." is covered too.
func CodeHash(spec *Spec) string {
	h := sha256.New()
	var n [8]byte
	for _, a := range spec.Argv {
		binary.BigEndian.PutUint64(n[:], uint64(len(a)))
		h.Write(n[:])
		io.WriteString(h, a)
	}
	binary.BigEndian.PutUint64(n[:], uint64(len(spec.Code)))
	h.Write(n[:])
	h.Write(spec.Code)
	return hex.EncodeToString(h.Sum(nil))
}
