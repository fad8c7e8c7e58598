package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"sync"
)

// DefaultBubblewrapPath is where Debian's bubblewrap package installs bwrap.
const DefaultBubblewrapPath = "/usr/bin/bwrap"

// nobody is the unprivileged uid and gid inside the sandbox, and outside it
// when the host runs as root.
const nobody = 65534

// Bubblewrap is the [Engine] built on bubblewrap (bwrap), the unprivileged
// sandbox tool behind Flatpak. Each job gets:
//
//   - every namespace unshared: user, pid, network (no interface but a
//     down loopback), ipc, uts, cgroup; no nested user namespaces;
//   - uid and gid 65534 inside, no capabilities, no new privileges, a new
//     session (no terminal to inject input into), and death with its parent;
//   - a root of its own holding only the host's /usr read-only (with the
//     /bin, /lib and /lib64 links), a fresh /proc, a minimal /dev and the
//     scratch tmpfs at [ScratchDir]; the root and /dev are read-only, so the
//     scratch area is the only place to write. No /etc, no home, no other
//     workspace, no store of privkit's;
//   - its inputs streamed through pipes into the tmpfs, so plaintext stays in
//     memory, and its outputs streamed back out as a tar over a pipe;
//   - a seccomp filter (on amd64 and arm64) that makes a short list of
//     system calls fail with EPERM: System V shared memory and message
//     queues and memfd (memory outside the address-space limit), ptrace,
//     io_uring, bpf, userfaultfd, perf events, keyrings, modules, mounts,
//     namespaces and file handles, and every call of a foreign ABI;
//   - rlimits set by /bin/sh (ulimit) inside the sandbox before the command
//     runs: CPU, address space, processes, open files, and no core dumps.
//     That shell is the sandbox's pid 1 and the command its child; when it
//     exits, the kernel kills whatever the command left behind.
//
// bwrap reports a command killed by signal N as exit status 128+N, as a
// shell does; [Exit] turns statuses 129–192 into signals.
//
// It needs bwrap 0.8.0 or later (Debian 12's), and /usr/bin/sh and
// /usr/bin/tar on the host, as every Debian system has them.
//
// When the host runs as root, bwrap itself runs as HostUID:HostGID: the
// kernel does not apply the processes limit to root, and an escape then lands
// on an unprivileged user. That needs unprivileged user namespaces, as
// running as any other user does. When the host runs as another user, bwrap
// runs as that user, and an escape would land with the host's own rights:
// prefer root (dropping to nobody) or a dedicated user for the host. The
// processes limit counts per user namespace from Linux 5.14; older kernels
// count every process of the host user, the host's own threads included.
//
// Each Exec marks every descriptor of the host process above stderr
// close-on-exec, so that none it inherited without the flag leaks into a
// sandbox; the host's own children no longer inherit such descriptors
// either.
//
// The zero value is ready to use. A Bubblewrap is safe for concurrent use.
type Bubblewrap struct {
	// Path is the bwrap binary. Empty means [DefaultBubblewrapPath].
	Path string
	// HostUID and HostGID are the host user and group bwrap runs as when the
	// host process is root. Zero means 65534 (nobody). Ignored otherwise.
	HostUID, HostGID uint32
}

var _ Engine = (*Bubblewrap)(nil)

// wrapper is the sandbox's pid 1, run as /bin/sh -c wrapper sh COLLECT CPU
// CPUHARD AS NPROC NOFILE ARGV...: it sets the limits, reports that setup is
// done, runs the command as its child, and, when asked and the command
// succeeded, streams the output directory as a tar over fd 3. The command
// never gets fd 3. No value is ever interpolated into the script.
//
// Being pid 1 and waiting for the command, it passes the command's resource
// use up to bwrap and so to us; bwrap's own pid 1 would exit without that.
// When it exits the kernel kills whatever the command left behind.
const wrapper = `collect=$1 cpu=$2 cpuhard=$3 as=$4 nproc=$5 nofile=$6
shift 6
unset PWD OLDPWD
ulimit -c 0 && ulimit -S -t "$cpu" && ulimit -H -t "$cpuhard" && ulimit -v "$as" && ulimit -p "$nproc" && ulimit -n "$nofile" || exit 125
printf S >&3 || exit 125
(exec 3>&- && exec "$@")
rc=$?
if [ "$collect" = 1 ] && [ "$rc" = 0 ]; then cd /work/out && tar -cf - . >&3 || exit 125; fi
exit "$rc"
`

