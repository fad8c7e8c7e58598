package llm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeadlinesExpire(t *testing.T) {
	t.Parallel()
	var d deadlines
	defer d.close()
	start := time.Now()
	late := d.start(context.Background(), time.Now(), start.Add(300*time.Millisecond), nil)
	endLate := func() { d.end(late) }
	defer endLate()
	early := d.start(context.Background(), time.Now(), start.Add(30*time.Millisecond), errAttemptTimeout)
	endEarly := func() { d.end(early) }
	defer endEarly()
	child, cancelChild := context.WithCancel(early)
	defer cancelChild()

	dl, ok := early.Deadline()
	assert.True(t, ok, "an attempt's context has a deadline")
	assert.Equal(t, start.Add(30*time.Millisecond), dl, "the attempt's deadline")
	assert.NoError(t, early.Err(), "not done before its deadline")

	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the earlier deadline was not enforced")
	}
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "not before the deadline")
	assert.ErrorIs(t, early.Err(), context.DeadlineExceeded, "Err as context.WithDeadline's")
	assert.Same(t, errAttemptTimeout, context.Cause(early), "Cause is the deadline's cause")
	assert.Same(t, errAttemptTimeout, context.Cause(child), "derived contexts get the cause")
	assert.NoError(t, late.Err(), "a later deadline is not enforced early")

	select {
	case <-late.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the later deadline was not enforced after the earlier one")
	}
	assert.ErrorIs(t, late.Err(), context.DeadlineExceeded, "Err as context.WithDeadline's")
	assert.ErrorIs(t, context.Cause(late), context.DeadlineExceeded, "a nil cause is context.DeadlineExceeded, as context.WithDeadlineCause's")
}

func TestDeadlinesEndBeforeDeadline(t *testing.T) {
	t.Parallel()
	var d deadlines
	ctx := d.start(context.Background(), time.Now(), time.Now().Add(20*time.Millisecond), errAttemptTimeout)
	end := func() { d.end(ctx) }
	end()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "ending an attempt cancels its context, as a CancelFunc does")
	d.mu.Lock()
	assert.Empty(t, d.pending, "an ended attempt is not pending")
	d.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // the timer fires and finds nothing due
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "an ended attempt does not expire")
	assert.False(t, errors.Is(context.Cause(ctx), errAttemptTimeout), "nor gets the deadline's cause")
	d.mu.Lock()
	assert.True(t, d.at.IsZero(), "with nothing pending the timer is not armed again")
	d.mu.Unlock()
	d.close()
}

func TestDeadlinesParent(t *testing.T) {
	t.Parallel()
	var d deadlines
	defer d.close()

	parentDL := time.Now().Add(time.Hour)
	parent, cancelParent := context.WithDeadline(context.Background(), parentDL)
	ctx := d.start(parent, time.Now(), parentDL.Add(time.Hour), errAttemptTimeout)
	end := func() { d.end(ctx) }
	defer end()
	dl, _ := ctx.Deadline()
	assert.Equal(t, parentDL, dl, "the caller's earlier deadline wins, as with context.WithDeadline")
	d.mu.Lock()
	assert.Empty(t, d.pending, "no deadline of its own to watch")
	d.mu.Unlock()

	parent2, cancelParent2 := context.WithCancelCause(context.Background())
	ctx2 := d.start(parent2, time.Now(), time.Now().Add(time.Hour), errAttemptTimeout)
	end2 := func() { d.end(ctx2) }
	defer end2()
	cause := errors.New("caller gave up")
	cancelParent2(cause)
	<-ctx2.Done()
	assert.ErrorIs(t, ctx2.Err(), context.Canceled, "the caller's cancellation, not a deadline")
	assert.Same(t, cause, context.Cause(ctx2), "the caller's cause")

	cancelParent()
	<-ctx.Done()
}

func TestDeadlinesPassed(t *testing.T) {
	t.Parallel()
	var d deadlines
	defer d.close()
	ctx := d.start(context.Background(), time.Now(), time.Now().Add(-time.Second), errAttemptTimeout)
	end := func() { d.end(ctx) }
	defer end()
	require.Error(t, ctx.Err(), "a deadline in the past ends the attempt at once")
	assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "Err as context.WithDeadline's")
	assert.Same(t, errAttemptTimeout, context.Cause(ctx), "with the deadline's cause")
}

func TestDeadlinesClose(t *testing.T) {
	t.Parallel()
	var d deadlines
	ctx := d.start(context.Background(), time.Now(), time.Now().Add(time.Hour), nil)
	end := func() { d.end(ctx) }
	d.close()
	d.mu.Lock()
	assert.False(t, d.at.IsZero(), "close leaves the timer to a pending attempt")
	d.mu.Unlock()
	assert.NoError(t, ctx.Err(), "close does not end attempts in flight")
	end()
	d.mu.Lock()
	assert.True(t, d.at.IsZero(), "the last attempt to end after close stops the timer")
	d.mu.Unlock()
}
