//go:build unix

package sandbox_test

// One test per hostile behaviour: each asserts that the behaviour was
// contained (the host is unharmed, nothing leaked) and that the Result
// reports it.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace/sandbox"
	"github.com/inferlabs/privkit/workspace/sandbox/sandboxtest"
)

// run runs code in a fresh sandbox with lim over files, failing on error.
func run(t *testing.T, files *sandboxtest.MemFiles, code string, lim sandbox.Limits, inputs ...string) *sandbox.Result {
	t.Helper()
	s, a := newTestSandbox(t)
	res, err := s.Run(context.Background(), files, sandbox.Spec{Code: []byte(code), Limits: lim, Inputs: inputs})
	require.NoError(t, err)
	ev := a.all()
	require.Len(t, ev, 1, "one audit event per run")
	limit, _ := attr(ev[0], "limit")
	assert.Equal(t, res.LimitHit.String(), limit, "the audit event names the limit hit")
	return res
}

func TestHostileNetwork(t *testing.T) {
	t.Parallel()
	// A listener on the host's loopback: the sandbox must not reach it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	code := fmt.Sprintf(`
import socket
print(socket.if_nameindex())
for addr in [("127.0.0.1", %d), ("1.1.1.1", 53), ("10.0.0.1", 80)]:
    try:
        socket.create_connection(addr, timeout=2)
        print("CONNECTED", addr)
    except OSError as e:
        print("refused", e.errno)
try:
    socket.getaddrinfo("example.com", 443)
    print("RESOLVED")
except OSError as e:
    print("no dns")
`, port)
	res := run(t, newMemFiles("u_net", nil), code, sandbox.Limits{})
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	out := string(res.Stdout)
	assert.Contains(t, out, "[(1, 'lo')]", "the only interface is the sandbox's own loopback")
	assert.NotContains(t, out, "CONNECTED", "no connection succeeds")
	assert.NotContains(t, out, "RESOLVED", "no name resolves")
	assert.Equal(t, 3, strings.Count(out, "refused"), "each connection attempt failed: %s", out)
	select {
	case <-accepted:
		t.Error("the host's loopback listener accepted a connection from the sandbox")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestHostileReadsShadow(t *testing.T) {
	t.Parallel()
	code := `
import os
print(sorted(os.listdir("/")))
for p in ["/etc/shadow", "/etc/passwd", "/root/.bash_history", "/proc/1/root/etc/shadow"]:
    try:
        open(p).read()
        print("READ", p)
    except OSError as e:
        print("denied", p, e.errno)
print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
print("fds", sorted(os.listdir("/proc/self/fd")))
print("pid1", open("/proc/1/cmdline").read().split("\0")[:2])
`
	res := run(t, newMemFiles("u_shadow", nil), code, sandbox.Limits{})
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	out := string(res.Stdout)
	assert.Contains(t, out, "['bin', 'dev', 'lib', 'lib64', 'proc', 'sbin', 'usr', 'work']", "the root holds /usr, links, /proc, /dev and scratch only: no /etc, no home")
	assert.NotContains(t, out, "READ", "no host secret is readable")
	assert.Contains(t, out, "denied /etc/shadow 2", "/etc/shadow does not exist in the sandbox")
	assert.Contains(t, out, "pids [1, 2]", "only the sandbox's own processes are visible")
	assert.Contains(t, out, "pid1 ['/bin/sh', '-c']", "pid 1 is the sandbox's wrapper, not the host's init")
	assert.Contains(t, out, "fds ['0', '1', '2', '3']", "no descriptor but stdio (and listdir's own) reaches the code")
}

func TestHostileReadsOtherWorkspace(t *testing.T) {
	t.Parallel()
	// Another user's workspace on the host, and one in the same Files store.
	other := t.TempDir()
	secret := filepath.Join(other, "secret.csv")
	require.NoError(t, os.WriteFile(secret, []byte("other user's data"), 0o644))
	mine := newMemFiles("u_mine", map[string]string{"mine.csv": "my data"})
	code := fmt.Sprintf(`
import os
print(sorted(os.listdir("/work/in")))
for p in [%q, %q, "/work/in/theirs.csv"]:
    try:
        print("READ", open(p).read())
    except OSError as e:
        print("absent", e.errno)
`, secret, other)
	res := run(t, mine, code, sandbox.Limits{}, "mine.csv")
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	out := string(res.Stdout)
	assert.Contains(t, out, "['mine.csv']", "only this run's inputs are in the sandbox")
	assert.NotContains(t, out, "READ", "no other workspace is visible")
	assert.Equal(t, 3, strings.Count(out, "absent 2"), "each path does not exist inside: %s", out)

	// A name from another workspace is not this workspace's file: rejected.
	s, _ := newTestSandbox(t)
	_, err := s.Run(context.Background(), mine, sandbox.Spec{Code: []byte("pass"), Inputs: []string{"theirs.csv"}})
	require.ErrorIs(t, err, sandbox.ErrBadInput)
}

func TestHostileWritesOutsideScratch(t *testing.T) {
	t.Parallel()
	name := marker(t)
	code := fmt.Sprintf(`
import os
for d in ["/usr", "/usr/lib", "/", "/tmp", "/dev", "/proc/sys/kernel", "/bin"]:
    p = os.path.join(d, %q)
    try:
        open(p, "w").write("x")
        print("WROTE", p)
    except OSError as e:
        print("denied", e.errno)
try:
    open("/proc/sys/kernel/hostname", "w").write("pwned")
    print("WROTE hostname")
except OSError as e:
    print("denied", e.errno)
open("/work/tmp/ok", "w").write("scratch is writable")
print("scratch ok")
`, name)
	res := run(t, newMemFiles("u_write", nil), code, sandbox.Limits{})
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	out := string(res.Stdout)
	assert.NotContains(t, out, "WROTE", "nothing outside scratch is writable")
	assert.Equal(t, 8, strings.Count(out, "denied"), "every write was refused: %s", out)
	assert.Equal(t, 5, strings.Count(out, "denied 30"), "/usr, /usr/lib, /, /dev and /bin are read-only (EROFS): %s", out)
	assert.Contains(t, out, "scratch ok")
	for _, d := range []string{"/usr", "/usr/lib", "/", "/tmp", "/dev", "/bin"} {
		_, err := os.Lstat(filepath.Join(d, name))
		assert.ErrorIs(t, err, os.ErrNotExist, "nothing appeared on the host under %s", d)
	}
	host, _ := os.Hostname()
	assert.NotEqual(t, "pwned", host)
}

func TestHostileForkBomb(t *testing.T) {
	// Not parallel, so that the process scan below sees only this run.
	m := marker(t)
	s, a := newTestSandbox(t)
	code := "import os\nwhile True:\n    os.fork()\n"
	start := time.Now()
	res, err := s.Run(context.Background(), newMemFiles("u_fork", nil), sandbox.Spec{
		Argv:   []string{"/usr/bin/python3", "-c", code, m},
		Limits: sandbox.Limits{Processes: 32, Timeout: 20 * time.Second},
	})
	require.NoError(t, err)
	assert.Equal(t, sandbox.LimitProcesses, res.LimitHit, "stderr: %.500s", res.Stderr)
	assert.NotEqual(t, 0, res.ExitCode)
	assert.Less(t, time.Since(start), 15*time.Second, "the bomb stopped well before the timeout")
	assertNoProcess(t, m)
	lim, _ := attr(a.all()[0], "limit")
	assert.Equal(t, "processes", lim)
}

func TestHostileThreadBomb(t *testing.T) {
	t.Parallel()
	code := "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
	res := run(t, newMemFiles("u_threads", nil), code, sandbox.Limits{Processes: 16})
	assert.Equal(t, sandbox.LimitProcesses, res.LimitHit, "stderr: %s", res.Stderr)
	assert.Equal(t, 1, res.ExitCode)
}

func TestHostileAllocatesWithoutEnd(t *testing.T) {
	t.Parallel()
	code := "x = []\nwhile True:\n    x.append(b'x' * (16 << 20))\n"
	res := run(t, newMemFiles("u_mem", nil), code, sandbox.Limits{Memory: 256 << 20})
	assert.Equal(t, sandbox.LimitMemory, res.LimitHit, "stderr: %s", res.Stderr)
	assert.Equal(t, 1, res.ExitCode)
	assert.Contains(t, string(res.Stderr), "MemoryError")
	assert.LessOrEqual(t, res.Usage.MaxRSS, int64(256<<20), "resident memory stayed under the address-space limit")
	assert.Greater(t, res.Usage.MaxRSS, int64(64<<20), "the code did allocate until the limit")
}

func TestHostileLoopsForeverCPU(t *testing.T) {
	t.Parallel()
	res := run(t, newMemFiles("u_cpu", nil), "while True:\n    pass\n", sandbox.Limits{CPU: time.Second, Timeout: 20 * time.Second})
	assert.Equal(t, sandbox.LimitCPU, res.LimitHit)
	assert.Equal(t, -1, res.ExitCode)
	assert.Equal(t, syscall.SIGXCPU, res.Signal, "the soft CPU limit sends SIGXCPU")
	// The kernel checks RLIMIT_CPU at tick granularity.
	assert.GreaterOrEqual(t, res.Usage.User+res.Usage.System, 500*time.Millisecond, "it did burn (about) its CPU second")
	assert.Less(t, res.Usage.Wall, 15*time.Second, "stopped by the CPU limit, not the timeout")
}

func TestHostileLoopsForeverTimeout(t *testing.T) {
	t.Parallel()
	m := marker(t)
	s, a := newTestSandbox(t)
	start := time.Now()
	// Sleeping uses no CPU: only the wall-clock timeout stops it. The child
	// it leaves behind must die too.
	res, err := s.Run(context.Background(), newMemFiles("u_sleep", nil), sandbox.Spec{
		Argv:   []string{"/usr/bin/python3", "-c", "import os, time\nos.fork()\ntime.sleep(3600)\n", m},
		Limits: sandbox.Limits{Timeout: 500 * time.Millisecond},
	})
	require.NoError(t, err)
	assert.Equal(t, sandbox.LimitTimeout, res.LimitHit)
	assert.Equal(t, -1, res.ExitCode)
	assert.Equal(t, syscall.SIGKILL, res.Signal)
	assert.Less(t, time.Since(start), 5*time.Second, "killed at the timeout")
	assertNoProcess(t, m)
	lim, _ := attr(a.all()[0], "limit")
	assert.Equal(t, "timeout", lim)
}

func TestHostileFloodsStdout(t *testing.T) {
	t.Parallel()
	m := marker(t)
	s, _ := newTestSandbox(t)
	res, err := s.Run(context.Background(), newMemFiles("u_flood", nil), sandbox.Spec{
		Argv:   []string{"/usr/bin/python3", "-c", "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", m},
		Limits: sandbox.Limits{Output: 100 << 10},
	})
	require.NoError(t, err)
	assert.Equal(t, sandbox.LimitOutput, res.LimitHit)
	assert.True(t, res.StdoutTruncated)
	assert.Len(t, res.Stdout, 100<<10, "stdout is capped at the limit")
	assert.Equal(t, -1, res.ExitCode, "the flood was killed")
	assertNoProcess(t, m)
}

func TestHostileExitsBySignal(t *testing.T) {
	t.Parallel()
	res := run(t, newMemFiles("u_sig", nil), "import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n", sandbox.Limits{})
	assert.Equal(t, -1, res.ExitCode)
	assert.Equal(t, syscall.SIGABRT, res.Signal, "death by signal is reported as the signal")
	assert.Equal(t, sandbox.LimitNone, res.LimitHit, "a signal the code sent itself is no limit")
}

func TestHostileOpensTooManyFiles(t *testing.T) {
	t.Parallel()
	res := run(t, newMemFiles("u_files", nil), "fs = [open('/dev/null') for _ in range(100000)]\n", sandbox.Limits{Files: 64})
	assert.Equal(t, sandbox.LimitFiles, res.LimitHit, "stderr: %s", res.Stderr)
	assert.Equal(t, 1, res.ExitCode)
}

func TestHostileFillsScratch(t *testing.T) {
	t.Parallel()
	res := run(t, newMemFiles("u_fill", nil), "f = open('/work/tmp/big', 'wb')\nwhile True:\n    f.write(b'x' * (1 << 20))\n    f.flush()\n", sandbox.Limits{Scratch: 4 << 20})
	assert.Equal(t, sandbox.LimitScratch, res.LimitHit, "stderr: %s", res.Stderr)
	assert.Equal(t, 1, res.ExitCode)
}

func TestInputsLargerThanScratch(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2<<20)
	res := run(t, newMemFiles("u_big", map[string]string{"big.csv": big}), "print('never')", sandbox.Limits{Scratch: 1 << 20}, "big.csv")
	assert.Equal(t, sandbox.LimitScratch, res.LimitHit, "inputs that do not fit stop the run at setup")
	assert.Empty(t, res.Stdout, "the code never ran")
}

func TestHostileKernelInterfaces(t *testing.T) {
	t.Parallel()
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no seccomp table for %s", runtime.GOARCH)
	}
	nr := map[string]map[string]int{
		"amd64": {"shmget": 29, "msgget": 68, "ptrace": 101, "io_uring_setup": 425, "bpf": 321, "userfaultfd": 323, "keyctl": 250, "unshare": 272},
		"arm64": {"shmget": 194, "msgget": 186, "ptrace": 117, "io_uring_setup": 425, "bpf": 280, "userfaultfd": 282, "keyctl": 219, "unshare": 97},
	}[runtime.GOARCH]
	var calls strings.Builder
	for name, n := range nr {
		fmt.Fprintf(&calls, "    (%q, %d),\n", name, n)
	}
	code := `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for name, nr in [
` + calls.String() + `]:
    r = libc.syscall(nr, 0, 0, 0, 0, 0)
    print(name, r, ctypes.get_errno())
try:
    os.memfd_create("x")
    print("memfd ALLOWED")
except OSError as e:
    print("memfd", e.errno)
print("getpid ok", os.getpid() > 0)
`
	res := run(t, newMemFiles("u_sys", nil), code, sandbox.Limits{})
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	out := string(res.Stdout)
	for name := range nr {
		assert.Contains(t, out, name+" -1 1\n", "%s fails with EPERM", name)
	}
	assert.Contains(t, out, "memfd 1\n", "memfd_create fails with EPERM: memory outside RLIMIT_AS")
	assert.Contains(t, out, "getpid ok True", "ordinary system calls work")
}

func TestHostileSignalsHost(t *testing.T) {
	t.Parallel()
	// The test process and the host's init, by their host pids.
	code := fmt.Sprintf(`
import os, signal
for pid in [%d, %d]:
    try:
        os.kill(pid, signal.SIGKILL)
        print("KILLED", pid)
    except ProcessLookupError:
        print("no such process")
    except PermissionError:
        print("denied")
`, os.Getpid(), os.Getppid())
	res := run(t, newMemFiles("u_kill", nil), code, sandbox.Limits{})
	require.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	assert.NotContains(t, string(res.Stdout), "KILLED", "host processes are out of reach")
	assert.Equal(t, 2, strings.Count(string(res.Stdout), "no such process"), "host pids do not exist in the sandbox: %s", res.Stdout)
}

func TestProcessesLimitIsPerRun(t *testing.T) {
	t.Parallel()
	s, _ := newTestSandbox(t)
	// Each run holds 20 children at once; together they exceed one run's
	// limit, which must count each run's processes apart.
	code := `
import os, time
kids = []
for _ in range(20):
    pid = os.fork()
    if pid == 0:
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
print("ok")
`
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			res, err := s.Run(context.Background(), newMemFiles(fmt.Sprintf("u_p%d", i), nil), sandbox.Spec{
				Code:   []byte(code),
				Limits: sandbox.Limits{Processes: 32},
			})
			if assert.NoError(t, err) {
				assert.Equal(t, "ok\n", string(res.Stdout), "stderr: %.300s", res.Stderr)
				assert.Equal(t, sandbox.LimitNone, res.LimitHit)
			}
		})
	}
	wg.Wait()
}
