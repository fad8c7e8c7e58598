package sandbox

import (
	"bytes"
	"syscall"
	"time"
)

// Limits bound one run. A zero field means "inherit": [Spec.Limits] from
// [Options.Limits], and those from [DefaultLimits].
type Limits struct {
	// Timeout is the wall-clock time the whole run may take, from the
	// sandbox's start to its exit, output collection included.
	Timeout time.Duration
	// CPU is the CPU time each process may use (RLIMIT_CPU, rounded up to
	// whole seconds). The process gets SIGXCPU when it runs out.
	CPU time.Duration
	// Memory is the address space each process may map, in bytes
	// (RLIMIT_AS). Allocations beyond it fail.
	Memory int64
	// Processes is how many processes and threads the sandbox may hold at
	// once (RLIMIT_NPROC within its user namespace), the two or three of
	// the sandbox's own plumbing included. fork or thread creation beyond
	// it fails.
	Processes int
	// Files is how many files each process may hold open (RLIMIT_NOFILE).
	Files int
	// Scratch is the size of the run's tmpfs in bytes: inputs, code,
	// outputs and temporary files together. (bubblewrap bounds the tmpfs's
	// bytes, not its number of files: empty files cost kernel memory until
	// the run ends.)
	Scratch int64
	// Output caps stdout and stderr, each, in bytes. A stream that grows
	// past it stops the run with [LimitOutput].
	Output int64
}

// DefaultLimits returns the limits of a run that sets none: a 30 s timeout,
// 10 s of CPU, 1 GiB of address space, 64 processes, 256 open files, 64 MiB
// of scratch and 1 MiB each of stdout and stderr.
func DefaultLimits() Limits { return defaultLimits }

var defaultLimits = Limits{
	Timeout:   30 * time.Second,
	CPU:       10 * time.Second,
	Memory:    1 << 30,
	Processes: 64,
	Files:     256,
	Scratch:   64 << 20,
	Output:    1 << 20,
}

// orDefaults returns l with each zero (or negative) field taken from d.
func (l Limits) orDefaults(d Limits) Limits {
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.CPU <= 0 {
		l.CPU = d.CPU
	}
	if l.Memory <= 0 {
		l.Memory = d.Memory
	}
	if l.Processes <= 0 {
		l.Processes = d.Processes
	}
	if l.Files <= 0 {
		l.Files = d.Files
	}
	if l.Scratch <= 0 {
		l.Scratch = d.Scratch
	}
	if l.Output <= 0 {
		l.Output = d.Output
	}
	return l
}

// LimitKind names the limit that stopped a run.
type LimitKind uint8

// The limits a run can hit.
const (
	// LimitNone: the run ended on its own.
	LimitNone LimitKind = iota
	// LimitTimeout: the wall-clock timeout expired; the sandbox was killed.
	LimitTimeout
	// LimitCPU: a process used up its CPU time.
	LimitCPU
	// LimitMemory: an allocation failed at the address-space limit.
	LimitMemory
	// LimitProcesses: a fork failed at the processes limit.
	LimitProcesses
	// LimitFiles: an open failed at the open-files limit.
	LimitFiles
	// LimitScratch: the scratch tmpfs was full.
	LimitScratch
	// LimitOutput: stdout or stderr outgrew its cap; the sandbox was killed.
	LimitOutput
)

var limitNames = [...]string{"none", "timeout", "cpu", "memory", "processes", "files", "scratch", "output"}

// String returns the limit's lower-case name, for example "timeout".
func (k LimitKind) String() string {
	if int(k) < len(limitNames) {
		return limitNames[k]
	}
	return "unknown"
}

// Markers of a failed system call in a failed command's last stderr bytes,
// as Python and the C library print them. A kernel limit makes a system call
// fail; the program, not the kernel, decides what happens next, so these are
// the best evidence of which limit stopped it. A program can print them on
// purpose; it then only misreports its own run.
var limitMarkers = []struct {
	kind    LimitKind
	markers []string
}{
	{LimitMemory, []string{"MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory"}},
	{LimitProcesses, []string{"Resource temporarily unavailable", "BlockingIOError", "can't start new thread"}},
	{LimitFiles, []string{"Too many open files"}},
	{LimitScratch, []string{"No space left on device", "Disk quota exceeded"}},
}

// classify names the limit a finished run hit, from its status, CPU use and
// the tail of its stderr; the caller has already handled kills.
func classify(res *Result, lim Limits, stderrTail []byte) LimitKind {
	if res.ExitCode == 0 {
		return LimitNone
	}
	switch res.Signal {
	case sigXCPU:
		return LimitCPU
	case syscall.SIGKILL:
		// The hard CPU limit is one second above the soft one.
		if res.Usage.User+res.Usage.System >= cpuSeconds(lim.CPU) {
			return LimitCPU
		}
	}
	// The last marker printed wins: a traceback ends with the failure.
	best, at := LimitNone, -1
	for _, m := range limitMarkers {
		for _, s := range m.markers {
			if i := bytes.LastIndex(stderrTail, []byte(s)); i > at {
				best, at = m.kind, i
			}
		}
	}
	return best
}

// cpuSeconds rounds d up to whole seconds, at least one.
func cpuSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return s * time.Second
}

// sigXCPU is SIGXCPU, which the soft CPU limit sends (24 on Linux and the
// BSDs; package syscall lacks it on some systems).
const sigXCPU = syscall.Signal(24)
