package workspace_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/workspace"
)

// exampleKeyring returns a keyring whose key-encryption key lives only in
// memory. UNSAFE outside examples and tests: a real host keeps its KEK in
// a KMS or a passphrase-protected file, and its key store in a database.
func exampleKeyring() *encryption.Keyring {
	kek, err := encryption.GenerateLocalKEK()
	if err != nil {
		log.Fatal(err)
	}
	k, err := encryption.NewKeyring(encryption.NewMemoryKeyStore(), kek, nil)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// Upload a file into a user's workspace and read it back.
func Example() {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "workspaces")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	m, err := workspace.New(ctx, root, exampleKeyring(), workspace.NewMemoryStore(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	ws, err := m.Open(ctx, "u_7f3a9c") // a pseudonym, never an e-mail address
	if err != nil {
		log.Fatal(err)
	}
	fi, err := ws.Create(ctx, "sales.csv", strings.NewReader("region,total\nnorth,12\nsouth,7\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("uploaded", fi.Name(), fi.Size(), "bytes")

	rc, err := ws.Open(ctx, "sales.csv")
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(b))

	// On disk there is only ciphertext under random names.
	ents, err := os.ReadDir(ws.Dir())
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range ents {
		data, _ := os.ReadFile(ws.Dir() + "/" + e.Name())
		if bytes.Contains(data, []byte("north")) || strings.Contains(e.Name(), "sales") {
			fmt.Println("plaintext on disk!")
		}
	}
	// Output:
	// uploaded sales.csv 30 bytes
	// region,total
	// north,12
	// south,7
}

// A free-plan workspace is deleted after an hour without use, and a paid
// user's file after seven days however busy the workspace is. The clock is
// a variable here so the example can move time; a host leaves Now nil.
func Example_planExpiry() {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "workspaces")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	m, err := workspace.New(ctx, root, exampleKeyring(), workspace.NewMemoryStore(), &workspace.Options{
		Now: func() time.Time { return now },
		PlanResolver: func(ctx context.Context, user string) (string, error) {
			if user == "u_paid" {
				return workspace.PlanPaid, nil
			}
			return workspace.PlanFree, nil
		},
		JanitorInterval: -1, // this example calls Sweep itself
		OnEvent: func(e workspace.Event) {
			what := "workspace"
			if e.File != "" {
				what = "file"
			}
			line := fmt.Sprintf("%s: %s of %s", e.Kind, what, e.User)
			if e.Reason != "" {
				line += " (" + e.Reason + ")"
			}
			fmt.Println(line)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	free, _ := m.Open(ctx, "u_free")
	free.Create(ctx, "a.csv", strings.NewReader("a"))
	paid, _ := m.Open(ctx, "u_paid")
	paid.Create(ctx, "b.csv", strings.NewReader("b"))

	now = now.Add(61 * time.Minute)
	n, err := m.Sweep(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted", n)
	_, err = free.List(ctx)
	fmt.Println(err)

	for range 7 { // the paid user comes back every day
		now = now.Add(24 * time.Hour)
		paid.List(ctx)
	}
	_, err = paid.Stat(ctx, "b.csv")
	fmt.Println(err)
	// Output:
	// expired: workspace of u_free
	// deleted: workspace of u_free (idle)
	// deleted 1
	// workspace: expired
	// expired: file of u_paid
	// deleted: file of u_paid (max_age)
	// workspace: not found
}

// Import a zip of CSV files. Hostile archives (zip-slip paths, symlinks,
// zip bombs) fail as a whole and leave nothing behind.
func ExampleWorkspace_ImportZip() {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "workspaces")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	m, err := workspace.New(ctx, root, exampleKeyring(), workspace.NewMemoryStore(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ws, err := m.Open(ctx, "u_7f3a9c")
	if err != nil {
		log.Fatal(err)
	}

	archive := func(names ...string) *bytes.Reader {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, _ := zw.Create(n)
			io.WriteString(w, "id,value\n1,2\n")
		}
		zw.Close()
		return bytes.NewReader(buf.Bytes())
	}

	good := archive("export/sales.csv", "export/costs.csv")
	files, err := ws.ImportZip(ctx, good, good.Size())
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Name(), f.Size())
	}

	evil := archive("ok.csv", "../../etc/cron.d/evil")
	_, err = ws.ImportZip(ctx, evil, evil.Size())
	fmt.Println(err)
	list, _ := ws.List(ctx)
	fmt.Println(len(list), "files")
	// Output:
	// sales.csv 13
	// costs.csv 13
	// workspace: invalid file name: archive entry path
	// 2 files
}
