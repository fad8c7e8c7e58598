package sandbox

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	lim := defaultLimits
	lim.CPU = 2 * time.Second
	tests := []struct {
		name   string
		res    Result
		stderr string
		want   LimitKind
		why    string
	}{
		{"success", Result{ExitCode: 0}, "MemoryError", LimitNone, "a successful run hit no limit, whatever it printed"},
		{"plain failure", Result{ExitCode: 1}, "ValueError: bad\n", LimitNone, "an ordinary exception is no limit"},
		{"sigxcpu", Result{ExitCode: -1, Signal: sigXCPU}, "", LimitCPU, "the soft CPU limit's signal"},
		{"sigkill over cpu", Result{ExitCode: -1, Signal: syscall.SIGKILL, Usage: Usage{User: 2 * time.Second}}, "", LimitCPU, "the hard CPU limit kills"},
		{"sigkill under cpu", Result{ExitCode: -1, Signal: syscall.SIGKILL, Usage: Usage{User: time.Second}}, "", LimitNone, "a SIGKILL with CPU to spare is no CPU limit"},
		{"memory", Result{ExitCode: 1}, "Traceback...\nMemoryError\n", LimitMemory, "Python's MemoryError"},
		{"processes", Result{ExitCode: 1}, "BlockingIOError: [Errno 11] Resource temporarily unavailable\n", LimitProcesses, "fork's EAGAIN"},
		{"threads", Result{ExitCode: 1}, "RuntimeError: can't start new thread\n", LimitProcesses, "threads count as processes"},
		{"files", Result{ExitCode: 1}, "OSError: [Errno 24] Too many open files: '/dev/null'\n", LimitFiles, "EMFILE"},
		{"scratch", Result{ExitCode: 1}, "OSError: [Errno 28] No space left on device\n", LimitScratch, "ENOSPC on the tmpfs"},
		{"last marker wins", Result{ExitCode: 1}, "Too many open files\n...\nMemoryError\n", LimitMemory, "a traceback ends with the failure"},
		{"signal abort", Result{ExitCode: -1, Signal: syscall.SIGABRT}, "", LimitNone, "a signal alone is no limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, classify(&tt.res, lim, []byte(tt.stderr)), tt.why)
		})
	}
}

func TestLimitsOrDefaults(t *testing.T) {
	t.Parallel()
	opts := Limits{Timeout: time.Minute, Memory: 1 << 20}
	spec := Limits{Memory: 2 << 20, Files: 7}
	got := spec.orDefaults(opts.orDefaults(defaultLimits))
	want := defaultLimits
	want.Timeout = time.Minute // from Options
	want.Memory = 2 << 20      // Spec beats Options
	want.Files = 7             // Spec beats the default
	assert.Equal(t, want, got)
	assert.Equal(t, defaultLimits, Limits{Timeout: -1}.orDefaults(defaultLimits), "negative means default")
	assert.Equal(t, defaultLimits, DefaultLimits())
	env := DefaultEnv()
	env[0] = "PATH=/changed"
	assert.Equal(t, "PATH=/usr/bin:/bin", DefaultEnv()[0], "callers get a copy")
	assert.Equal(t, time.Second, cpuSeconds(time.Millisecond), "CPU is at least a second")
	assert.Equal(t, 3*time.Second, cpuSeconds(2500*time.Millisecond), "CPU rounds up")
}

func TestCapture(t *testing.T) {
	t.Parallel()
	overs := 0
	c := newCapture(10, func() { overs++ })
	n, err := c.Write([]byte("0123456"))
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	b, trunc := c.bytes()
	assert.Equal(t, "0123456", string(b))
	assert.False(t, trunc)
	n, err = c.Write([]byte("789abc"))
	require.NoError(t, err)
	assert.Equal(t, 6, n, "every write is accepted, so the writer never blocks")
	c.Write([]byte("more"))
	b, trunc = c.bytes()
	assert.Equal(t, "0123456789", string(b), "the head is capped")
	assert.True(t, trunc)
	assert.Equal(t, 1, overs, "over is called once")
	assert.Equal(t, "0123456789abcmore", string(c.tailBytes()))

	big := strings.Repeat("x", 3*tailSize) + "MemoryError"
	c = newCapture(1, nil)
	for i := 0; i < len(big); i += 100 {
		c.Write([]byte(big[i:min(i+100, len(big))]))
	}
	tail := c.tailBytes()
	assert.Len(t, tail, tailSize, "the tail is bounded")
	assert.True(t, strings.HasSuffix(string(tail), "MemoryError"), "the tail ends with the stream's end")
}
