package workspace

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// Errors callers branch on. They may be returned wrapped, with detail
// that never names a file or a user; test with [errors.Is].
var (
	// ErrNotFound reports a file (or a store record) that does not exist.
	ErrNotFound = errors.New("workspace: not found")
	// ErrExpired reports a workspace or file that has expired or been
	// deleted. The data is gone; the user starts again with an empty
	// workspace from [Manager.Open].
	ErrExpired = errors.New("workspace: expired")
	// ErrQuota reports a write that would take the workspace over its
	// plan's byte or file limit, or an archive over its import limits.
	// Nothing of the write is left behind.
	ErrQuota = errors.New("workspace: quota exceeded")
	// ErrInvalidName reports a file name that [ValidName] rejects.
	ErrInvalidName = errors.New("workspace: invalid file name")
	// ErrClosed reports a call on a closed [Manager] or on a [Workspace]
	// of one.
	ErrClosed = errors.New("workspace: manager closed")
	// ErrExist reports a rename onto a name that is taken, or an archive
	// holding two entries of the same name.
	ErrExist = errors.New("workspace: file already exists")
	// ErrUnsafeFile reports a file in the workspace directory that is not
	// what privkit wrote: a symlink, a hard link, a directory or a file
	// swapped in by another process. privkit neither reads nor follows it.
	ErrUnsafeFile = errors.New("workspace: unsafe file in workspace directory")
	// ErrCorrupt reports encrypted metadata or file content that fails
	// authentication. The message gives no further hint, on purpose.
	ErrCorrupt = errors.New("workspace: message authentication failed")
	// ErrWrongNode reports a workspace that lives on another node of a
	// fleet; the error is a [*WrongNodeError] naming it.
	ErrWrongNode = errors.New("workspace: workspace lives on another node")
	// ErrBadArchive reports an archive that cannot be imported: not a zip,
	// a symlink or special entry, an entry that fails its checksum.
	ErrBadArchive = errors.New("workspace: bad archive")
	// ErrInvalidUser reports a user pseudonym that is empty, too long, not
	// UTF-8 or holds control characters.
	ErrInvalidUser = errors.New("workspace: invalid user pseudonym")
)

// WrongNodeError reports that a user's workspace lives on another node of a
// fleet. A router sends the user's requests to Node (see the package
// documentation, "Fleets").
type WrongNodeError struct {
	Node string // the node that holds the workspace
}

// Error returns a message naming the node.
func (e *WrongNodeError) Error() string {
	return "workspace: workspace lives on node " + e.Node
}

// Unwrap returns [ErrWrongNode].
func (e *WrongNodeError) Unwrap() error { return ErrWrongNode }

// Cipher encrypts and decrypts streams for a data source: the files and
// metadata of one workspace form one source. *encryption.Keyring satisfies
// it. Implementations must be safe for concurrent use.
//
// A ciphertext opens only with the source ID and associated data it was
// written with; a truncated or altered ciphertext makes the reader return
// an error, at the latest at the end of the stream. After Shred returns,
// no ciphertext of the source opens again. Shred of a source that has no
// key (never used, or already shredded) returns nil.
type Cipher interface {
	NewEncryptingWriter(ctx context.Context, sourceID string, dst io.Writer, associatedData []byte) (io.WriteCloser, error)
	NewDecryptingReader(ctx context.Context, sourceID string, src io.Reader, associatedData []byte) (io.Reader, error)
	Shred(ctx context.Context, sourceID string) error
}

// Auditor records audit events; *audit.Log satisfies it. Every deletion
// of a workspace or a file is recorded.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// AuditorFunc adapts a function to [Auditor].
type AuditorFunc func(ctx context.Context, e audit.Event) error

// Record calls f.
func (f AuditorFunc) Record(ctx context.Context, e audit.Event) error { return f(ctx, e) }

// Names of the built-in plans.
const (
	PlanFree = "free"
	PlanPaid = "paid"
)

// Plan is the storage rule a user's workspace runs under.
type Plan struct {
	// IdleTTL is how long a workspace lives without activity. Activity is
	// any call on the workspace or Manager.Open for its user. It must be
	// positive.
	IdleTTL time.Duration
	// MaxFileAge is how long a file lives after it was uploaded, however
	// active the workspace: a hard cap that activity and renames never
	// extend. Zero means files live as long as the workspace.
	MaxFileAge time.Duration
	// MaxBytes is the most plaintext bytes the workspace holds. Zero means
	// no limit.
	MaxBytes int64
	// MaxFiles is the most files the workspace holds. Zero means no limit.
	MaxFiles int
	// WarnBefore is how long before the idle expiry of the workspace, and
	// before each file's maximum age, an [EventWarning] is sent. Zero means
	// no warning.
	WarnBefore time.Duration
}

