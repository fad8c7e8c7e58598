package sandbox

import (
	"context"
	"io"
	"syscall"
)

// Engine isolates and runs one [Job]. [Bubblewrap] is the engine for one
// host; an engine on gVisor or a microVM can take its place for a fleet.
// [Sandbox] does the rest: reading and writing the workspace, output caps,
// the timeout, classifying limits and auditing.
//
// This is a low-level interface: most users want [Sandbox.Run].
type Engine interface {
	// Check reports whether the engine can run jobs on this host: nil, or
	// an error matching [ErrUnavailable] (an [*UnavailableError] saying why).
	Check(ctx context.Context) error
	// Exec runs job in a fresh sandbox until it exits or ctx is done, in
	// which case Exec kills every process of the sandbox and returns an Exit
	// with Killed set. It returns only once the sandbox is gone and every
	// callback and write to job's writers has returned. It must be safe
	// for concurrent use.
	Exec(ctx context.Context, job *Job) (*Exit, error)
}

// Job is what an [Engine] runs. The engine owns none of its readers or
// writers and closes none of them.
type Job struct {
	// Argv is the command, Argv[0] an absolute path inside the sandbox.
	Argv []string
	// Env is the command's whole environment; never nil.
	Env []string
	// Stdin is the command's standard input; nil means empty. Exec does not
	// wait for a Read on it that never returns: the copy ends at its next
	// Read or Write after Exec has returned.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output streams.
	Stdout, Stderr io.Writer
	// Files are copied into the scratch area before the command starts.
	Files []File
	// Limits bound the run; all fields are set. The engine enforces
	// CPU, Memory, Processes, Files and Scratch; the caller enforces
	// Timeout (through ctx) and Output.
	Limits Limits
	// Collect, if not nil, is called for each regular file under
	// [OutputDir] when the command exits with status 0, with its path
	// relative to OutputDir, its size and its content, which it must not
	// retain. An error stops the run and is returned by Exec.
	Collect func(name string, size int64, r io.Reader) error
}

// File is a file the engine places in the sandbox's scratch area.
type File struct {
	// Path is the absolute path inside the sandbox, under [ScratchDir].
	Path string
	// Content is streamed into the file; it never touches persistent disk.
	Content io.Reader
}

// Exit is how a [Job] ended.
type Exit struct {
	// Code is the exit status, or -1 when ended by a signal.
	Code int
	// Signal is the signal that ended the command, or 0.
	Signal syscall.Signal
	// Killed is set when the engine killed the sandbox because ctx was done.
	Killed bool
	// Limit is set when the engine itself saw a limit hit, for example a
	// scratch area too small for the inputs.
	Limit LimitKind
	// Usage is the resources the sandbox consumed.
	Usage Usage
}
