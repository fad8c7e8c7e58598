// Package retention keeps personal data only as long as its category
// allows, lets people export or erase all of it (at vendors too), and lets
// the privacy officer report on it.
//
// # What most users want
//
// Build a [Manager] over a [Store] ([NewMemoryStore] for tests,
// retentionsql.New for SQLite or PostgreSQL), register a [Deleter] (and an
// [Exporter]) for each system that stores personal data, [Manager.Track]
// every item as it is stored, and run [Manager.Sweep] periodically:
//
//	m, err := retention.New(store, &retention.Options{Auditor: auditLog})
//	m.RegisterDeleter("workspace", retention.DeleterFunc(deleteFile))
//	m.RegisterDeleter("openai", retention.VendorAutoDeletion(30*24*time.Hour))
//	if err := m.Lint(ctx); err != nil { ... } // a category with no deleter
//	m.Track(ctx, retention.Item{ID: "file_1", Category: retention.CategoryUploadedFile,
//		Subject: "u_3f9c", System: "workspace", Plan: "free"})
//	go m.Run(ctx, 5*time.Minute) // sweeps now and every 5 minutes, on any number of instances
//
// # Policy
//
// A [Policy] holds rules ([Rule]) per data category: delete or retain, a TTL
// counted from an [Anchor] (created, last activity, sent to a vendor,
// deleted by the user), optionally conditioned on plan, region and vendor
// ([VendorRules] turns the vendor registry's retention periods into rules).
// Precedence follows Microsoft Purview and S3 Object Lock (see [Policy]);
// contradictory rule sets are rejected by [NewPolicy]. [DefaultPolicy]
// holds privkit's defaults (uploads 1 h free / 7 days paid, conversations
// until the user deletes them, vendor copies 30 days, raw IP logs 30 days,
// audit entries 1 year).
//
// Plan changes ([Manager.SetPlan]) apply the current plan's rule from the
// next sweep: a downgrade makes an older file due at once; an upgrade never
// resurrects an item that was already due. A released legal hold does not
// restart any clock. Say so in the privacy notice.
//
// # Sweeping
//
// [Manager.Sweep] claims due items in the store, calls each system's
// Deleter with a timeout, and journals each step (claimed → deleting →
// deleted, failed with a retry time, or pending), so a crashed sweep is
// resumed by the next one and several instances sharing one PostgreSQL
// inventory never delete an item twice. It works a batch at a time
// (Options.BatchSize): one claim and one write of every item's "deleting"
// step before any deleter runs (a single transaction when the store
// implements [BatchClaimer]), the deleter calls by several workers at once
// (Options.SweepWorkers) while their outcomes are group-committed (one
// transaction per group when the store implements [BatchRecorder]), then
// the audit events. retentionsql implements both: a batch costs SQLite or
// PostgreSQL a few commits, whatever its size. A crash can leave an item whose deleter ran still
// journaled "deleting": the next sweep calls its (idempotent) deleter again
// and journals "deleted" once. Failed items stay tracked and are retried;
// items past due plus a grace period are reported by [Manager.Overdue].
// Every deletion is an audit event.
//
// # Holds, requests, vendors, reports
//
// [Manager.PlaceHold] puts items, subjects or categories on legal hold.
// [Manager.SubmitRequest] and [Manager.ProcessRequest] handle access and
// erasure requests with GDPR and CCPA due dates ([DeadlineFor]), an
// identity-verification hook ([Verifier]), a [Bundle] for access and a
// [Receipt] for erasure. [KnownVendors] seeds the vendor registry;
// [APIErasure], [ManualErasure] and [VendorAutoDeletion] are erasure
// connectors. [Manager.Report] computes KPIs, [Manager.RecordOfProcessing]
// the GDPR Art. 30 record, [Manager.RecordIncident] documents breaches.
//
// # Non-goals
//
// The package does not store or delete data itself: the host's Deleters
// do. It does not verify identities (the [Verifier] hook does), model
// public holidays in deadlines, or give legal advice: the shipped vendor
// facts and defaults must be checked against current terms and counsel.
package retention
