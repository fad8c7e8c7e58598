package keystoresql_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/inferlabs/privkit"
	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/encryption/keystoresql"
)

// Keep a Keyring's keys in the embedded SQLite database.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "keystoresql-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := privkit.OpenSQLite(ctx, filepath.Join(dir, "privkit.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := keystoresql.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	kek, err := encryption.GenerateLocalKEK() // example only: use a KMS or a KEK file
	if err != nil {
		log.Fatal(err)
	}
	k, err := encryption.NewKeyring(store, kek, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()

	ct, err := k.Encrypt(ctx, "upload-1", []byte("hello"), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := k.Shred(ctx, "upload-1"); err != nil { // gone from every file of privkit.db
		log.Fatal(err)
	}
	_, err = k.Decrypt(ctx, "upload-1", ct, nil)
	fmt.Println(errors.Is(err, encryption.ErrShredded))
	// Output: true
}
