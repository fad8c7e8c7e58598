package sandbox_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/inferlabs/privkit/workspace/sandbox"
)

// BenchmarkRun measures the cost of isolation: python3 -c pass started
// directly with os/exec (raw-exec, the baseline), then the same command
// through Sandbox.Run on bubblewrap, limits and audit included.
func BenchmarkRun(b *testing.B) {
	argv := []string{sandbox.DefaultInterpreter, "-c", "pass"}
	b.Run("raw-exec", func(b *testing.B) {
		requireSandbox(b)
		b.ReportAllocs()
		for b.Loop() {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = []string{}
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sandbox", func(b *testing.B) {
		s, _ := newTestSandbox(b)
		files := newMemFiles("u_bench", nil)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			res, err := s.Run(ctx, files, sandbox.Spec{Argv: argv})
			if err != nil {
				b.Fatal(err)
			}
			if res.ExitCode != 0 {
				b.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
			}
		}
	})
}
