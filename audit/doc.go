// Package audit is privkit's tamper-evident log of data access.
//
// It is the lowest floor of privkit: every other package records what it
// does as an [Event] through a one-method interface that accepts one,
//
//	type Auditor interface { Record(ctx context.Context, e audit.Event) error }
//
// which [*Log] implements.
//
// A [Log] appends events as leaves of a hash chain and of an RFC 6962 Merkle
// tree, on the formats of today's transparency logs, so that auditors
// (SOC 2, ISO 27001, PCI DSS 10.x) and the people whose data was touched can
// check that nothing was edited, removed or reordered afterwards.
//
// # Using a log
//
//	skey, vkey, err := audit.GenerateKey("audit.example.com/prod") // once; publish vkey
//	signer, err := note.NewSigner(skey)
//	log, err := audit.Open(ctx, store, signer, nil)
//	defer log.Close()
//	idx, err := log.Append(ctx, audit.Event{Actor: "employee:e_17", Action: "workspace.file.read", …})
//	checkpoint, err := log.Checkpoint(ctx)
//
// What a log offers:
//
//   - [Log.Append] validates the event ([Event.Validate]) and returns once
//     the entry is durable. Concurrent appends are committed together in one
//     store transaction and one sync (group commit) by a committer goroutine
//     the Log owns, so throughput grows with concurrency; an uncontended
//     append commits at once on the caller's goroutine. [Log.Record] is
//     Append without the index.
//   - [Log.Checkpoint] signs a C2SP tlog-checkpoint as a C2SP signed note
//     with Ed25519 (golang.org/x/mod/sumdb/note); Options.CheckpointInterval
//     makes one periodically. [VerifyCheckpoint] checks one with nothing but
//     the log's public verifier key.
//   - [Log.Entry], [Log.InclusionProof], [Log.ConsistencyProof] and
//     [Log.Root] serve verifiers; [VerifyInclusion] and [VerifyConsistency]
//     check the proofs, as does any RFC 6962 implementation (x/mod tlog,
//     transparency-dev/merkle).
//   - [Verify] re-reads a whole store, re-hashes every leaf, checks the
//     chain, rebuilds the tree, compares every stored tree hash and checks
//     the checkpoints, reporting the first bad index in a [*VerifyError].
//   - [Log.Query] finds entries by subject, actor, resource, action and
//     time, page by page, so a user can be told who accessed their data,
//     when and why. Every query is itself appended to the log first.
//   - [Log.ApplyRetention] strips the payload of entries older than the
//     retention period (one year by default) and keeps their leaf hashes,
//     so the chain, the tree, old checkpoints and every proof still verify.
//   - [Guard] lets an employee reach a user's data only under a grant for
//     one allowed [Purpose], with a ticket and an expiry. Grants live in the
//     log itself; every grant, revocation, access and denial is an entry,
//     and the guard fails closed.
//
// A Log is safe for concurrent use. Close commits what is queued and stops
// its goroutines; later calls return [ErrClosed].
//
// # Stores
//
// A [Store] keeps one log: entries, the tlog stored hashes of the tree (so
// proofs read O(log n) hashes), and optionally checkpoints
// ([CheckpointStore]), indexed search ([SearchStore]) and payload removal
// ([StripStore]). [NewMemoryStore] is for tests and ephemeral use;
// audit/auditsql keeps the log in SQLite (the embedded default, one file)
// or PostgreSQL (shared by many service instances, which append through a
// single sequencer in the database). audit/audittest is the conformance
// suite every store passes.
//
// # Leaf format, version 1
//
// A leaf is the byte string below; its leaf hash is SHA-256(0x00 || leaf)
// and interior nodes SHA-256(0x01 || left || right) (RFC 6962). All
// integers are big-endian; a string is a uint16 length followed by that
// many bytes of UTF-8.
//
//	uint8     version, 1
//	uint64    index: the entry's position in the log, from 0
//	[32]byte  prev: the leaf hash of entry index-1 (zeros for entry 0)
//	int64     time: Unix nanoseconds, UTC
//	string ×9 actor, on-behalf-of, action, resource, subject, purpose,
//	          outcome ("success", "denied" or "error"), service, ip
//	uint8     number of attributes, at most 32, each:
//	            string  key
//	            uint8   kind: 1 string, 2 int, 3 bool
//	            value:  string; int64; or uint8 0 or 1
//
// There is exactly one encoding of an entry: [ParseEntry] rejects any
// other bytes (unknown version, truncation, trailing bytes, an event that
// does not pass [Event.Validate]), so equal entries have equal hashes. A
// later format will carry another version byte; readers keep accepting
// version 1.
//
// # Checkpoints
//
// A checkpoint body is "<origin>\n<size>\n<base64 root>\n" (C2SP
// tlog-checkpoint), signed as a C2SP signed note. The origin is the
// signer's key name unless Options.Origin says otherwise. privkit formats
// the body itself: tlog.FormatTree hard-codes the Go checksum database's
// origin. The empty tree's root is SHA-256 of nothing ([EmptyRoot]).
//
// # Trust
//
// Stores are trusted for availability, not integrity. [Verify] trusts a
// stored hash only for entries retention stripped, and even those must fit
// the chain, the tree and the signed checkpoints. A consistency proof from
// the empty tree (size 0) is refused: it would prove nothing.
//
// # Non-goals
//
// The log records who touched which data and why; it never stores content,
// and its identifiers of people are pseudonyms the host supplies. It is not
// a general event store, and it does not gossip its checkpoints: hosts
// publish them, or send them to witnesses, so that a log rewritten from the
// start is caught too — [Verify] with an auditor's earlier checkpoint
// (VerifyOptions.Checkpoints) detects any rewrite or truncation below it.
package audit
