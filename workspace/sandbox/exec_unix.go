//go:build unix

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
	"strconv"
	"sync"
	"syscall"
	"time"
)

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

	// The seccomp filter fits in the pipe's buffer: write it now.
	if len(hostSeccompFilter) > 0 {
		r, w, err := pipe()
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		if _, err := w.Write(hostSeccompFilter); err != nil {
			return nil, fmt.Errorf("sandbox: write seccomp filter: %w", err)
		}
		w.Close()
		extra = append(extra, r)
		closeAfterStart = append(closeAfterStart, r)
		args = append(args, "--seccomp", strconv.Itoa(2+len(extra)))
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
	// Stdin through a pipe of our own: os/exec would wait for a copy from a
	// reader that may never return, and with it Exec.
	var stdinW *os.File
	if job.Stdin != nil {
		r, w, err := pipe()
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		cmd.Stdin, stdinW = r, w
		closeAfterStart = append(closeAfterStart, r)
	}
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

	if stdinW != nil {
		// Not waited for: it ends when job.Stdin's Read returns after the
		// sandbox is gone, since the pipe is closed when Exec returns.
		go func() {
			io.Copy(stdinW, job.Stdin)
			stdinW.Close()
		}()
	}

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

func usage(st *os.ProcessState, wall time.Duration) Usage {
	u := Usage{Wall: wall, User: st.UserTime(), System: st.SystemTime()}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		u.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return u
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
