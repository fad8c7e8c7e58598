package retention

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// SweepOptions tune one [Manager.Sweep]. A nil *SweepOptions means a real
// sweep of every due item.
type SweepOptions struct {
	// DryRun lists what a sweep would delete and changes nothing.
	DryRun bool
	// Limit caps the items processed; 0 means all due items.
	Limit int
}

// Outcome is what a sweep did with one item.
type Outcome string

// Sweep outcomes.
const (
	OutcomeDeleted     Outcome = "deleted"
	OutcomeWouldDelete Outcome = "would_delete"
	OutcomeHeld        Outcome = "held"
	OutcomeNotDue      Outcome = "not_due"
	OutcomeFailed      Outcome = "failed"
	OutcomePending     Outcome = "pending"
	// OutcomeLost: another instance took the item over (its lease lapsed).
	OutcomeLost Outcome = "lost"
)

// SweepResult is one item's line in a [SweepReport].
type SweepResult struct {
	ItemID   string  `json:"item_id"`
	Category string  `json:"category"`
	System   string  `json:"system"`
	Outcome  Outcome `json:"outcome"`
	Attempt  int     `json:"attempt,omitempty"`
	// Error is a short, non-personal description of a failure.
	Error string `json:"error,omitempty"`
	// Holds lists the holds that kept a held item.
	Holds []string `json:"holds,omitempty"`
}

