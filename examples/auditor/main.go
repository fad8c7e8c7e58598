// Command auditor shows what an outside auditor — or a user — can check of a
// privkit audit log with nothing but the log's public verifier key.
//
// It plays two parts. First the host: it creates a throw-away SQLite log in
// a temporary directory, records some data accesses and publishes two signed
// checkpoints. Then the auditor, who receives only bytes (the verifier key,
// checkpoints, one entry's leaf and the proofs) and trusts none of the
// host's code or storage:
//
//  1. each checkpoint's signature, by the published key, for the log's name;
//  2. the entry is in the tree of the latest checkpoint (inclusion proof);
//  3. the later checkpoint extends the earlier one: nothing recorded before
//     was changed or removed (consistency proof).
//
// Run it with: go run ./examples/auditor
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inferlabs/privkit"
	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/auditsql"
)

// evidence is everything the host hands the auditor: bytes only.
type evidence struct {
	verifierKey   string      // published once, e.g. on the host's website
	oldCheckpoint []byte      // an earlier signed checkpoint the auditor kept
	newCheckpoint []byte      // today's signed checkpoint
	leaf          []byte      // the entry the auditor asks about, as stored
	index         uint64      // its position
	inclusion     []tlog.Hash // proof: leaf is in the new tree
	consistency   []tlog.Hash // proof: the old tree is a prefix of the new one
}

func main() {
	ev, err := host()
	if err != nil {
		log.Fatal(err)
	}
	if err := auditor(ev); err != nil {
		log.Fatal("AUDIT FAILED: ", err)
	}
	fmt.Println("audit passed")
}

// host runs a service with an audit log and produces the evidence.
func host() (*evidence, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "privkit-auditor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// The embedded default: one SQLite file, opened with privkit's settings
	// (WAL, synchronous=FULL, secure_delete).
	db, err := privkit.OpenSQLite(ctx, filepath.Join(dir, "privkit.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	store, err := auditsql.New(ctx, db)
	if err != nil {
		return nil, err
	}

	// The host generates its checkpoint key once. The signer key stays
	// secret (a secrets manager in production); the verifier key is public.
	skey, vkey, err := audit.GenerateKey("audit.example.com/analysis")
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	l, err := audit.Open(ctx, store, signer, nil)
	if err != nil {
		return nil, err
	}
	defer l.Close()

	record := func(actor, action, resource, purpose string) (uint64, error) {
		return l.Append(ctx, audit.Event{
			Actor: actor, Action: action, Resource: resource,
			Subject: "user:u_3f9c", Purpose: purpose, Service: "analysis-api",
		})
	}
	if _, err := record("user:u_3f9c", "workspace.file.upload", "workspace/ws_9a/file/1", "user_request"); err != nil {
		return nil, err
	}
	if _, err := record("service:llm", "llm.chat", "workspace/ws_9a/chat/7", "answer_chat"); err != nil {
		return nil, err
	}
	old, err := l.Checkpoint(ctx) // the auditor saved this one last month
	if err != nil {
		return nil, err
	}
	idx, err := record("employee:e_17", "workspace.file.read", "workspace/ws_9a/file/1", "resolve_issue")
	if err != nil {
		return nil, err
	}
	if _, err := record("service:sweeper", "workspace.delete", "workspace/ws_9a", "retention"); err != nil {
		return nil, err
	}
	latest, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}

	// The proofs are for the sizes in the checkpoints the auditor holds.
	oldCP, err := audit.VerifyCheckpoint(old, "", mustVerifier(vkey))
	if err != nil {
		return nil, err
	}
	newCP, err := audit.VerifyCheckpoint(latest, "", mustVerifier(vkey))
	if err != nil {
		return nil, err
	}
	recs, err := store.ReadRecords(ctx, idx, idx+1)
	if err != nil || len(recs) != 1 {
		return nil, fmt.Errorf("read entry %d: %v", idx, err)
	}
	incl, err := l.InclusionProof(ctx, idx, newCP.Size)
	if err != nil {
		return nil, err
	}
	cons, err := l.ConsistencyProof(ctx, oldCP.Size, newCP.Size)
	if err != nil {
		return nil, err
	}
	return &evidence{vkey, old, latest, recs[0].Data, idx, incl, cons}, nil
}

func mustVerifier(vkey string) note.Verifier {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// auditor is the auditor: it uses only the evidence, the audit package's
// pure verification functions and x/mod's note, no store and no Log.
func auditor(ev *evidence) error {
	verifier, err := note.NewVerifier(ev.verifierKey)
	if err != nil {
		return err
	}
	// 1. Signatures. The origin defaults to the key's name.
	oldCP, err := audit.VerifyCheckpoint(ev.oldCheckpoint, "", verifier)
	if err != nil {
		return err
	}
	newCP, err := audit.VerifyCheckpoint(ev.newCheckpoint, "", verifier)
	if err != nil {
		return err
	}
	fmt.Printf("checkpoints of %s verified: size %d, then size %d\n", newCP.Origin, oldCP.Size, newCP.Size)

	// 2. Inclusion. The auditor decodes the leaf itself and hashes it.
	entry, err := audit.ParseEntry(ev.leaf)
	if err != nil {
		return err
	}
	if entry.Index != ev.index {
		return fmt.Errorf("leaf says index %d, not %d", entry.Index, ev.index)
	}
	if err := audit.VerifyInclusion(ev.index, newCP.Size, entry.Hash, newCP.Root, ev.inclusion); err != nil {
		return err
	}
	e := entry.Event
	fmt.Printf("entry %d is in the log: %s did %s on %s for %q at %s\n",
		entry.Index, e.Actor, e.Action, e.Resource, e.Purpose, e.Time.Format("2006-01-02"))

	// 3. Consistency: the log only grew since the old checkpoint.
	if err := audit.VerifyConsistency(oldCP.Size, newCP.Size, oldCP.Root, newCP.Root, ev.consistency); err != nil {
		return err
	}
	fmt.Printf("the log of %d entries extends the earlier log of %d: nothing was rewritten\n", newCP.Size, oldCP.Size)

	// A tampered leaf fails, as it must.
	forged := append([]byte(nil), ev.leaf...)
	forged[len(forged)-1] ^= 1
	if fe, err := audit.ParseEntry(forged); err == nil {
		if audit.VerifyInclusion(ev.index, newCP.Size, fe.Hash, newCP.Root, ev.inclusion) == nil {
			return fmt.Errorf("a forged entry verified")
		}
	}
	fmt.Println("a forged copy of the entry is rejected")
	return nil
}
