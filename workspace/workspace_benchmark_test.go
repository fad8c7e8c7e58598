package workspace_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/inferlabs/privkit/workspace"
)

// BenchmarkWrite compares a durable 1 MiB upload into a workspace
// (encryption through *encryption.Keyring, a new data file synced together
// with its directory, quota and activity bookkeeping, the replaced
// version's removal) with the same durability by hand.
func BenchmarkWrite(b *testing.B) {
	data := make([]byte, 1<<20)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	b.Run("raw-os/1MiB", func(b *testing.B) {
		dir := b.TempDir()
		dst := filepath.Join(dir, "file")
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		for range b.N {
			f, err := os.CreateTemp(dir, "tmp-*")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			if err := os.Rename(f.Name(), dst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("workspace/1MiB", func(b *testing.B) {
		ctx := context.Background()
		m, err := workspace.New(ctx, b.TempDir(), newKeyring(b), workspace.NewMemoryStore(), &workspace.Options{JanitorInterval: -1, Node: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		ws, err := m.Open(ctx, "u_bench")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		for range b.N {
			if _, err := ws.Create(ctx, "file.bin", bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
