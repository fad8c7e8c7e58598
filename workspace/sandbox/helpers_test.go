package sandbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/workspace/sandbox"
	"github.com/inferlabs/privkit/workspace/sandbox/sandboxtest"
)

// newMemFiles is one user's in-memory workspace.
func newMemFiles(user string, files map[string]string) *sandboxtest.MemFiles {
	return sandboxtest.NewMemFiles(user, files)
}

// memAuditor collects audit events.
type memAuditor struct {
	mu     sync.Mutex
	events []audit.Event
	err    error
}

func (a *memAuditor) Record(_ context.Context, e audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.events = append(a.events, e)
	return nil
}

func (a *memAuditor) all() []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Event(nil), a.events...)
}

func attr(e audit.Event, key string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value(), true
		}
	}
	return "", false
}

var (
	checkOnce sync.Once
	checkErr  error
)

// requireSandbox skips the test, saying why, when bubblewrap cannot run on
// this host, and fails it when python3 is missing inside.
func requireSandbox(t testing.TB) {
	t.Helper()
	checkOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		checkErr = (&sandbox.Bubblewrap{}).Check(ctx)
	})
	if checkErr != nil {
		if errors.Is(checkErr, sandbox.ErrUnavailable) {
			t.Skipf("bubblewrap cannot run here: %v", checkErr)
		}
		t.Fatalf("bubblewrap check: %v", checkErr)
	}
	if _, err := os.Stat(sandbox.DefaultInterpreter); err != nil {
		t.Skipf("%s is missing on this host (apt-get install python3): %v", sandbox.DefaultInterpreter, err)
	}
}

// newTestSandbox returns a sandbox with a memory auditor and tight limits.
func newTestSandbox(t testing.TB) (*sandbox.Sandbox, *memAuditor) {
	t.Helper()
	requireSandbox(t)
	a := &memAuditor{}
	s := sandbox.New(&sandbox.Bubblewrap{}, &sandbox.Options{
		Auditor: a,
		Limits: sandbox.Limits{
			Timeout: 20 * time.Second,
			CPU:     5 * time.Second,
			Memory:  512 << 20,
			Scratch: 16 << 20,
			Output:  64 << 10,
		},
	})
	return s, a
}

// marker returns a random token to find a run's processes on the host.
func marker(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "privkit-sandbox-test-" + hex.EncodeToString(b)
}

// assertNoProcess fails if any host process mentions m in its command line
// or environment: every process of the run must be gone.
func assertNoProcess(t *testing.T, m string) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range ents {
		if _, err := fmt.Sscan(e.Name(), new(int)); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), m) {
			t.Errorf("process %s of the run survived it: %q", e.Name(), b)
		}
	}
}
