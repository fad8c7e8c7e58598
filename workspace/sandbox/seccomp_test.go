package sandbox

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evalFilter runs the classic-BPF subset seccompFilter emits over a
// seccomp_data of (arch, nr) and returns the action.
func evalFilter(t *testing.T, prog []byte, arch, nr uint32) uint32 {
	t.Helper()
	require.Zero(t, len(prog)%8)
	var acc uint32
	for pc := 0; pc < len(prog)/8; pc++ {
		in := prog[pc*8:]
		code := binary.NativeEndian.Uint16(in)
		jt, jf := in[2], in[3]
		k := binary.NativeEndian.Uint32(in[4:])
		switch code {
		case bpfLdWAbs:
			switch k {
			case offsetNr:
				acc = nr
			case offsetArch:
				acc = arch
			default:
				t.Fatalf("load of offset %d", k)
			}
		case bpfJeqK, bpfJgeK:
			if (code == bpfJeqK && acc == k) || (code == bpfJgeK && acc >= k) {
				pc += int(jt)
			} else {
				pc += int(jf)
			}
		case bpfRetK:
			return k
		default:
			t.Fatalf("unexpected opcode %#x", code)
		}
	}
	t.Fatal("filter fell off its end")
	return 0
}

func TestSeccompFilter(t *testing.T) {
	t.Parallel()
	assert.Nil(t, seccompFilter("riscv64"), "no table, no filter")
	for goarch, tbl := range deniedSyscalls {
		prog := seccompFilter(goarch)
		require.NotNil(t, prog)
		denied := map[uint32]bool{}
		for _, nr := range tbl.nrs {
			denied[nr] = true
			assert.Equal(t, uint32(retErrno|eperm), evalFilter(t, prog, tbl.arch, nr), "%s: %d is denied", goarch, nr)
		}
		for nr := uint32(0); nr < 500; nr++ {
			if !denied[nr] {
				assert.Equal(t, uint32(retAllow), evalFilter(t, prog, tbl.arch, nr), "%s: %d is allowed", goarch, nr)
			}
		}
		assert.Equal(t, uint32(retErrno|eperm), evalFilter(t, prog, 0x40000003, 1), "%s: a foreign ABI (i386) is denied", goarch)
		if goarch == "amd64" {
			assert.Equal(t, uint32(retErrno|eperm), evalFilter(t, prog, tbl.arch, x32Bit|1), "x32 calls are denied")
		}
	}
}
