package retentionsql_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/inferlabs/privkit"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentionsql"
)

// A host keeps its inventory in the embedded SQLite file (or PostgreSQL,
// shared by all instances) and sweeps it.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "retention-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := privkit.OpenSQLite(ctx, filepath.Join(dir, "privkit.db")) // or privkit.OpenPostgres(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := retentionsql.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	m, err := retention.New(store, &retention.Options{
		Now:    func() time.Time { return now }, // a fixed clock for the example
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	m.RegisterDeleter("workspace", retention.DeleterFunc(func(context.Context, retention.Item) error { return nil }))
	if _, err := m.Track(ctx, retention.Item{ID: "file_1", Category: retention.CategoryUploadedFile, Subject: "u_3f9c",
		System: "workspace", Plan: "free", CreatedAt: now.Add(-90 * time.Minute)}); err != nil {
		log.Fatal(err)
	}
	rep, err := m.Sweep(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	it, err := m.Item(ctx, "file_1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted:", rep.Deleted, "state:", it.State, "at:", it.DeletedAt.Format(time.RFC3339))
	// Output:
	// deleted: 1 state: deleted at: 2025-06-01T12:00:00Z
}
