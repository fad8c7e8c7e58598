package audit_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/inferlabs/privkit/audit"
)

// Append events, take a signed checkpoint, and prove that one entry is in
// the log the checkpoint commits to.
func ExampleLog_InclusionProof() {
	ctx := context.Background()
	// A real host generates the key once, keeps the signer key secret and
	// publishes the verifier key to its auditors.
	skey, vkey, err := audit.GenerateKey("audit.example.com/prod")
	if err != nil {
		log.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		log.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.NewMemoryStore(), signer, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	for _, file := range []string{"report.csv", "notes.txt", "model.py"} {
		if _, err := l.Append(ctx, audit.Event{
			Actor: "service:analysis", Action: "workspace.file.read",
			Resource: "workspace/ws_9a/" + file, Subject: "user:u_3f9c", Purpose: "answer_chat",
		}); err != nil {
			log.Fatal(err)
		}
	}
	msg, err := l.Checkpoint(ctx)
	if err != nil {
		log.Fatal(err)
	}

	// What an auditor holds: the verifier key, the checkpoint, the entry
	// and its proof.
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		log.Fatal(err)
	}
	cp, err := audit.VerifyCheckpoint(msg, "", verifier)
	if err != nil {
		log.Fatal(err)
	}
	entry, err := l.Entry(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	proof, err := l.InclusionProof(ctx, entry.Index, cp.Size)
	if err != nil {
		log.Fatal(err)
	}
	if err := audit.VerifyInclusion(entry.Index, cp.Size, entry.Hash, cp.Root, proof); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("entry %d (%s) is in the log of %d entries\n", entry.Index, entry.Event.Resource, cp.Size)
	// Output:
	// entry 1 (workspace/ws_9a/notes.txt) is in the log of 3 entries
}

// Verify a checkpoint with nothing but the log's public verifier key, and
// reject one signed by another key.
func ExampleVerifyCheckpoint() {
	// UNSAFE outside examples: a fixed, published key pair. It is the
	// public test key of testdata/notes/derived-checkpoint-vectors.txt.
	const (
		skey = "PRIVATE+KEY+example.com/audit-test+b256ea33+Af+HsTdy3teJi4VmhIWzNvqsLB1dpcEVLLCA847cKs38"
		vkey = "example.com/audit-test+b256ea33+AYAQOlK+NMeNuYKMpP12fU/pbLAyaVdBu2P13xDH0mRN"
	)
	signer, err := note.NewSigner(skey)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := audit.SignCheckpoint(audit.Checkpoint{Origin: "example.com/audit-test", Size: 0, Root: audit.EmptyRoot}, signer)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(msg))

	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		log.Fatal(err)
	}
	cp, err := audit.VerifyCheckpoint(msg, "", verifier)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", cp.Origin, cp.Size)

	_, otherV, err := audit.GenerateKey("example.com/audit-test")
	if err != nil {
		log.Fatal(err)
	}
	other, err := note.NewVerifier(otherV)
	if err != nil {
		log.Fatal(err)
	}
	_, err = audit.VerifyCheckpoint(msg, "", other)
	fmt.Println("under another key:", errors.Is(err, audit.ErrCheckpointSignature))
	// Output:
	// example.com/audit-test
	// 0
	// 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
	//
	// — example.com/audit-test slbqM4gGzeSHd9FWAsHYlO/W94yFfWusEohq1VwICJo4A88VcE/eEbnHraXgftJ4Z5CMMTFQKBzgMxt45BeU88/1wgU=
	// verified: example.com/audit-test 0
	// under another key: true
}

// Grant an employee access to one user's data for one purpose, use it, and
// see the guard refuse everything else.
func ExampleGuard() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	skey, _, err := audit.GenerateKey("audit.example.com/prod")
	if err != nil {
		log.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		log.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.NewMemoryStore(), signer, &audit.Options{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	guard := audit.NewGuard(l, nil)

	grant, err := guard.Grant(ctx, audit.Grant{
		Employee: "employee:e_17", User: "user:u_3f9c", Purpose: audit.ResolveIssue,
		Ticket: "SUP-4242", Expires: now.Add(4 * time.Hour), GrantedBy: "employee:lead_2",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("grant", grant.ID, "for", grant.Purpose, "until", grant.Expires.Format(time.Kitchen))

	_, err = guard.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: "user:u_3f9c", Purpose: audit.ResolveIssue, Resource: "workspace/ws_9a"})
	fmt.Println("resolve_issue:", err)
	_, err = guard.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: "user:u_3f9c", Purpose: audit.EvaluatePerformance, Resource: "workspace/ws_9a"})
	fmt.Println("evaluate_performance:", err)

	// The user asks who looked at their data.
	page, err := l.Query(ctx, audit.Query{Reader: "user:u_3f9c", Purpose: "dsr_access", Subject: "user:u_3f9c", Action: audit.AccessAction})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page.Entries {
		fmt.Println(e.Event.Actor, e.Event.Purpose, e.Event.Outcome)
	}
	// Output:
	// grant 0 for resolve_issue until 1:00PM
	// resolve_issue: <nil>
	// evaluate_performance: audit: access denied: no valid grant
	// employee:e_17 resolve_issue success
	// employee:e_17 evaluate_performance denied
}
