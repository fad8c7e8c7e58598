package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"strconv"
	"sync"
	"syscall"
	"time"
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
//     scratch tmpfs at [ScratchDir]; the root itself is read-only. No /etc,
//     no home, no other workspace, no store of privkit's;
//   - its inputs streamed through pipes into the tmpfs, so plaintext stays in
//     memory, and its outputs streamed back out as a tar over a pipe;
//   - rlimits set by /bin/sh (ulimit) inside the sandbox before the command
//     runs: CPU, address space, processes, open files, and no core dumps.
//
// When the host runs as root, bwrap itself runs as HostUID:HostGID: the
// kernel does not apply the processes limit to root, and an escape then lands
// on an unprivileged user. That needs unprivileged user namespaces, as
// running as any other user does.
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
// CPUHARD AS NPROC NOFILE ARGV...: it reports that setup is done, sets the
// limits, runs the command as its child, and, when asked and the command
// succeeded, streams the output directory as a tar over fd 3. The command
// never gets fd 3. No value is ever interpolated into the script.
//
// Being pid 1 and waiting for the command, it passes the command's resource
// use up to bwrap and so to us; bwrap's own pid 1 would exit without that.
// When it exits the kernel kills whatever the command left behind.
const wrapper = `printf S >&3 || exit 125
collect=$1 cpu=$2 cpuhard=$3 as=$4 nproc=$5 nofile=$6
shift 6
unset PWD OLDPWD
ulimit -c 0 && ulimit -S -t "$cpu" && ulimit -H -t "$cpuhard" && ulimit -v "$as" && ulimit -p "$nproc" && ulimit -n "$nofile" || exit 125
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
		Limits: DefaultLimits,
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

// Exec runs job under bwrap. See [Engine.Exec].
func (b *Bubblewrap) Exec(ctx context.Context, job *Job) (exit *Exit, err error) {
	lim := job.Limits
	args := b.args(lim)

	var closeAfterStart, closeAtEnd []*os.File
	defer func() {
		for _, f := range closeAfterStart {
			f.Close()
		}
		for _, f := range closeAtEnd {
			f.Close()
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			closeAtEnd = append(closeAtEnd, r, w)
		}
		return r, w, err
	}

	// fd 3: the wrapper's status byte, then the outputs tar.
	statusR, statusW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	extra := []*os.File{statusW}
	closeAfterStart = append(closeAfterStart, statusW)

	// One pipe per file; bwrap copies each into the tmpfs during setup.
	type feed struct {
		w *os.File
		r io.Reader
	}
	var feeds []feed
	dirs := map[string]bool{ScratchDir: true, InputDir: true, OutputDir: true, TempDir: true}
	for _, f := range job.Files {
		for _, d := range parents(f.Path) {
			if !dirs[d] {
				dirs[d] = true
				args = append(args, "--dir", d)
			}
		}
		r, w, err := pipe()
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		extra = append(extra, r)
		closeAfterStart = append(closeAfterStart, r)
		feeds = append(feeds, feed{w: w, r: f.Content})
		args = append(args, "--file", strconv.Itoa(2+len(extra)), f.Path)
	}

	collect := "0"
	if job.Collect != nil {
		collect = "1"
	}
	cpu := int64(cpuSeconds(lim.CPU) / time.Second)
	args = append(args,
		"--remount-ro", "/", "--remount-ro", "/dev",
		"--chdir", ScratchDir,
		"--", "/bin/sh", "-c", wrapper, "sh",
		collect,
		strconv.FormatInt(cpu, 10), strconv.FormatInt(cpu+1, 10),
		strconv.FormatInt((lim.Memory+1023)/1024, 10),
		strconv.Itoa(lim.Processes),
		strconv.Itoa(lim.Files),
	)
	args = append(args, job.Argv...)

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var setupErr bytes.Buffer // bwrap's own messages come first
	cmd := exec.CommandContext(runCtx, b.path(), args...)
	cmd.Env = append([]string{}, job.Env...)
	cmd.Dir = "/"
	cmd.Stdin = job.Stdin
	cmd.Stdout = job.Stdout
	cmd.Stderr = io.MultiWriter(&headWriter{buf: &setupErr, max: 4096}, job.Stderr)
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		uid, gid := b.HostUID, b.HostGID
		if uid == 0 {
			uid = nobody
		}
		if gid == 0 {
			gid = nobody
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}
	}
	cmd.Cancel = func() error {
		// bwrap's process group: the sandbox dies with it (--die-with-parent),
		// and with the sandbox's pid 1 every process inside.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second

	closeInheritedOnExec()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, &UnavailableError{Engine: "bubblewrap", Reason: "cannot execute " + b.path(), Err: err}
		}
		return nil, fmt.Errorf("sandbox: start bubblewrap: %w", err)
	}
	for _, f := range closeAfterStart {
		f.Close()
	}
	closeAfterStart = nil

	var wg sync.WaitGroup
	var feedErr error
	var feedOnce sync.Once
	for _, f := range feeds {
		wg.Go(func() {
			_, err := io.Copy(f.w, f.r)
			f.w.Close()
			if err != nil && !errors.Is(err, syscall.EPIPE) {
				feedOnce.Do(func() { feedErr = fmt.Errorf("sandbox: read input: %w", err) })
				cancel(feedErr)
			}
		})
	}
	var started bool
	var collectErr error
	wg.Go(func() {
		var s [1]byte
		if n, _ := io.ReadFull(statusR, s[:]); n == 1 && s[0] == 'S' {
			started = true
			if job.Collect != nil {
				if err := readOutputs(statusR, lim.Scratch, job.Collect); err != nil {
					collectErr = err
					cancel(err)
				}
			}
		}
		io.Copy(io.Discard, statusR)
	})
	waitErr := cmd.Wait()
	wall := time.Since(start)
	// The sandbox is gone, so every pipe reaches EOF: let the collector
	// finish writing what tar sent before bwrap exited.
	wg.Wait()

	if feedErr != nil {
		return nil, feedErr
	}
	st := cmd.ProcessState
	if st == nil {
		return nil, fmt.Errorf("sandbox: wait for bubblewrap: %w", waitErr)
	}
	exit = &Exit{Usage: usage(st, wall)}
	ws, _ := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() && ctx.Err() != nil {
		// Only Cancel kills bwrap itself; a collection cut short by the
		// kill is not an error of its own.
		exit.Code, exit.Signal, exit.Killed = -1, ws.Signal(), true
		return exit, nil
	}
	if collectErr != nil {
		return nil, collectErr
	}
	if ws.Signaled() {
		exit.Code, exit.Signal = -1, ws.Signal()
		return exit, nil
	}
	exit.Code = ws.ExitStatus()
	if !started {
		return b.setupFailed(exit, setupErr.Bytes())
	}
	if exit.Code > 128 && exit.Code <= 128+64 {
		exit.Code, exit.Signal = -1, syscall.Signal(exit.Code-128)
	}
	return exit, nil
}

// setupFailed explains a bwrap that exited before running the wrapper.
func (b *Bubblewrap) setupFailed(exit *Exit, stderr []byte) (*Exit, error) {
	switch {
	case bytes.Contains(stderr, []byte("No space left on device")):
		exit.Limit = LimitScratch
		return exit, nil
	case bytes.Contains(stderr, []byte("namespace")), bytes.Contains(stderr, []byte("uid map")),
		bytes.Contains(stderr, []byte("setting up uid")), bytes.Contains(stderr, []byte("Operation not permitted")):
		line, _, _ := bytes.Cut(stderr, []byte("\n"))
		return nil, &UnavailableError{Engine: "bubblewrap", Reason: "cannot create namespaces (" + string(line) + ")"}
	}
	return nil, &SetupError{Status: exit.Code, Stderr: append([]byte(nil), stderr...)}
}

func usage(st *os.ProcessState, wall time.Duration) Usage {
	u := Usage{Wall: wall, User: st.UserTime(), System: st.SystemTime()}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		u.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return u
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

// closeInheritedOnExec marks every descriptor of this process above stderr
// close-on-exec. Go opens its own files that way, but a descriptor the
// process inherited without the flag (from a supervisor, a shell, cgo code)
// would otherwise pass through bwrap into the sandbox. The descriptors of a
// Job reach the sandbox anyway: ExtraFiles are duplicated for the child.
func closeInheritedOnExec() {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		if fd, err := strconv.Atoi(n); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
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
