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
// check that nothing was edited, removed or reordered afterwards:
//
//   - [Log.Append] returns once the entry is durable. Concurrent appends are
//     committed together in one store transaction and one sync (group
//     commit), so throughput grows with concurrency.
//   - [Log.Checkpoint] signs a C2SP tlog-checkpoint as a C2SP signed note
//     with Ed25519 (golang.org/x/mod/sumdb/note); [VerifyCheckpoint] checks
//     one with nothing but the log's public verifier key.
//   - [Log.InclusionProof] and [Log.ConsistencyProof] return RFC 6962
//     proofs, checked by [VerifyInclusion] and [VerifyConsistency] or any
//     other RFC 6962 implementation (x/mod tlog, transparency-dev/merkle).
//   - [Verify] re-reads a whole store, re-hashes every leaf, rebuilds the
//     tree and checks the checkpoints, reporting the first bad index.
//   - [Log.Query] finds entries by subject, actor, resource, action and
//     time, page by page; each query is itself appended to the log.
//   - [Log.ApplyRetention] strips the payload of entries older than the
//     retention period (one year by default) and keeps their leaf hashes,
//     so the chain, the tree and every other entry's proof still verify.
//   - [Guard] lets an employee reach a user's data only under a grant for
//     one allowed purpose, with a ticket and an expiry; every grant, access
//     and denial is an entry.
//
// # Stores
//
// A [Store] keeps one log. [NewMemoryStore] is for tests and ephemeral use;
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
// other bytes (unknown version, truncation, trailing bytes, an invalid
// event), so equal entries have equal hashes. A later format will carry
// another version byte; readers keep accepting version 1.
//
// # Checkpoints
//
// A checkpoint body is "<origin>\n<size>\n<base64 root>\n" (C2SP
// tlog-checkpoint), signed as a C2SP signed note. The origin is the
// signer's key name unless [Options] says otherwise. privkit formats the
// body itself: tlog.FormatTree hard-codes the Go checksum database's origin.
//
// # Non-goals
//
// The log records who touched which data and why; it never stores content,
// and its identifiers of people are pseudonyms the host supplies. It is not
// a general event store, and it does not gossip its checkpoints: hosts
// publish them (or send them to witnesses) so that a log rewritten from the
// start is caught too.
package audit
