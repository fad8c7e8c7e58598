// Package consent records what each subject allows and enforces it on the
// server: a purpose registry, versioned notices, jurisdiction defaults,
// Global Privacy Control, an append-only history with proof of consent, and
// gates in front of analytics senders. A banner asks; this package decides
// whether an event may leave.
//
// # Use
//
// Most hosts want:
//
//   - [New] over a [Store]: [NewMemoryStore] for tests, consent/consentsql
//     (SQLite, PostgreSQL) for real use. Pass an *audit.Log as
//     [Options].Auditor: every decision becomes an audit event.
//   - [Manager.Grant] and [Manager.Withdraw] (one call each), or
//     [Manager.Record] for a full [Decision].
//   - [Manager.Allowed], or [Manager.Check] for the [Reason] and the decision
//     behind the answer. Both fail closed: an unknown purpose, an empty
//     subject or a store error answers "no" with an error.
//   - [Manager.Middleware] to apply GPC, with [Options].SubjectFromRequest,
//     and [WellKnownHandler] at [WellKnownPath].
//   - [Manager.Gate] in front of the analytics client (PostHog, through a
//     [SenderFunc]), and [Manager.BrowserState] for Google Consent Mode v2 and
//     posthog-js.
//   - [Manager.Export] for a subject's proof of consent.
//
// # Purposes, mechanisms and regions
//
// A [Purpose] has a mechanism (notice-only, opt-out, opt-in), a GPC flag and
// the destinations it governs; [DefaultPurposes] lists the defaults. A
// region's [Jurisdiction] can make a purpose stricter, never looser, unless
// it overrides that purpose by key: EU/EEA/UK/CH are opt-in, the US opt-out,
// and an unknown region gets the strictest regime (opt-in, GPC honoured).
// The region of a check is the one [Manager.Middleware] put in the context
// for that subject, else the region of the subject's latest decision.
//
// # Notices
//
// A [Notice] is versioned per purpose and translated per language. A grant
// names the version shown; when a later version is marked Material, older
// grants stop counting ([ReasonNoticeChanged]) until the subject agrees
// again. Refusals keep counting.
//
// # Precedence
//
// The history is append-only. The current state of a (subject, purpose)
// pair is its decision with the latest decision time; equal times are
// ordered by the store's sequence number. A decision older than the current
// one is stored (it happened) but changes nothing.
//
// # Global Privacy Control
//
// Sec-GPC counts only when exactly "1" (with several fields, one "1" is
// enough). For a known subject in a region that honours GPC, the middleware
// records one denial with [MethodGPC] per GPC purpose, so the opt-out
// outlives the request. When that overrides an earlier explicit opt-in, the
// opt-out wins and the answer is [ReasonConflict]; the host may ask the
// subject, and a confirmation is recorded as its own decision
// ([MethodConfirm]), which then stands against GPC. [ParseGPP] reads the GPC
// bit a consent platform relays in a GPP string; a host that trusts it can
// put a [GPCResult] in the context with [WithGPC].
//
// # Cache and several instances
//
// Checks are served from an in-memory cache of each subject's current state:
// a hit takes a read lock and two small lookups and does not allocate. A
// decision recorded through a Manager updates its own cache at once. For
// Managers sharing a store:
//
//   - Every store numbers decisions with a store-wide sequence that follows
//     commit order ([Store].Changes). A Manager remembers the last number it
//     has seen and, before serving a cached "allowed" older than
//     [Options].MaxStaleness (default 1 s), reads the changes since then and
//     drops the subjects they touch. A cached "not allowed" is served
//     without asking: staleness can only ever refuse, never permit.
//   - A store may push news of decisions ([Watcher]). The memory store calls
//     every Manager before Append returns, so Managers sharing it never
//     serve a stale answer. consentsql on PostgreSQL uses LISTEN/NOTIFY, so
//     other instances drop a changed subject within milliseconds; the
//     staleness bound covers lost notifications.
//
// So a withdrawal recorded on one instance is honoured by every other
// instance no later than MaxStaleness after it commits (usually within
// milliseconds on PostgreSQL); set MaxStaleness negative to ask the store
// on every check that would allow.
//
// # Non-goals
//
// The package renders no banner and stores no cookies; of IAB strings it
// reads only the GPC bits of GPP US sections ([ParseGPP]), not TCF; it does
// not decide what counts as "sale or
// sharing" for a purpose (the host sets the GPC flag). Subjects are
// pseudonyms the host supplies; IP addresses are truncated (/24, /48) before
// they are stored. Erasing a subject's consent history is the host's call
// (proof of consent is usually kept for accountability).
package consent
