// Package privkit is an embeddable SDK of privacy and storage primitives for
// Go services that let people upload files, chat with an assistant about
// them, and send parts of that content to LLM providers. A service imports
// it to keep its privacy policy's promises by construction, and to prove
// that it did.
//
// # The packages
//
// Floors, lowest first; a package imports only from floors below it:
//
//   - floor 0: [github.com/inferlabs/privkit/audit] — the tamper-evident log
//     every other package records to: hash chain, RFC 6962 Merkle tree, signed
//     C2SP checkpoints, proofs, group commit, purpose-bound employee access.
//   - floor 1: [github.com/inferlabs/privkit/encryption] — envelope AES-256
//     per data source (Tink keysets wrapped by a KEK), streams, rotation,
//     crypto-shredding, argon2id passwords, pseudonyms;
//     [github.com/inferlabs/privkit/consent] — purposes, notices, decisions
//     with proof, Global Privacy Control, server-side gates for analytics.
//   - floor 2: [github.com/inferlabs/privkit/workspace] — per-user TTL
//     workspaces, encrypted at rest, with [github.com/inferlabs/privkit/workspace/sandbox]
//     for the user's Python in bubblewrap; [github.com/inferlabs/privkit/retention]
//     — policies, sweeper, holds, inventory, vendors, data-subject requests;
//     [github.com/inferlabs/privkit/llm] — a provider-neutral LLM client
//     with data-policy routing and reversible redaction
//     ([github.com/inferlabs/privkit/llm/redact]).
//   - floor 3: examples/ — host programs; `go run ./examples/datascientist`
//     tells the whole story.
//
// Each stateful package has an in-memory store and a SQL store in
// <pkg>/<pkg>sql that takes a *sql.DB from [OpenSQLite] (the embedded
// default) or [OpenPostgres] (state shared by many instances). Packages
// never call each other directly: each declares the small interface it needs
// and the host passes the concrete type.
//
// # Composition
//
// A host wires them once, at start-up (errors elided):
//
//	db, _ := privkit.OpenSQLite(ctx, "data/privkit.db")
//	log, _ := audit.Open(ctx, must(auditsql.New(ctx, db)), signer, nil)
//	keys, _ := encryption.NewKeyring(must(keystoresql.New(ctx, db)), kek, &encryption.Options{Auditor: log})
//	cons, _ := consent.New(must(consentsql.New(ctx, db)), &consent.Options{Auditor: log})
//	spaces, _ := workspace.New(ctx, "data/ws", keys, must(workspacesql.New(ctx, db)), &workspace.Options{Auditor: log})
//	ret, _ := retention.New(must(retentionsql.New(ctx, db)), &retention.Options{Auditor: log})
//	ret.RegisterDeleter("workspace", retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
//		return spaces.Delete(ctx, it.Subject)
//	}))
//	ai, _ := llm.New([]llm.Provider{openai.New(apiKey, nil)}, &llm.Options{Consent: cons, Auditor: log})
//	conv := ai.Conversation(userPseudonym) // redacts on the way out, restores on the way back
//
// examples/datascientist is the complete version of this sketch.
package privkit
