package sandbox_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/sandbox"
)

// Run the assistant's Python over one uploaded CSV, in the user's encrypted
// workspace, and read the summary it wrote back.
//
// This example has no "Output:" line, so go test compiles it but does not
// run it: it needs bubblewrap and /usr/bin/python3, which not every host
// has. TestRunOverRealWorkspace runs the same steps, and skips saying why
// where bubblewrap cannot run.
func ExampleSandbox_Run() {
	ctx := context.Background()

	// The host's workspace manager, encrypting with a keyring. (A local KEK
	// generated at startup is an unsafe shortcut: use a KMS-held KEK.)
	kek, err := encryption.GenerateLocalKEK()
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := encryption.NewKeyring(encryption.NewMemoryKeyStore(), kek, nil)
	if err != nil {
		log.Fatal(err)
	}
	root, err := os.MkdirTemp("", "workspaces")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	manager, err := workspace.New(ctx, root, keyring, workspace.NewMemoryStore(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer manager.Close()
	ws, err := manager.Open(ctx, "u_3f9c")
	if err != nil {
		log.Fatal(err)
	}

	// The user uploads a file.
	csv := "region,amount\nnorth,10\nsouth,32\n"
	if _, err := ws.Create(ctx, "sales.csv", strings.NewReader(csv)); err != nil {
		log.Fatal(err)
	}

	// The assistant's code reads /work/in/sales.csv, writes /work/out/summary.txt.
	code := `
import csv
rows = list(csv.DictReader(open("/work/in/sales.csv")))
total = sum(int(r["amount"]) for r in rows)
open("/work/out/summary.txt", "w").write(f"{len(rows)} regions, total {total}\n")
`
	sb := sandbox.New(&sandbox.Bubblewrap{}, nil)
	if err := sb.Check(ctx); err != nil {
		log.Fatal(err) // no bubblewrap, or no user namespaces on this host
	}
	res, err := sb.Run(ctx, ws, sandbox.Spec{
		Code:    []byte(code),
		Inputs:  []string{"sales.csv"},
		Outputs: []string{"summary.txt"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if res.ExitCode != 0 || res.LimitHit != sandbox.LimitNone {
		log.Fatalf("exit %d, limit %v: %s", res.ExitCode, res.LimitHit, res.Stderr)
	}

	r, err := ws.Open(ctx, "summary.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	summary, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(summary))
	// Prints:
	// 2 regions, total 42
}

// echoEngine is an Engine that runs nothing: it prints the command. A real
// engine (gVisor's runsc, a microVM) isolates and runs Job.Argv.
type echoEngine struct{}

func (echoEngine) Check(context.Context) error { return nil }

func (echoEngine) Exec(_ context.Context, job *sandbox.Job) (*sandbox.Exit, error) {
	fmt.Fprintf(job.Stdout, "would run %s with %d file(s), %d MiB of scratch\n",
		strings.Join(job.Argv, " "), len(job.Files), job.Limits.Scratch>>20)
	return &sandbox.Exit{Code: 0}, nil
}

// Any Engine can take bubblewrap's place: Sandbox reads the inputs, applies
// the caps and the timeout, collects outputs and audits, the engine
// isolates.
func ExampleEngine() {
	files := newMemFiles("u_3f9c", map[string]string{"sales.csv": "region,amount\n"})
	sb := sandbox.New(echoEngine{}, &sandbox.Options{Limits: sandbox.Limits{Scratch: 32 << 20}})
	res, err := sb.Run(context.Background(), files, sandbox.Spec{
		Code:   []byte("print('hi')"),
		Inputs: []string{"sales.csv"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(res.Stdout))
	fmt.Println("exit", res.ExitCode, "limit", res.LimitHit)
	// Output:
	// would run /usr/bin/python3 /work/main.py with 2 file(s), 32 MiB of scratch
	// exit 0 limit none
}

// A run's audit event carries the code's hash, never its text.
func ExampleCodeHash() {
	spec := sandbox.Spec{Code: []byte("print('hi')")}
	fmt.Println(sandbox.CodeHash(&spec)[:16])
	// Output:
	// a83908bc07640348
}
