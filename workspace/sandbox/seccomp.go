package sandbox

import (
	"encoding/binary"
	"runtime"
)

// The seccomp filter the bubblewrap engine installs before the command runs.
// It makes a short list of system calls fail with EPERM: those that hold
// memory outside the per-process address-space limit (System V shared
// memory and message queues, memfd), those that reach into other processes
// (ptrace, process_vm_*), and kernel interfaces a data script never needs
// and that have a history of privilege escalations (io_uring, bpf,
// userfaultfd, perf events, keyrings, module loading, mounts, namespaces,
// file handles). System calls of a foreign ABI (i386 or x32 on amd64) all
// fail. Everything else is allowed: this hardens bubblewrap's isolation,
// it is not an allowlist.

// deniedSyscalls maps GOARCH to the audit architecture and the numbers of
// the denied system calls, from the kernel's unistd tables.
var deniedSyscalls = map[string]struct {
	arch uint32
	nrs  []uint32
}{
	"amd64": {0xC000003E, []uint32{ // AUDIT_ARCH_X86_64
		29, 30, 31, 68, // shmget shmat shmctl msgget
		319, 447, // memfd_create memfd_secret
		101, 310, 311, // ptrace process_vm_readv process_vm_writev
		425, 426, 427, 321, 323, 298, // io_uring_* bpf userfaultfd perf_event_open
		248, 249, 250, // add_key request_key keyctl
		175, 176, 313, 246, 320, // init_module delete_module finit_module kexec_load kexec_file_load
		165, 166, 155, 163, // mount umount2 pivot_root acct
		272, 308, // unshare setns
		300, 303, 304, // fanotify_init name_to_handle_at open_by_handle_at
	}},
	"arm64": {0xC00000B7, []uint32{ // AUDIT_ARCH_AARCH64
		194, 196, 195, 186,
		279, 447,
		117, 270, 271,
		425, 426, 427, 280, 282, 241,
		217, 218, 219,
		105, 106, 273, 104, 294,
		40, 39, 41, 89,
		97, 268,
		262, 264, 265,
	}},
}

// Classic BPF as seccomp uses it.
const (
	bpfLdWAbs  = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK    = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfRetK    = 0x06 // BPF_RET | BPF_K
	retAllow   = 0x7fff0000
	retErrno   = 0x00050000 // SECCOMP_RET_ERRNO; the low 16 bits are the errno
	eperm      = 1
	x32Bit     = 0x40000000
	offsetNr   = 0 // seccomp_data.nr
	offsetArch = 4 // seccomp_data.arch
)

type bpfInsn struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// seccompFilter returns the filter for goarch as the array of struct
// sock_filter bwrap's --seccomp reads, or nil when there is no table for
// goarch.
func seccompFilter(goarch string) []byte {
	t, ok := deniedSyscalls[goarch]
	if !ok {
		return nil
	}
	n := len(t.nrs)
	// Layout: check arch; load nr; [x32 check]; one jeq per denied nr;
	// allow; deny.
	var p []bpfInsn
	p = append(p, bpfInsn{bpfLdWAbs, 0, 0, offsetArch})
	extra := 0
	if goarch == "amd64" {
		extra = 1
	}
	// From the jeq on arch, deny is 1 (ld nr) + extra + n + 1 (allow) + 1 away.
	p = append(p, bpfInsn{bpfJeqK, 0, uint8(1 + extra + n + 1), t.arch})
	p = append(p, bpfInsn{bpfLdWAbs, 0, 0, offsetNr})
	if extra == 1 {
		p = append(p, bpfInsn{bpfJgeK, uint8(n + 1), 0, x32Bit})
	}
	for i, nr := range t.nrs {
		p = append(p, bpfInsn{bpfJeqK, uint8(n - i), 0, nr})
	}
	p = append(p, bpfInsn{bpfRetK, 0, 0, retAllow})
	p = append(p, bpfInsn{bpfRetK, 0, 0, retErrno | eperm})

	b := make([]byte, 0, 8*len(p))
	for _, in := range p {
		b = binary.NativeEndian.AppendUint16(b, in.code)
		b = append(b, in.jt, in.jf)
		b = binary.NativeEndian.AppendUint32(b, in.k)
	}
	return b
}

// hostSeccompFilter is the filter for the running architecture.
var hostSeccompFilter = seccompFilter(runtime.GOARCH)
