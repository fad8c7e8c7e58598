package encryption_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"

	"github.com/inferlabs/privkit/encryption"
)

// newKeyring builds a Keyring on in-memory state. A real host keeps its
// keysets in keystoresql and its KEK in a KMS or a passphrase-protected
// file (encryption.OpenLocalKEKFile).
func newKeyring() *encryption.Keyring {
	kek, err := encryption.GenerateLocalKEK() // in memory only: lost at exit
	if err != nil {
		log.Fatal(err)
	}
	k, err := encryption.NewKeyring(encryption.NewMemoryKeyStore(), kek, nil)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// Encrypt a record of a data source, bound to the row it is stored in.
func Example_record() {
	ctx := context.Background()
	k := newKeyring()
	defer k.Close()

	row := []byte("messages/42/body") // where the ciphertext will live
	ct, err := k.Encrypt(ctx, "upload-7f3a", []byte("Q3 revenue was 4.2M"), row)
	if err != nil {
		log.Fatal(err)
	}
	pt, err := k.Decrypt(ctx, "upload-7f3a", ct, row)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", pt)

	// The same ciphertext copied to another row does not open.
	_, err = k.Decrypt(ctx, "upload-7f3a", ct, []byte("messages/43/body"))
	fmt.Println(err)
	// Output:
	// Q3 revenue was 4.2M
	// encryption: message authentication failed
}

// Encrypt a file of any size in constant memory.
func Example_stream() {
	ctx := context.Background()
	k := newKeyring()
	defer k.Close()

	var stored bytes.Buffer // a file on disk, an object in a bucket…
	w, err := k.NewEncryptingWriter(ctx, "upload-7f3a", &stored, []byte("report.csv"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(w, "region,revenue\nnorth,4.2\n"); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil { // writes the last segment
		log.Fatal(err)
	}

	r, err := k.NewDecryptingReader(ctx, "upload-7f3a", &stored, []byte("report.csv"))
	if err != nil {
		log.Fatal(err)
	}
	plain, err := io.ReadAll(r) // trust the content only once io.EOF is reached
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(plain))
	// Output:
	// region,revenue
	// north,4.2
}

// Delete a data source by destroying its keys: every copy of its
// ciphertexts becomes unreadable.
func Example_shred() {
	ctx := context.Background()
	k := newKeyring()
	defer k.Close()

	ct, err := k.Encrypt(ctx, "upload-7f3a", []byte("secret"), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := k.Shred(ctx, "upload-7f3a"); err != nil {
		log.Fatal(err)
	}
	_, err = k.Decrypt(ctx, "upload-7f3a", ct, nil)
	fmt.Println(errors.Is(err, encryption.ErrShredded))
	_, err = k.Encrypt(ctx, "upload-7f3a", []byte("again"), nil)
	fmt.Println(err)
	// Output:
	// true
	// encryption: data source was shredded
}

// Store a login password and check it, upgrading old hashes on login.
func Example_password() {
	// nil parameters: OWASP's argon2id recommendation (19 MiB, t=2, p=1).
	stored, err := encryption.HashPassword([]byte("correct horse battery staple"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stored[:30])

	ok, needsRehash, err := encryption.VerifyPassword([]byte("correct horse battery staple"), stored, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ok, needsRehash)
	if ok && needsRehash {
		stored, _ = encryption.HashPassword([]byte("correct horse battery staple"), nil) // save it
	}

	ok, _, _ = encryption.VerifyPassword([]byte("wrong"), stored, nil)
	fmt.Println(ok)
	// Output:
	// $argon2id$v=19$m=19456,t=2,p=1
	// true false
	// false
}

// Keep what security logs need of an IP address, and no more.
func ExampleTruncateIP() {
	fmt.Println(encryption.TruncateIP(netip.MustParseAddr("203.0.113.77")))
	fmt.Println(encryption.TruncateIP(netip.MustParseAddr("2001:db8:1234:5678::9")))
	// Output:
	// 203.0.113.0
	// 2001:db8:1234::
}

// Pseudonymise identifiers for logs and audit entries.
func ExamplePseudonymizer() {
	// A hard-coded key is for the example only: use 32 random bytes from a
	// secret store.
	p, err := encryption.NewPseudonymizer([]byte("example-only-key-0123456789abcdef"))
	if err != nil {
		log.Fatal(err)
	}
	a := p.Pseudonym("user", "alice@example.com")
	fmt.Println(len(a), a == p.Pseudonym("user", "alice@example.com"), a == p.Pseudonym("ip", "alice@example.com"))
	// Output:
	// 43 true false
}

// Rotate a data source's key and move its stored records to the new key
// through an iterator over the host's rows.
func ExampleKeyring_Rotate() {
	ctx := context.Background()
	k := newKeyring()
	defer k.Close()

	rows := map[string][]byte{} // the host's table: row ID -> ciphertext
	for _, id := range []string{"r1", "r2"} {
		ct, err := k.Encrypt(ctx, "upload-7f3a", []byte("content of "+id), []byte(id))
		if err != nil {
			log.Fatal(err)
		}
		rows[id] = ct
	}
	if err := k.Rotate(ctx, "upload-7f3a"); err != nil {
		log.Fatal(err)
	}

	n, err := k.Reencrypt(ctx, "upload-7f3a", func(yield func(*encryption.Record) bool) {
		for _, id := range []string{"r1", "r2"} {
			rec := &encryption.Record{Ciphertext: rows[id], AssociatedData: []byte(id)}
			if !yield(rec) {
				return
			}
			rows[id] = rec.Ciphertext // UPDATE … SET data = ? WHERE id = ?
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	pt, err := k.Decrypt(ctx, "upload-7f3a", rows["r2"], []byte("r2"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, string(pt))
	// Output: 2 content of r2
}