// SweepReport says what a sweep did.
type SweepReport struct {
	DryRun   bool      `json:"dry_run"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Counts per outcome.
	Deleted, WouldDelete, Held, Failed, Pending, NotDue, Lost int
	// Results lists every item visited, in the order visited.
	Results []SweepResult `json:"results"`
	// Overdue lists the items past due plus the grace period and not held:
	// the alarm. A sweep that leaves items overdue logs a warning and
	// records a "retention.overdue" audit event.
	Overdue []Item `json:"overdue,omitempty"`
}

func (r *SweepReport) add(res SweepResult) {
	switch res.Outcome {
	case OutcomeDeleted:
		r.Deleted++
	case OutcomeWouldDelete:
		r.WouldDelete++
	case OutcomeHeld:
		r.Held++
	case OutcomeFailed:
		r.Failed++
	case OutcomePending:
		r.Pending++
	case OutcomeNotDue:
		r.NotDue++
	case OutcomeLost:
		r.Lost++
	}
	r.Results = append(r.Results, res)
}

// Sweep deletes every item that is due, not held, and not claimed by
// another live instance, calling the Deleter registered for each item's
// system with the DeleterTimeout. Each step is journaled in the store
// (claimed → deleting → deleted, or failed with a retry time, or pending),
// so that a sweep interrupted by a crash is resumed by the next sweep of
// any instance once the claim's lease lapses, without losing an item; the
// Deleter contract (idempotent) makes the resumed call harmless. Items go
// a batch (Options.BatchSize) at a time: the "deleting" steps of a batch
// are journaled together before its first deleter call, its outcomes are
// group-committed while further deleters run, and a claim's lease is
// renewed before a call late in a long batch could outlast it. Each
// deletion and each failure is an audit event, recorded once the batch's
// outcomes are journaled.
//
// A failed or timed-out item stays tracked and is retried after a backoff;
// once past due plus Grace it is reported in SweepReport.Overdue. The
// error is non-nil only when the store fails or ctx ends; the report then
// covers what was done.
func (m *Manager) Sweep(ctx context.Context, opts *SweepOptions) (*SweepReport, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	var o SweepOptions
	if opts != nil {
		o = *opts
	}
	rep := &SweepReport{DryRun: o.DryRun, Started: m.now()}
	var err error
	if o.DryRun {
		err = m.dryRun(ctx, o, rep)
	} else {
		err = m.sweep(ctx, o, rep)
	}
	if err != nil {
		rep.Finished = m.now()
		return rep, err
	}
	rep.Overdue, err = m.Overdue(ctx)
	rep.Finished = m.now()
	if err != nil {
		return rep, err
	}
	if len(rep.Overdue) > 0 {
		m.log.WarnContext(ctx, "retention: items overdue for deletion", "count", len(rep.Overdue), "grace", m.opts.Grace)
		m.audit(ctx, audit.Event{
			Time: rep.Finished, Actor: "service:retention", Action: "retention.overdue",
			Resource: "retention/inventory", Outcome: audit.Error,
			Attrs: []audit.Attr{audit.Int("items", int64(len(rep.Overdue)))},
		})
	}
	return rep, nil
}

func (m *Manager) dryRun(ctx context.Context, o SweepOptions, rep *SweepReport) error {
	now := m.now()
	holds, err := m.store.ListHolds(ctx, true)
	if err != nil {
		return fmt.Errorf("retention: sweep: %w", err)
	}
	after, n := "", 0
	for {
		items, err := m.store.ListItems(ctx, ItemFilter{DueBy: now, States: liveStates, After: after, Limit: m.opts.BatchSize})
		if err != nil {
			return fmt.Errorf("retention: sweep: %w", err)
		}
		if len(items) == 0 {
			return nil
		}
		after = items[len(items)-1].ID
		for _, it := range items {
			if o.Limit > 0 && n >= o.Limit {
				return nil
			}
			n++
			res := SweepResult{ItemID: it.ID, Category: it.Category, System: it.System}
			d, err := m.policy.Evaluate(it, holds, now)
			switch {
			case err != nil:
				res.Outcome, res.Error = OutcomeFailed, "unknown category"
			case len(d.Held) > 0:
				res.Outcome, res.Holds = OutcomeHeld, d.Held
			case !dueNow(it, d, now):
				res.Outcome = OutcomeNotDue
			case m.deleter(it.System) == nil:
				res.Outcome, res.Error = OutcomeFailed, errorKind(ErrNoDeleter)
			default:
				res.Outcome = OutcomeWouldDelete
			}
			rep.add(res)
		}
	}
}

func (m *Manager) sweep(ctx context.Context, o SweepOptions, rep *SweepReport) error {
	jw := m.newJournalWriter()
	defer jw.close()
	after, n := "", 0
	for {
		limit := m.opts.BatchSize
		if o.Limit > 0 && o.Limit-n < limit {
			limit = o.Limit - n
		}
		if limit <= 0 {
			return nil
		}
		// Reload the holds for every batch: a hold placed during a long
		// sweep takes effect from the next batch.
		holds, err := m.store.ListHolds(ctx, true)
		if err != nil {
			return fmt.Errorf("retention: sweep: %w", err)
		}
		now := m.now()
		req := ClaimRequest{
			Owner: m.opts.Instance, Now: now, LeaseUntil: now.Add(m.opts.Lease),
			DueBy: now, After: after, Limit: limit,
		}
		var (
			batch []Item
			pre   *firstSteps
		)
		if bc, ok := m.store.(BatchClaimer); ok {
			// Claim the batch and journal its first steps in one commit.
			decided := map[string]firstStep{}
			var errs []error
			batch, errs, err = bc.ClaimBatch(ctx, req, func(it Item) JournalEntry {
				f := m.decideFirst(it, holds, now, causeSweep)
				decided[it.ID] = f
				return f.entry
			})
			if err == nil {
				pre = &firstSteps{steps: make([]firstStep, len(batch)), errs: errs}
				for i, it := range batch {
					pre.steps[i] = decided[it.ID]
				}
			}
		} else {
			batch, err = m.store.Claim(ctx, req)
		}
		if err != nil {
			return fmt.Errorf("retention: sweep: claim: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		after = batch[len(batch)-1].ID
		procs, done, failed, firstErr := m.processBatch(ctx, batch, holds, causeSweep, jw, pre)
		var undone []Item
		for i, it := range batch {
			if done[i] {
				n++
				rep.add(procs[i].sweepResult(it))
			} else if !failed[i] {
				undone = append(undone, it)
			}
		}
		if len(undone) > 0 {
			m.releaseAll(undone)
		}
		if firstErr != nil {
			return firstErr
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("retention: sweep: %w", err)
		}
	}
}

// processBatch processes a batch of claimed items in three phases, so that
// a durable store pays a few commits per batch instead of several per item:
//
//  1. decide every item (policy, holds) and journal the first step of all
//     of them at once: deleting (before any deleter runs), or released
//     (held, not due), failed (unknown category) or deleted (a vendor's
//     automatic deletion that is done by now);
//  2. call the deleters, up to SweepWorkers at once; each outcome
//     (deleted, failed with a retry time, pending) is handed to jw, which
//     group-commits it while the worker goes on with the next item, so
//     that the journal writes overlap the deleter calls (with one worker
//     the sweep is sequential: each outcome is journaled before the next
//     call);
//  3. wait until every outcome is committed, then record the audit events
//     (concurrently, so that an audit log can group-commit them too).
//
// A crash in phase 2 leaves some items deleted by their deleter but still
// journaled "deleting": the next sweep after the lease lapses calls their
// (idempotent) deleter again and journals "deleted" once.
//
// done[i] reports that item i was processed; failed[i] that the store
// failed while processing it (its state is unknown and left to its lease).
// After the first store failure or the end of ctx no further deleter call
// starts; firstErr is the store failure.
func (m *Manager) processBatch(ctx context.Context, batch []Item, holds []Hold, c cause, jw *journalWriter, pre *firstSteps) (procs []processed, done, failed []bool, firstErr error) {
	procs = make([]processed, len(batch))
	done = make([]bool, len(batch))
	failed = make([]bool, len(batch))

	// Phase 1: decide and journal the first step of every item, unless
	// the claim did (pre).
	if pre == nil {
		pre = &firstSteps{steps: make([]firstStep, len(batch))}
		entries := make([]JournalEntry, len(batch))
		now := m.now()
		for i, it := range batch {
			pre.steps[i] = m.decideFirst(it, holds, now, c)
			entries[i] = pre.steps[i].entry
		}
		errs, err := m.recordAll(ctx, entries)
		if err != nil {
			firstErr = fmt.Errorf("retention: journal: %w", err)
		}
		pre.errs = errs
	} else if len(pre.steps) != len(batch) || len(pre.errs) != len(batch) {
		return procs, done, failed, fmt.Errorf("retention: batch claimer returned %d results for %d items", len(pre.errs), len(batch))
	}
	steps, errs := pre.steps, pre.errs
	for i, f := range steps {
		procs[i] = f.proc
	}
	// settle takes the journal result of a step of item i: a lost claim
	// is done; after a store failure the item's state is unknown (left to
	// the lease) and the batch stops. It reports whether err is nil.
	settle := func(i int, err error) bool {
		switch {
		case errors.Is(err, ErrConflict):
			procs[i], done[i] = processed{outcome: OutcomeLost}, true
		case err != nil:
			failed[i] = true
			if firstErr == nil {
				firstErr = fmt.Errorf("retention: journal: %w", err)
			}
		default:
			return true
		}
		return false
	}
	// The items from len(errs) on were not journaled: the caller releases
	// them.
	var toCall []int
	for i, err := range errs {
		if !settle(i, err) {
			continue
		}
		if steps[i].entry.Step == StepDeleting {
			toCall = append(toCall, i)
		} else {
			done[i] = true
		}
	}
	// giveBack releases the claims of items idx, journaled deleting but
	// whose deleters will not run, and marks them failed: released, or
	// left to the lease if that fails; the caller must not release them
	// again.
	giveBack := func(idx []int) {
		if len(idx) == 0 {
			return
		}
		back := make([]Item, len(idx))
		for k, i := range idx {
			back[k] = batch[i]
			failed[i] = true
		}
		m.releaseAll(back)
	}
	if firstErr != nil {
		giveBack(toCall)
		toCall = nil
	}

	// Phase 2: call the deleters; hand the outcomes to jw.
	results := make([]<-chan error, len(batch))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	var unstarted []int
	sem := make(chan struct{}, m.opts.SweepWorkers)
	for k, i := range toCall {
		if stop() || ctx.Err() != nil {
			unstarted = toCall[k:]
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, e, err := m.callDeleter(ctx, batch[i], steps[i].entry.LeaseUntil, steps[i].method)
			var res <-chan error
			if err == nil && e != nil {
				e.ItemID, e.Attempt, e.Owner = batch[i].ID, batch[i].Attempts, batch[i].Owner
				res = jw.submit(ctx, *e)
				if m.opts.SweepWorkers == 1 {
					// Sequential: journal the outcome before the next call.
					r := make(chan error, 1)
					r <- <-res
					res = r
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed[i] = true
				if firstErr == nil {
					firstErr = err
				}
			case e == nil: // lost while renewing the lease
				procs[i], done[i] = p, true
			default:
				procs[i], results[i] = p, res
			}
		}()
	}
	wg.Wait()
	giveBack(unstarted)

	// Phase 3: wait for the outcomes, then audit them.
	for i, res := range results {
		if res != nil && settle(i, <-res) {
			done[i] = true
		}
	}
	var toAudit []int
	for i := range batch {
		if done[i] && (procs[i].status == ResultDeleted || procs[i].status == ResultPending ||
			(procs[i].status == ResultFailed && procs[i].method != "")) {
			toAudit = append(toAudit, i)
		}
	}
	m.auditBatch(ctx, batch, procs, steps, toAudit, c)
	return procs, done, failed, firstErr
}

// firstSteps are the decided and journaled first steps of a batch.
type firstSteps struct {
	steps []firstStep
	// errs[i] is the journal result of steps[i]; the steps from
	// len(errs) on were not journaled.
	errs []error
}

type firstStep struct {
	entry    JournalEntry
	proc     processed // the item's result unless entry is deleting
	decision Decision
	method   ErasureMethod // for a deleting entry
}

// decideFirst decides what to do with a claimed item and returns the first
// step to journal: deleting (the deleter is to be called), released (held,
// or not due for the sweeper), failed (unknown category) or deleted (a
// vendor's automatic deletion that is done by now).
func (m *Manager) decideFirst(it Item, holds []Hold, now time.Time, c cause) firstStep {
	var f firstStep
	e := JournalEntry{ItemID: it.ID, Attempt: it.Attempts, Owner: it.Owner, At: now}
	d, err := m.policy.Evaluate(it, holds, now)
	f.decision = d
	switch {
	case err != nil:
		kind := "unknown category"
		e.Step, e.Error, e.NextAttemptAt = StepFailed, kind, now.Add(m.backoff(it.Attempts))
		f.proc = processed{status: ResultFailed, outcome: OutcomeFailed, errKind: kind, at: now}
	case len(d.Held) > 0:
		e.Step = StepReleased
		f.proc = processed{status: ResultHeld, outcome: OutcomeHeld, holds: d.Held, at: now}
	case c == causeSweep && !dueNow(it, d, now):
		e.Step, e.NextAttemptAt = StepReleased, d.DueAt
		f.proc = processed{outcome: OutcomeNotDue}
	case it.State == StateClaimed && it.Method == MethodVendorAuto && !it.NextAttemptAt.IsZero() && !now.Before(it.NextAttemptAt):
		// A pending deletion at a vendor whose automatic deletion is done
		// by now needs no further call.
		e.Step, e.Method, e.Task = StepDeleted, MethodVendorAuto, it.Task
		f.proc = processed{status: ResultDeleted, outcome: OutcomeDeleted, method: MethodVendorAuto, task: it.Task, at: now}
	default:
		f.method = MethodDirect
		if mr, ok := m.deleter(it.System).(interface{ Method() ErasureMethod }); ok {
			f.method = mr.Method()
		}
		e.Step, e.Method, e.LeaseUntil = StepDeleting, f.method, now.Add(m.opts.Lease)
	}
	f.entry = e
	return f
}

// recordAll journals entries, in one transaction when the store is a
// [BatchRecorder]. errs holds the results (nil, ErrConflict, or a store
// failure, after which the entry's state is unknown) of the first
// len(errs) entries; the entries from there on were not tried. err is the
// first store failure.
func (m *Manager) recordAll(ctx context.Context, entries []JournalEntry) (errs []error, err error) {
	errs = make([]error, len(entries))
	if br, ok := m.store.(BatchRecorder); ok && len(entries) > 1 {
		res, err := br.RecordBatch(ctx, entries)
		if err == nil && len(res) != len(entries) {
			err = fmt.Errorf("retention: batch recorder returned %d results for %d entries", len(res), len(entries))
		}
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return errs, err
		}
		for _, e := range res {
			if e != nil && !errors.Is(e, ErrConflict) && err == nil {
				err = e
			}
		}
		return res, err
	}
	for i, e := range entries {
		errs[i] = m.store.Record(ctx, e)
		if errs[i] != nil && !errors.Is(errs[i], ErrConflict) {
			return errs[:i+1], errs[i]
		}
	}
	return errs, nil
}

// callDeleter calls the deleter of an item journaled deleting with a lease
// until leaseUntil, renewing the lease first when the call could outlast it
// (late in a long batch). It returns the outcome and the journal entry to
// record (with its step, At and outcome fields; the caller fills in the
// item's); a nil entry means the claim was lost while renewing. The error
// is a store failure.
func (m *Manager) callDeleter(ctx context.Context, it Item, leaseUntil time.Time, method ErasureMethod) (processed, *JournalEntry, error) {
	// Keep at least half of the lease's margin over the deleter timeout.
	margin := (m.opts.Lease - m.opts.DeleterTimeout) / 2
	if now := m.now(); now.Add(m.opts.DeleterTimeout + margin).After(leaseUntil) {
		err := m.store.Record(ctx, JournalEntry{ItemID: it.ID, Attempt: it.Attempts, Owner: it.Owner, Step: StepDeleting,
			At: now, Method: method, LeaseUntil: now.Add(m.opts.Lease)})
		if errors.Is(err, ErrConflict) {
			return processed{outcome: OutcomeLost}, nil, nil
		}
		if err != nil {
			return processed{}, nil, fmt.Errorf("retention: journal: %w", err)
		}
	}
	del := m.deleter(it.System)
	var callErr error
	if del == nil {
		callErr = ErrNoDeleter
	} else {
		callErr = m.call(ctx, func(ctx context.Context) error { return del.Delete(ctx, it) })
	}
	now := m.now()
	var pe *PendingError
	switch {
	case callErr == nil:
		return processed{status: ResultDeleted, outcome: OutcomeDeleted, method: method, at: now},
			&JournalEntry{Step: StepDeleted, Method: method, At: now}, nil
	case errors.As(callErr, &pe):
		if pe.Method == MethodVendorAuto && !pe.ExpectedBy.IsZero() && !now.Before(pe.ExpectedBy) {
			return processed{status: ResultDeleted, outcome: OutcomeDeleted, method: MethodVendorAuto, task: pe.Task, at: now},
				&JournalEntry{Step: StepDeleted, Method: MethodVendorAuto, Task: pe.Task, At: now}, nil
		}
		next := pe.ExpectedBy
		if pe.Method != MethodVendorAuto || next.IsZero() {
			next = now.Add(m.opts.PendingRecheck)
		}
		return processed{status: ResultPending, outcome: OutcomePending, method: pe.Method, task: pe.Task, expectedBy: pe.ExpectedBy, at: now},
			&JournalEntry{Step: StepPending, Method: pe.Method, Task: pe.Task, NextAttemptAt: next, At: now}, nil
	default:
		kind := errorKind(callErr)
		return processed{status: ResultFailed, outcome: OutcomeFailed, method: method, errKind: kind, at: now},
			&JournalEntry{Step: StepFailed, Error: kind, NextAttemptAt: now.Add(m.backoff(it.Attempts)), At: now}, nil
	}
}

// auditBatch records the audit events (and failure warnings) of the items
// idx of a processed batch (steps holds their decisions), up to
// SweepWorkers at once.
func (m *Manager) auditBatch(ctx context.Context, batch []Item, procs []processed, steps []firstStep, idx []int, c cause) {
	one := func(i int) {
		it, p := batch[i], procs[i]
		switch p.status {
		case ResultDeleted:
			m.auditItem(ctx, it, "retention.item.deleted", audit.Success, c, p.method, "", audit.String("rule", ruleString(steps[i].decision)))
		case ResultPending:
			m.auditItem(ctx, it, "retention.item.deletion_pending", audit.Success, c, p.method, "")
		case ResultFailed:
			m.log.WarnContext(ctx, "retention: deletion failed", "item", it.ID, "system", it.System, "attempt", it.Attempts, "error", p.errKind)
			m.auditItem(ctx, it, "retention.item.deletion_failed", audit.Error, c, p.method, p.errKind)
		}
	}
	if m.auditor == nil || len(idx) < 2 || m.opts.SweepWorkers < 2 {
		for _, i := range idx {
			one(i)
		}
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, m.opts.SweepWorkers)
	for _, i := range idx {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			one(i)
		}()
	}
	wg.Wait()
}

// releaseAll gives back claims a stopped sweep will not process, so that
// they need not wait for their lease to lapse. Best effort: a failure only
// delays the items until the lease lapses.
func (m *Manager) releaseAll(items []Item) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, it := range items {
		_ = m.store.Record(ctx, JournalEntry{ItemID: it.ID, Attempt: it.Attempts, Owner: it.Owner, Step: StepReleased, At: m.now()})
	}
}

type cause int

const (
	causeSweep cause = iota
	causeErasure
)

// processed is the outcome of processing one claimed item.
type processed struct {
	status     ResultStatus // deleted, held, pending, failed; "" when not due or lost
	outcome    Outcome
	holds      []string
	method     ErasureMethod
	task       string
	expectedBy time.Time
	errKind    string
	at         time.Time
}

func (p processed) sweepResult(it Item) SweepResult {
	return SweepResult{ItemID: it.ID, Category: it.Category, System: it.System, Outcome: p.outcome,
		Attempt: it.Attempts, Error: p.errKind, Holds: p.holds}
}

// dueNow reports whether the sweeper may delete it: the policy says so, or
// the item became due earlier (its stored DueAt passed) and no retention or
// hold stops it now. An upgrade or a policy change never resurrects data
// that was due for deletion.
func dueNow(it Item, d Decision, now time.Time) bool {
	if d.Delete {
		return true
	}
	return len(d.Held) == 0 && !it.DueAt.IsZero() && !now.Before(it.DueAt) &&
		!d.RetainForever && !d.RetainUntil.After(now)
}

func ruleString(d Decision) string {
	if d.DeleteRule == nil {
		return ""
	}
	return d.DeleteRule.String()
}

func (m *Manager) auditItem(ctx context.Context, it Item, action string, out audit.Outcome, c cause, method ErasureMethod, errKind string, extra ...audit.Attr) {
	purpose := "retention_policy"
	if c == causeErasure {
		purpose = "erasure_request"
	}
	attrs := []audit.Attr{
		audit.String("category", it.Category), audit.String("system", it.System),
		audit.Int("attempt", int64(it.Attempts)), audit.String("method", string(method)),
	}
	if it.Vendor != "" {
		attrs = append(attrs, audit.String("vendor", it.Vendor))
	}
	if errKind != "" {
		attrs = append(attrs, audit.String("error", errKind))
	}
	m.audit(ctx, audit.Event{
		Time: m.now(), Actor: "service:retention", Action: action,
		Resource: it.System + "/" + it.ID, Subject: it.Subject, Purpose: purpose, Outcome: out,
		Attrs: append(attrs, extra...),
	})
}

func (m *Manager) backoff(attempt int) time.Duration {
	d := m.opts.RetryBackoff
	for i := 1; i < attempt && d < m.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, m.opts.MaxBackoff)
}

// call runs fn with the DeleterTimeout in a goroutine the Manager owns, so
// that a callee that ignores its context cannot stall the caller; Close
// waits for such stragglers.
func (m *Manager) call(ctx context.Context, fn func(context.Context) error) error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	m.wg.Add(1)
	m.mu.RUnlock()
	cctx, cancel := context.WithTimeout(ctx, m.opts.DeleterTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer m.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("retention: deleter panicked")
			}
		}()
		done <- fn(cctx)
	}()
	select {
	case err := <-done:
		return err
	case <-cctx.Done():
		select {
		case err := <-done: // finished just in time
			return err
		default:
			return cctx.Err()
		}
	}
}

// Overdue returns the items past due plus Grace that are neither deleted
// nor held: deletions that failed or hung, or a sweeper that is not
// running. It is the alarm to watch.
func (m *Manager) Overdue(ctx context.Context) ([]Item, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	now := m.now()
	items, err := m.store.ListItems(ctx, ItemFilter{DueBy: now.Add(-m.opts.Grace), States: liveStates})
	if err != nil {
		return nil, fmt.Errorf("retention: overdue: %w", err)
	}
	if len(items) == 0 {
		return nil, nil
	}
	holds, err := m.store.ListHolds(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("retention: overdue: %w", err)
	}
	var out []Item
	for _, it := range items {
		d, err := m.policy.Evaluate(it, holds, now)
		if err == nil && len(d.Held) > 0 {
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

// Journal returns an item's deletion journal, oldest first.
func (m *Manager) Journal(ctx context.Context, itemID string) ([]JournalEntry, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	j, err := m.store.JournalOf(ctx, itemID)
	if err != nil {
		return nil, fmt.Errorf("retention: journal: %w", err)
	}
	return j, nil
}

// ConfirmErasure records that a pending manual erasure of item id was done
// by by (a person, as "kind:id"), with evidence (a ticket reference). The
// item becomes deleted and the requests waiting for it can complete on
// their next [Manager.ProcessRequest].
func (m *Manager) ConfirmErasure(ctx context.Context, id, by, evidence string) error {
	if err := m.check(); err != nil {
		return err
	}
	if by == "" {
		return fmt.Errorf("%w: a confirmation needs who confirmed", ErrInvalid)
	}
	now := m.now()
	claimed, err := m.store.Claim(ctx, ClaimRequest{Owner: m.opts.Instance, Now: now, LeaseUntil: now.Add(m.opts.Lease), IDs: []string{id}, Force: true, Limit: 1})
	if err != nil {
		return fmt.Errorf("retention: confirm erasure: %w", err)
	}
	if len(claimed) == 0 {
		it, err := m.store.GetItem(ctx, id)
		if err != nil {
			return fmt.Errorf("retention: confirm erasure: %w", err)
		}
		if it.State == StateDeleted {
			return nil
		}
		return fmt.Errorf("retention: confirm erasure: %w", ErrConflict)
	}
	it := claimed[0]
	if it.Method != MethodManual {
		m.releaseAll(claimed)
		return fmt.Errorf("%w: item has no pending manual erasure", ErrInvalid)
	}
	e := JournalEntry{ItemID: it.ID, Attempt: it.Attempts, Owner: it.Owner, Step: StepDeleted, At: now, Method: MethodManual, Task: evidence}
	if err := m.store.Record(ctx, e); err != nil {
		return fmt.Errorf("retention: confirm erasure: %w", err)
	}
	m.audit(ctx, audit.Event{
		Time: now, Actor: by, Action: "retention.item.deleted", Resource: it.System + "/" + it.ID,
		Subject: it.Subject, Purpose: "erasure_confirmation", Outcome: audit.Success,
		Attrs: []audit.Attr{audit.String("category", it.Category), audit.String("system", it.System), audit.String("method", string(MethodManual))},
	})
	return nil
}

// Run sweeps every interval until ctx ends or the Manager is closed, and
// returns ctx's error or ErrClosed. It runs a first sweep at once. Sweep
// errors are logged, not returned: the next sweep retries. Hosts start it
// in a goroutine they own:
//
//	go func() { _ = m.Run(ctx, 5*time.Minute) }()
//
// Several instances may Run against one shared store.
func (m *Manager) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("%w: sweep interval must be positive", ErrInvalid)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := m.check(); err != nil {
			return err
		}
		rep, err := m.Sweep(ctx, nil)
		switch {
		case errors.Is(err, ErrClosed):
			return err
		case err != nil && ctx.Err() == nil:
			m.log.ErrorContext(ctx, "retention: sweep failed", "err", err)
		case err == nil && (rep.Deleted > 0 || rep.Failed > 0):
			m.log.InfoContext(ctx, "retention: sweep", "deleted", rep.Deleted, "failed", rep.Failed, "held", rep.Held, "pending", rep.Pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
