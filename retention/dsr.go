package retention

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// ErrIncomplete reports an erasure or export that could not finish yet: a
// deleter or exporter failed, or a deletion is pending (a manual task, a
// vendor's own deletion). The request stays in_progress; call
// [Manager.ProcessRequest] again, on any instance, to continue it.
var ErrIncomplete = errors.New("retention: request not complete yet")

// Result is what [Manager.ProcessRequest] produced.
type Result struct {
	// Request is the request's stored state after processing.
	Request *Request
	// Bundle is the subject's data, for an access request that completed.
	// It is not stored: deliver it to the requester.
	Bundle *Bundle
	// Receipt lists what was deleted where, for an erasure request.
	Receipt *Receipt
}

// SubmitRequest records a data-subject request as received and returns it
// with its due date. r.Type, r.Subject and r.Law are required; r.ID
// defaults to a random ID and r.ReceivedAt to now. Identity verification
// and the work happen in [Manager.ProcessRequest].
func (m *Manager) SubmitRequest(ctx context.Context, r Request) (*Request, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if r.Type != RequestAccess && r.Type != RequestErasure {
		return nil, fmt.Errorf("%w: unknown request type %q", ErrInvalid, r.Type)
	}
	if strings.TrimSpace(r.Subject) == "" {
		return nil, fmt.Errorf("%w: request without subject", ErrInvalid)
	}
	if r.ID == "" {
		r.ID = newID("dsr")
	}
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = m.now()
	}
	r.ReceivedAt = utc(r.ReceivedAt)
	dl, err := DeadlineFor(r.Law, r.ReceivedAt, m.opts.Counting)
	if err != nil {
		return nil, err
	}
	r.DueAt = dl.Due
	r.Status = StatusReceived
	r.Extension, r.VerifiedAt, r.CompletedAt, r.RejectReason, r.Results, r.Export = nil, time.Time{}, time.Time{}, "", nil, nil
	r.UpdatedAt = m.now()
	if err := m.store.CreateRequest(ctx, r); err != nil {
		return nil, fmt.Errorf("retention: submit request: %w", err)
	}
	m.auditRequest(ctx, r, "retention.request.received", audit.Success)
	stored, err := m.store.GetRequest(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("retention: submit request: %w", err)
	}
	return &stored, nil
}

// Request returns a stored request.
func (m *Manager) Request(ctx context.Context, id string) (*Request, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	r, err := m.store.GetRequest(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("retention: request: %w", err)
	}
	return &r, nil
}

// ExtendRequest extends a request's deadline to the longest the law allows
// (GDPR: three months from receipt; CCPA: 90 days), recording who, when and
// why. The requester must be told within the first period: an extension
// after the original due date is refused with ErrRequestState.
func (m *Manager) ExtendRequest(ctx context.Context, id, by, reason string) (*Request, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("%w: an extension needs who and why", ErrInvalid)
	}
	now := m.now()
	r, err := m.mutate(ctx, id, func(r *Request) error {
		if r.Status.Final() || r.Extension != nil {
			return fmt.Errorf("%w: cannot extend a %s request twice or after it ended", ErrRequestState, r.Status)
		}
		dl, err := DeadlineFor(r.Law, r.ReceivedAt, m.opts.Counting)
		if err != nil {
			return err
		}
		if !now.Before(dl.ExtensionNoticeBy.Add(24 * time.Hour)) {
			return fmt.Errorf("%w: extension notice due by %s", ErrRequestState, dl.ExtensionNoticeBy.Format(time.DateOnly))
		}
		r.Extension = &Extension{At: now, By: by, Reason: reason, DueAt: dl.ExtendedDue}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.auditRequest(ctx, *r, "retention.request.extended", audit.Success)
	return r, nil
}

// mutate applies fn to the stored request with optimistic concurrency,
// retrying on conflicts with other instances.
func (m *Manager) mutate(ctx context.Context, id string, fn func(*Request) error) (*Request, error) {
	for range 8 {
		r, err := m.store.GetRequest(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("retention: request: %w", err)
		}
		if err := fn(&r); err != nil {
			return nil, err
		}
		r.UpdatedAt = m.now()
		err = m.store.UpdateRequest(ctx, r)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("retention: request: %w", err)
		}
		r.Version++
		return &r, nil
	}
	return nil, fmt.Errorf("retention: request: %w", ErrConflict)
}