func (b *Bubblewrap) path() string {
	if b.Path != "" {
		return b.Path
	}
	return DefaultBubblewrapPath
}

// Check runs an empty job to see whether bwrap exists and the kernel lets it
// create its namespaces.
func (b *Bubblewrap) Check(ctx context.Context) error {
	var stderr bytes.Buffer
	exit, err := b.Exec(ctx, &Job{
		Argv:   []string{"/bin/sh", "-c", "exit 0"},
		Env:    []string{},
		Stdout: io.Discard,
		Stderr: &stderr,
		Limits: defaultLimits,
	})
	if err != nil {
		return err
	}
	if exit.Code != 0 {
		// bwrap works but the sandbox does not: a broken setup, not a host
		// without namespaces.
		return fmt.Errorf("sandbox: bubblewrap check: test sandbox exited with status %d: %s", exit.Code, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// SetupError reports that bubblewrap exited before the command started, for
// a reason other than those reported as [UnavailableError] or
// [LimitScratch].
type SetupError struct {
	// Status is bwrap's exit status.
	Status int
	// Stderr is what bwrap printed. It can name input files, so it is kept
	// out of Error.
	Stderr []byte
}

func (e *SetupError) Error() string {
	return "sandbox: bubblewrap failed to set up the sandbox (status " + strconv.Itoa(e.Status) + ")"
}

// args returns bwrap's arguments up to and including the scratch tmpfs.
func (b *Bubblewrap) args(lim Limits) []string {
	return []string{
		"--unshare-all", "--unshare-user", "--disable-userns",
		"--cap-drop", "ALL",
		"--die-with-parent", "--new-session", "--as-pid-1",
		"--uid", strconv.Itoa(nobody), "--gid", strconv.Itoa(nobody),
		"--hostname", "sandbox",
		"--ro-bind", "/usr", "/usr",
		"--symlink", "usr/bin", "/bin",
		"--symlink", "usr/sbin", "/sbin",
		"--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64",
		"--proc", "/proc",
		"--dev", "/dev",
		"--size", strconv.FormatInt(lim.Scratch, 10), "--perms", "0700", "--tmpfs", ScratchDir,
		"--dir", InputDir, "--dir", OutputDir, "--dir", TempDir,
	}
}

// setupFailed explains a bwrap that exited before running the wrapper.
func (b *Bubblewrap) setupFailed(exit *Exit, stderr []byte) (*Exit, error) {
	// bwrap's own message is its first line starting "bwrap: ".
	var msg []byte
	for line := range bytes.Lines(stderr) {
		if bytes.HasPrefix(line, []byte("bwrap: ")) {
			msg = bytes.TrimSpace(line)
			break
		}
	}
	has := func(s string) bool { return bytes.Contains(msg, []byte(s)) }
	switch {
	case msg == nil:
		// bwrap was done; the wrapper failed before the command (a limit
		// the host's own hard limits do not allow, for example).
	case has("No space left on device"):
		exit.Limit = LimitScratch
		return exit, nil
	case has("Unknown option"):
		return nil, &UnavailableError{Engine: "bubblewrap", Reason: "bwrap is older than 0.8.0"}
	case has("namespace"), has("uid map"), has("gid map"), has("loopback"),
		has("Operation not permitted"), has("Permission denied"):
		// File names never appear in these messages.
		return nil, &UnavailableError{Engine: "bubblewrap", Reason: "cannot create its namespaces (" + string(msg) + ")"}
	}
	return nil, &SetupError{Status: exit.Code, Stderr: append([]byte(nil), stderr...)}
}

// parents returns the directories between [ScratchDir] and p, outermost
// first.
func parents(p string) []string {
	var ds []string
	for d := path.Dir(p); d != "/" && d != "." && d != ScratchDir; d = path.Dir(d) {
		ds = append([]string{d}, ds...)
	}
	return ds
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
	max int
}

func (h *headWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
