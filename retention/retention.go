package retention

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// Errors callers branch on.
var (
	// ErrNotFound reports an item, hold, request or incident the store does
	// not hold.
	ErrNotFound = errors.New("retention: not found")
	// ErrExists reports a create of an ID the store already holds.
	ErrExists = errors.New("retention: already exists")
	// ErrConflict reports a lost race: a request updated by someone else
	// since it was read, or a journal step for an item whose claim (owner
	// and attempt) is no longer current.
	ErrConflict = errors.New("retention: concurrent update")
	// ErrUnknownCategory reports an item whose data category no policy rule
	// covers. Every category must have a rule, even "keep until the user
	// deletes it".
	ErrUnknownCategory = errors.New("retention: unknown data category")
	// ErrInvalidPolicy reports a malformed rule: empty category, negative
	// TTL, unknown anchor or action.
	ErrInvalidPolicy = errors.New("retention: invalid policy")
	// ErrContradiction reports rules that contradict each other within one
	// rule set; see [NewPolicy].
	ErrContradiction = errors.New("retention: contradictory rules")
	// ErrNoDeleter reports an item in a system with no registered [Deleter].
	ErrNoDeleter = errors.New("retention: no deleter registered for system")
	// ErrUnknownSubject reports a data-subject request about a subject the
	// inventory has never tracked.
	ErrUnknownSubject = errors.New("retention: unknown data subject")
	// ErrHoldReleased reports a release of a hold already released.
	ErrHoldReleased = errors.New("retention: hold already released")
	// ErrRequestState reports an operation that the request's status does
	// not allow, such as processing a completed request.
	ErrRequestState = errors.New("retention: request status does not allow this")
	// ErrInvalid reports malformed input: a missing ID, subject or system.
	ErrInvalid = errors.New("retention: invalid input")
	// ErrClosed reports a call on a closed [Manager].
	ErrClosed = errors.New("retention: manager closed")
)

// Auditor records audit events. *audit.Log implements it. Record must be
// safe for concurrent use.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// Deleter deletes one item from the system it is registered for. The host
// implements it with its workspaces, key rings, tables and vendor
// connectors.
//
// Delete must be idempotent: the sweeper calls it at least once per due item
// and again after a crash that struck between the call and the journal
// entry recording its success, so deleting an already deleted item must
// succeed. It must honour ctx, which carries the sweeper's timeout; a
// Deleter that ignores it keeps running after the sweeper has moved on and
// [Manager.Close] waits for it. It may be called from several goroutines.
//
// A Deleter that only starts a deletion (a manual task at a vendor, or a
// vendor's own automatic deletion) returns a [*PendingError]; the item stays
// tracked until the deletion is confirmed.
type Deleter interface {
	Delete(ctx context.Context, item Item) error
}

// DeleterFunc adapts a function to a [Deleter].
type DeleterFunc func(ctx context.Context, item Item) error

// Delete calls f(ctx, item).
func (f DeleterFunc) Delete(ctx context.Context, item Item) error { return f(ctx, item) }

// Exporter contributes a subject's data held in one system to an access
// request's [Bundle]. It must be safe for concurrent use and honour ctx.
type Exporter interface {
	Export(ctx context.Context, subject string, w *ExportWriter) error
}

// ExporterFunc adapts a function to an [Exporter].
type ExporterFunc func(ctx context.Context, subject string, w *ExportWriter) error

// Export calls f(ctx, subject, w).
func (f ExporterFunc) Export(ctx context.Context, subject string, w *ExportWriter) error {
	return f(ctx, subject, w)
}

// Verifier checks the identity of a data-subject request's requester before
// the request is acted on. A non-nil error rejects the request; its text is
// not stored (it may hold personal data), only that verification failed.
type Verifier interface {
	Verify(ctx context.Context, r Request) error
}

// VerifierFunc adapts a function to a [Verifier].
type VerifierFunc func(ctx context.Context, r Request) error

// Verify calls f(ctx, r).
func (f VerifierFunc) Verify(ctx context.Context, r Request) error { return f(ctx, r) }

// ErasureMethod is how a deletion is carried out.
type ErasureMethod string

// Erasure methods.
const (
	// MethodDirect is a deletion the host's own Deleter performs.
	MethodDirect ErasureMethod = "direct"
	// MethodAPI is a deletion through a vendor's API.
	MethodAPI ErasureMethod = "api"
	// MethodManual is a deletion a person performs at a vendor (a support
	// ticket, a dashboard), confirmed with [Manager.ConfirmErasure].
	MethodManual ErasureMethod = "manual"
	// MethodVendorAuto is a vendor's own deletion after a documented period.
	MethodVendorAuto ErasureMethod = "vendor_auto_expiry"
	// MethodNone means the vendor offers no way to erase.
	MethodNone ErasureMethod = "none"
)

// PendingError is returned by a [Deleter] that has started a deletion it
// cannot confirm yet. The item is not reported deleted until the deletion
// is confirmed: by [Manager.ConfirmErasure] for a manual task, or by the
// clock passing ExpectedBy for a vendor's automatic deletion
// ([MethodVendorAuto]).
type PendingError struct {
	// Method is MethodManual or MethodVendorAuto.
	Method ErasureMethod
	// Task identifies the manual task (a ticket number), if any.
	Task string
	// ExpectedBy is when the deletion is expected to be done. For
	// MethodVendorAuto the item counts as deleted from then on.
	ExpectedBy time.Time
}

// Error says that the deletion is pending and how; it names no item.
func (e *PendingError) Error() string {
	return fmt.Sprintf("retention: deletion pending (%s)", e.Method)
}

// errorKind returns a short, non-personal description of err suitable for
// storing in a journal: the message of a privkit error, or "error" with the
// error's type otherwise.
func errorKind(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	var pe *PendingError
	if errors.As(err, &pe) {
		return "pending"
	}
	if errors.Is(err, ErrNoDeleter) {
		return "no deleter"
	}
	if errors.Is(err, ErrClosed) {
		return "manager closed"
	}
	return fmt.Sprintf("error (%T)", err)
}