// DefaultPlans returns the plans drawn from the privacy policy: "free"
// (idle TTL 1 hour, each file at most 1 hour old, 100 MiB, 100 files, a
// warning 10 minutes before expiry) and "paid" (idle TTL 7 days, each file
// at most 7 days old, 10 GiB, 1000 files, a warning a day before). Each
// change rewrites the workspace's encrypted manifest, so keep MaxFiles in
// the thousands.
func DefaultPlans() map[string]Plan {
	return map[string]Plan{
		PlanFree: {IdleTTL: time.Hour, MaxFileAge: time.Hour, MaxBytes: 100 << 20, MaxFiles: 100, WarnBefore: 10 * time.Minute},
		PlanPaid: {IdleTTL: 7 * 24 * time.Hour, MaxFileAge: 7 * 24 * time.Hour, MaxBytes: 10 << 30, MaxFiles: 1000, WarnBefore: 24 * time.Hour},
	}
}

// ArchiveLimits bound what [Workspace.ImportZip] accepts. The plan's quota
// applies on top. Each zero field takes the default shown.
type ArchiveLimits struct {
	MaxArchiveBytes int64 // size of the zip itself; default 256 MiB
	MaxEntries      int   // file entries; default 1000
	MaxEntryBytes   int64 // decompressed bytes of one entry, counted as read; default 256 MiB
	MaxTotalBytes   int64 // decompressed bytes of all entries; default 1 GiB
}

func (l ArchiveLimits) withDefaults() ArchiveLimits {
	if l.MaxArchiveBytes <= 0 {
		l.MaxArchiveBytes = 256 << 20
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 1000
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = 256 << 20
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 1 << 30
	}
	return l
}

// Options configure a [Manager]. A nil *Options means all defaults.
type Options struct {
	// Plans maps plan names to plans. Nil means [DefaultPlans].
	Plans map[string]Plan
	// PlanResolver returns the name of a user's current plan. It is
	// called at every check (each workspace operation and each janitor
	// pass over the workspace), so a downgrade applies at the next check;
	// make it cheap. An error fails the operation and makes the janitor
	// skip the workspace for that pass, so that an outage of the plan
	// source never deletes a paid user's files by the free rule. Nil
	// means every user is on DefaultPlan.
	PlanResolver func(ctx context.Context, user string) (string, error)
	// DefaultPlan is the plan of every user when PlanResolver is nil.
	// Empty means "free".
	DefaultPlan string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives operational messages, never names or content. Nil
	// discards them.
	Logger *slog.Logger
	// Auditor records each deletion. Nil records nothing.
	Auditor Auditor
	// JanitorInterval is how often the janitor goroutine sweeps. Zero
	// means one minute; a negative value starts no janitor (the host
	// calls [Manager.Sweep]).
	JanitorInterval time.Duration
	// ActivityInterval bounds how stale the persisted last-activity time
	// may be: activity is tracked in memory and written to the store at
	// most this often per workspace (and at Close). After a crash a
	// workspace may expire up to this much early, never late. Zero means
	// one minute.
	ActivityInterval time.Duration
	// OnEvent, if set, receives warnings, expiries and deletions. It is
	// called synchronously, possibly while the manager holds its locks: it
	// must return quickly and must not call the Manager or its Workspaces
	// (hand the event to a channel or queue instead).
	OnEvent func(Event)
	// Node names this instance in a fleet sharing one store. The manager
	// deletes only directories of its own node. The name is recorded in
	// root/node at the first start and kept: empty means the recorded
	// name, or the host name at the first start; a name other than the
	// recorded one is an error.
	Node string
	// Archive bounds archive imports.
	Archive ArchiveLimits
}

// EventKind says what an [Event] reports.
type EventKind int

// The kinds of events.
const (
	// EventWarning: the workspace expires at Event.Deadline unless used,
	// or (with Event.File set) that file reaches its maximum age then.
	// Each deadline is warned of once per manager; the janitor sends
	// warnings, Plan.WarnBefore ahead.
	EventWarning EventKind = iota + 1
	// EventExpired: the workspace (or the file Event.File) reached its
	// deadline; its deletion follows.
	EventExpired
	// EventDeleted: the workspace (or the file Event.File) is gone.
	EventDeleted
)

// String returns "warning", "expired" or "deleted".
func (k EventKind) String() string {
	switch k {
	case EventWarning:
		return "warning"
	case EventExpired:
		return "expired"
	case EventDeleted:
		return "deleted"
	}
	return "unknown"
}

// Event reports a workspace's approaching expiry, its expiry, or a
// deletion, to [Options.OnEvent]. It carries pseudonyms and opaque IDs,
// never file names.
type Event struct {
	Kind      EventKind
	User      string    // the user's pseudonym
	Workspace string    // the workspace ID
	File      string    // the file ID, for a file's expiry or deletion; "" for the workspace
	Reason    string    // for deletions: "idle", "max_age", "user", "replaced", "delete", "recovered", "orphan", "takeover"
	Time      time.Time // when the event happened
	Deadline  time.Time // for warnings and expiries: the expiry time
}
