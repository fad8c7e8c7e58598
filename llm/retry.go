package llm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/inferlabs/privkit/llm/internal/wire"
)

// errStop ends a stream attempt because the caller stopped iterating.
var errStop = errors.New("llm: caller stopped")

// run calls fn on each candidate in turn, retrying retryable failures with
// backoff, until one succeeds. It never retries an error wrapping
// ErrInterrupted (output already reached the caller) or errStop.
//
// The whole-call timeout (Options.Timeout) is a deadline on the real clock
// rather than a context of its own: each attempt's context carries the
// earlier of it and the attempt's deadline, and waits between attempts end
// before it. That is one context per attempt, not two, and the client's one
// deadline timer (see deadlines) rather than a timer per attempt.
func (c *Client) run(ctx context.Context, stream bool, cands []Provider, st *callState, fn func(context.Context, Provider) error) error {
	start := time.Now() // also the first attempt's start
	var callDL time.Time
	if c.opts.Timeout > 0 {
		callDL = start.Add(c.opts.Timeout)
	}
	var errs []error
	for _, p := range cands {
		var err error
		for attempt := 1; ; attempt++ {
			st.attempts++
			st.provider = p.Name()
			now := start
			if st.attempts > 1 {
				now = time.Now()
			}
			err = c.attempt(ctx, now, callDL, stream, p, fn)
			if err == nil {
				c.warm(p)
				return nil
			}
			if errors.Is(err, errStop) || errors.Is(err, ErrClosed) {
				return err
			}
			if cerr := callErr(ctx, callDL); cerr != nil {
				return fmt.Errorf("llm: %s: %w", p.Name(), errors.Join(cerr, err))
			}
			if errors.Is(err, ErrInterrupted) {
				c.cool(p)
				return err
			}
			retry, wait := c.classify(err, attempt)
			if !retry || attempt >= c.retry.MaxAttempts {
				break
			}
			if wait > c.retry.MaxServerDelay {
				c.log.Info("llm: server asked for a longer wait than allowed; falling back", "provider", p.Name(), "wait", wait)
				break
			}
			// Context deadlines are on the real clock, whatever Options.Now says.
			if dl, ok := earliest(ctx, callDL); ok && wait >= time.Until(dl) {
				c.log.Info("llm: retry wait exceeds the deadline; falling back", "provider", p.Name(), "wait", wait)
				break
			}
			c.log.Debug("llm: retrying", "provider", p.Name(), "attempt", attempt, "wait", wait, "err", err)
			if serr := c.sleep(ctx, wait); serr != nil {
				return fmt.Errorf("llm: %s: %w", p.Name(), errors.Join(serr, err))
			}
		}
		errs = append(errs, err)
		if unhealthy(err) {
			c.cool(p)
		}
		c.log.Info("llm: provider failed; trying the next", "provider", p.Name(), "err", err)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// callErr reports why the call must stop: the caller's context is done, or
// the whole-call deadline callDL (zero: none) has passed.
func callErr(ctx context.Context, callDL time.Time) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if !callDL.IsZero() && !time.Now().Before(callDL) {
		return context.DeadlineExceeded
	}
	return nil
}

// earliest returns the earlier of ctx's deadline and callDL.
func earliest(ctx context.Context, callDL time.Time) (time.Time, bool) {
	dl, ok := ctx.Deadline()
	if !callDL.IsZero() && (!ok || callDL.Before(dl)) {
		return callDL, true
	}
	return dl, ok
}

// attempt runs fn, starting at now, under the earlier of the attempt
// timeout and the call deadline, and for a stream under the first-byte and
// idle timers.
func (c *Client) attempt(ctx context.Context, now, callDL time.Time, stream bool, p Provider, fn func(context.Context, Provider) error) error {
	actx := ctx
	if stream {
		actx = wire.WithTimeouts(ctx, wire.Timeouts{
			FirstByte: max(c.opts.FirstByteTimeout, 0),
			Idle:      max(c.opts.IdleTimeout, 0),
		})
	}
	var dl time.Time
	var cause error // nil: context.DeadlineExceeded, the call's deadline
	if c.opts.AttemptTimeout > 0 {
		dl, cause = now.Add(c.opts.AttemptTimeout), errAttemptTimeout
	}
	if !callDL.IsZero() && (dl.IsZero() || callDL.Before(dl)) {
		dl, cause = callDL, nil
	}
	if !dl.IsZero() {
		a := c.deadlines.start(actx, now, dl, cause)
		defer c.deadlines.end(a)
		actx = a
	}
	err := fn(actx, p)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout) && !errors.Is(err, errAttemptTimeout) {
		err = fmt.Errorf("llm: %s: %w", p.Name(), errors.Join(errAttemptTimeout, err))
	}
	return err
}

var errAttemptTimeout = &timeoutError{"llm: attempt timed out"}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }
func (e *timeoutError) Timeout() bool { return true }

// Is makes an attempt timeout match context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// classify says whether err is worth another attempt at the same provider
// and how long to wait first.
func (c *Client) classify(err error, attempt int) (retry bool, wait time.Duration) {
	var ae *APIError
	if errors.As(err, &ae) {
		if !ae.Retryable {
			return false, 0
		}
		if ae.RetryAfter > 0 {
			return true, ae.RetryAfter
		}
		return true, c.backoff(attempt)
	}
	switch {
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrTooLarge), errors.Is(err, ErrInvalidRequest):
		return false, 0
	case errors.Is(err, ErrFirstByteTimeout), errors.Is(err, ErrStalled), errors.Is(err, ErrTruncated),
		errors.Is(err, errAttemptTimeout), errors.Is(err, io.ErrUnexpectedEOF):
		return true, c.backoff(attempt)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true, c.backoff(attempt)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true, c.backoff(attempt)
	}
	return false, 0
}

// unhealthy reports whether a failure says something about the provider's
// health (and so earns a cooldown) rather than about the request.
func unhealthy(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable || ae.StatusCode == 401 || ae.StatusCode == 403 || ae.StatusCode == 429 || ae.StatusCode >= 500
	}
	return !errors.Is(err, ErrInvalidRequest)
}

// backoff returns an exponential delay for the attempt that just failed,
// jittered between half and all of it.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay
	for i := 1; i < attempt && d < c.retry.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, c.retry.MaxDelay)
	var b [8]byte
	if _, err := io.ReadFull(c.opts.Rand, b[:]); err != nil {
		return d
	}
	frac := float64(binary.LittleEndian.Uint64(b[:])>>11) / (1 << 53)
	return d/2 + time.Duration(frac*float64(d/2))
}
