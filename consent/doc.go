// Package consent records what each subject allows, answers whether a
// purpose is allowed, and enforces the answer on the server: Global Privacy
// Control, jurisdiction defaults, versioned notices, proof of consent, and
// gates in front of analytics senders.
//
// Most hosts want [New], [Manager.Allowed] (or [Manager.Check] for the
// reason and the record), [Manager.Grant] and [Manager.Withdraw],
// [Manager.Middleware] for GPC, and [Manager.Gate] in front of their
// analytics client. Decisions live in a [Store]: [NewMemoryStore] for tests,
// consent/consentsql (SQLite, PostgreSQL) for real use.
package consent
