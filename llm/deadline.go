package llm

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlines ends a Client's attempts at their deadlines with one runtime
// timer, armed for the earliest pending deadline. context.WithDeadline
// would arm and stop a timer per attempt, and arming one can wake an idle
// thread (to watch the new timer) on every call. Here a call whose
// deadline comes after the armed one touches no timer: attempts share a
// client's AttemptTimeout, so in steady state only the first does.
//
// The timer is not stopped when the last attempt ends; it fires once more,
// finds nothing due and is not armed again (so a Client stays reachable
// until then). Close stops it once no attempt is pending. The zero value is
// ready to use; it is safe for concurrent use.
type deadlines struct {
	mu      sync.Mutex
	timer   *time.Timer // nil until the first deadline; runs d.fire
	at      time.Time   // when timer fires; zero when not armed
	pending map[*attemptCtx]struct{}
	closed  bool
}

// attemptCtx is an attempt's context: the caller's, canceled with cause at
// deadline. It behaves as context.WithDeadlineCause(parent, deadline,
// cause): Deadline reports deadline, Err is context.DeadlineExceeded once it
// has passed, and context.Cause is cause. (Contexts derived from it with
// context.WithCancel see context.Canceled as their Err then, and cause as
// their Cause.)
type attemptCtx struct {
	context.Context // context.WithCancelCause(parent)
	cancel          context.CancelCauseFunc
	deadline        time.Time
	cause           error // not nil
	pending         bool  // in deadlines.pending; set by start only
	expired         atomic.Bool
}

func (a *attemptCtx) Deadline() (time.Time, bool) { return a.deadline, true }

func (a *attemptCtx) Err() error {
	err := a.Context.Err()
	if err != nil && a.expired.Load() {
		return context.DeadlineExceeded
	}
	return err
}

// expire cancels a at its deadline, unless it is done already.
func (a *attemptCtx) expire() {
	if a.Context.Err() == nil {
		a.expired.Store(true)
		a.cancel(a.cause)
	}
}

// start returns the context of an attempt that starts at now: ctx bounded
// by deadline, canceled then with cause (nil means
// context.DeadlineExceeded). Pass it to end when the attempt ends.
func (d *deadlines) start(ctx context.Context, now, deadline time.Time, cause error) *attemptCtx {
	if cause == nil {
		cause = context.DeadlineExceeded
	}
	cctx, cancel := context.WithCancelCause(ctx)
	a := &attemptCtx{Context: cctx, cancel: cancel, deadline: deadline, cause: cause}
	switch cur, ok := ctx.Deadline(); {
	case ok && cur.Before(deadline):
		// The caller's deadline comes first and ends the attempt, as
		// context.WithDeadline would have it.
		a.deadline = cur
	case !now.Before(deadline):
		a.expire()
	default:
		d.mu.Lock()
		if d.pending == nil {
			d.pending = make(map[*attemptCtx]struct{})
		}
		d.pending[a] = struct{}{}
		a.pending = true
		if d.at.IsZero() || deadline.Before(d.at) {
			d.arm(deadline)
		}
		d.mu.Unlock()
	}
	return a
}

// end releases a: it is no longer pending, and it is canceled (as the
// CancelFunc of context.WithDeadline does) so that what was derived from it
// is released too.
func (d *deadlines) end(a *attemptCtx) {
	if a.pending {
		d.mu.Lock()
		delete(d.pending, a)
		if d.closed && len(d.pending) == 0 && d.timer != nil {
			d.timer.Stop()
			d.at = time.Time{}
		}
		d.mu.Unlock()
	}
	a.cancel(nil)
}

// arm sets the timer to fire at at. d.mu is held.
func (d *deadlines) arm(at time.Time) {
	d.at = at
	if d.timer == nil {
		d.timer = time.AfterFunc(time.Until(at), d.fire)
		return
	}
	d.timer.Reset(time.Until(at))
}

// fire expires the attempts whose deadline has passed and arms the timer
// for the next one, if any.
func (d *deadlines) fire() {
	now := time.Now()
	var due []*attemptCtx
	d.mu.Lock()
	d.at = time.Time{}
	var next time.Time
	for a := range d.pending {
		switch {
		case !now.Before(a.deadline):
			due = append(due, a)
			delete(d.pending, a)
		case next.IsZero() || a.deadline.Before(next):
			next = a.deadline
		}
	}
	if !next.IsZero() {
		d.arm(next)
	}
	d.mu.Unlock()
	for _, a := range due {
		a.expire()
	}
}

// close stops the timer once no attempt is pending (end stops it then if
// some are).
func (d *deadlines) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if len(d.pending) == 0 && d.timer != nil {
		d.timer.Stop()
		d.at = time.Time{}
	}
}