// ProcessRequest moves a request through its lifecycle as far as it can:
// received → verifying (the Verifier) → in_progress → completed,
// partially_completed (held items exempt) or rejected (identity not
// verified, or an unknown subject: the error then wraps ErrUnknownSubject).
//
// An access request runs every registered Exporter and returns the
// [Bundle]. An erasure request deletes every item of the subject through
// its system's Deleter (vendor connectors included), never a held item, and
// returns the [Receipt]. If a deleter or exporter fails, or a deletion is
// pending, the request stays in_progress and the error wraps ErrIncomplete:
// call ProcessRequest again later, on this or another instance. A request
// already final returns its state and an error wrapping ErrRequestState.
func (m *Manager) ProcessRequest(ctx context.Context, id string) (*Result, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	r, err := m.store.GetRequest(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("retention: process request: %w", err)
	}
	if r.Status.Final() {
		return m.result(&r, nil), fmt.Errorf("%w: request is %s", ErrRequestState, r.Status)
	}
	if r.Status == StatusReceived {
		rp, err := m.mutate(ctx, id, func(r *Request) error {
			if r.Status == StatusReceived {
				r.Status = StatusVerifying
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		r = *rp
	}
	if r.Status == StatusVerifying {
		rp, err := m.verify(ctx, r)
		if err != nil {
			return m.result(rp, nil), err
		}
		r = *rp
	}
	if r.Status != StatusInProgress {
		return m.result(&r, nil), fmt.Errorf("%w: request is %s", ErrRequestState, r.Status)
	}
	if r.Type == RequestAccess {
		return m.processAccess(ctx, r)
	}
	return m.processErasure(ctx, r)
}

func (m *Manager) result(r *Request, b *Bundle) *Result {
	if r == nil {
		return nil
	}
	res := &Result{Request: r, Bundle: b}
	if r.Type == RequestErasure {
		res.Receipt = receiptOf(*r)
	}
	return res
}

func (m *Manager) verify(ctx context.Context, r Request) (*Request, error) {
	var reject string
	var retErr error
	if m.verifier != nil {
		verr := m.call(ctx, func(ctx context.Context) error { return m.verifier.Verify(ctx, r) })
		if errors.Is(verr, ErrClosed) {
			return &r, verr
		}
		if verr != nil {
			reject = "identity not verified"
			retErr = fmt.Errorf("retention: request rejected: identity not verified")
		}
	}
	if reject == "" {
		known, err := m.store.ListItems(ctx, ItemFilter{Subject: r.Subject, Limit: 1})
		if err != nil {
			return &r, fmt.Errorf("retention: process request: %w", err)
		}
		if len(known) == 0 {
			reject = "unknown subject: no data held"
			retErr = fmt.Errorf("%w: no item tracked for the request's subject", ErrUnknownSubject)
		}
	}
	now := m.now()
	rp, err := m.mutate(ctx, r.ID, func(r *Request) error {
		if r.Status != StatusVerifying {
			return nil
		}
		if reject != "" {
			r.Status, r.RejectReason, r.CompletedAt = StatusRejected, reject, now
			return nil
		}
		r.Status, r.VerifiedAt = StatusInProgress, now
		return nil
	})
	if err != nil {
		return &r, err
	}
	if rp.Status == StatusRejected {
		m.auditRequest(ctx, *rp, "retention.request.rejected", audit.Denied)
	}
	return rp, retErr
}

func (m *Manager) processErasure(ctx context.Context, r Request) (*Result, error) {
	items, err := m.store.ListItems(ctx, ItemFilter{Subject: r.Subject})
	if err != nil {
		return nil, fmt.Errorf("retention: erasure: %w", err)
	}
	holds, err := m.store.ListHolds(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("retention: erasure: %w", err)
	}
	now := m.now()
	lines := map[string]ErasureResult{}
	for _, l := range r.Results {
		lines[l.ItemID] = l
	}
	var live []string
	byID := map[string]Item{}
	for _, it := range items {
		byID[it.ID] = it
		if it.State == StateDeleted {
			switch l, ok := lines[it.ID]; {
			case !ok:
				lines[it.ID] = lineOf(it, ResultAlreadyDeleted, it.DeletedAt, it.Method)
			case l.Status != ResultDeleted && l.Status != ResultAlreadyDeleted:
				// Finished since the last run: a confirmed manual task, a
				// vendor's own deletion, the sweeper after a hold.
				lines[it.ID] = lineOf(it, ResultDeleted, it.DeletedAt, it.Method)
			}
			continue
		}
		live = append(live, it.ID)
	}
	claimed := map[string]bool{}
	jw := m.newJournalWriter()
	defer jw.close()
	for len(live) > 0 {
		chunk := live[:min(len(live), 100)]
		live = live[len(chunk):]
		cs, err := m.store.Claim(ctx, ClaimRequest{Owner: m.opts.Instance, Now: now, LeaseUntil: now.Add(m.opts.Lease), IDs: chunk, Force: true, Limit: len(chunk)})
		if err != nil {
			return nil, fmt.Errorf("retention: erasure: claim: %w", err)
		}
		procs, done, failed, perr := m.processBatch(ctx, cs, holds, causeErasure, jw, nil)
		var undone []Item
		for i, it := range cs {
			if !done[i] {
				if !failed[i] {
					undone = append(undone, it)
				}
				continue
			}
			claimed[it.ID] = true
			p := procs[i]
			l := lineOf(it, p.status, p.at, p.method)
			l.Holds, l.Task, l.ExpectedBy, l.Error = p.holds, p.task, p.expectedBy, p.errKind
			if p.outcome == OutcomeLost {
				l.Status, l.Error = ResultPending, "taken over by another instance"
			}
			if p.status == ResultHeld {
				l.Holds = holdReasons(holds, p.holds)
				// The erasure makes the item due: once the hold is
				// released the sweeper erases it.
				if _, err := m.store.UpdateItem(ctx, it.ID, func(x *Item) error {
					if x.DueAt.IsZero() || x.DueAt.After(now) {
						x.DueAt = now
					}
					return nil
				}); err != nil {
					return nil, fmt.Errorf("retention: erasure: %w", err)
				}
			}
			lines[it.ID] = l
		}
		if len(undone) > 0 {
			m.releaseAll(undone)
		}
		if perr != nil {
			return nil, perr
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("retention: erasure: %w", err)
		}
		for _, id := range chunk {
			if !claimed[id] {
				l := lineOf(byID[id], ResultPending, now, "")
				l.Error = "being deleted by another instance"
				lines[id] = l
			}
		}
	}
	out := make([]ErasureResult, 0, len(lines))
	for _, l := range lines {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b ErasureResult) int {
		return cmp.Or(cmp.Compare(a.System, b.System), cmp.Compare(a.ItemID, b.ItemID))
	})
	var incomplete, held bool
	for _, l := range out {
		switch l.Status {
		case ResultFailed, ResultPending:
			incomplete = true
		case ResultHeld:
			held = true
		}
	}
	rp, err := m.mutate(ctx, r.ID, func(x *Request) error {
		if x.Status != StatusInProgress {
			return fmt.Errorf("%w: request is %s", ErrRequestState, x.Status)
		}
		x.Results = out
		switch {
		case incomplete:
		case held:
			x.Status, x.CompletedAt = StatusPartiallyCompleted, m.now()
		default:
			x.Status, x.CompletedAt = StatusCompleted, m.now()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := m.result(rp, nil)
	if incomplete {
		m.auditRequest(ctx, *rp, "retention.request.progress", audit.Error)
		return res, fmt.Errorf("%w: %d failed, %d pending", ErrIncomplete, res.Receipt.Failed, res.Receipt.Pending)
	}
	m.auditRequest(ctx, *rp, "retention.request.completed", audit.Success)
	return res, nil
}

func lineOf(it Item, s ResultStatus, at time.Time, method ErasureMethod) ErasureResult {
	return ErasureResult{ItemID: it.ID, Category: it.Category, System: it.System, Vendor: it.Vendor,
		Location: it.Location, Method: method, Status: s, At: utc(at)}
}

func holdReasons(holds []Hold, ids []string) []string {
	var out []string
	for _, h := range holds {
		if slices.Contains(ids, h.ID) {
			out = append(out, h.ID+": "+h.Reason)
		}
	}
	return out
}

func (m *Manager) auditRequest(ctx context.Context, r Request, action string, out audit.Outcome) {
	attrs := []audit.Attr{audit.String("type", string(r.Type)), audit.String("law", string(r.Law)), audit.String("status", string(r.Status))}
	if r.RejectReason != "" {
		attrs = append(attrs, audit.String("reason", r.RejectReason))
	}
	m.audit(ctx, audit.Event{
		Time: m.now(), Actor: "service:retention", Action: action, Resource: "retention/request/" + r.ID,
		Subject: r.Subject, Purpose: "data_subject_request", Outcome: out, Attrs: attrs,
	})
}
