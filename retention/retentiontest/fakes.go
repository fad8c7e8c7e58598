package retentiontest

import (
	"context"
	"slices"
	"sync"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/retention"
)

// Deleter is a fake [retention.Deleter] for hosts' tests. It records every
// call and each item it deleted, idempotently as the contract asks, and
// fails when Fail says so. It is safe for concurrent use. Use [NewDeleter].
type Deleter struct {
	// Fail, if set, is called first; a non-nil result is returned and
	// nothing is deleted. Set it before the Deleter is in use.
	Fail func(it retention.Item) error

	mu      sync.Mutex
	calls   map[string]int
	deleted map[string]bool
}

var _ retention.Deleter = (*Deleter)(nil)

// NewDeleter returns a Deleter that deletes everything.
func NewDeleter() *Deleter {
	return &Deleter{calls: map[string]int{}, deleted: map[string]bool{}}
}

// Delete records the call and, unless Fail says otherwise, the deletion.
func (d *Deleter) Delete(_ context.Context, it retention.Item) error {
	d.mu.Lock()
	d.calls[it.ID]++
	d.mu.Unlock()
	if d.Fail != nil {
		if err := d.Fail(it); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.deleted[it.ID] = true
	d.mu.Unlock()
	return nil
}

// Calls returns how many times item id was passed to Delete.
func (d *Deleter) Calls(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[id]
}

// Deleted reports whether item id was deleted.
func (d *Deleter) Deleted(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deleted[id]
}

// DeletedIDs returns the deleted items' IDs, sorted.
func (d *Deleter) DeletedIDs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.deleted))
	for id := range d.deleted {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Auditor is a fake [retention.Auditor] that keeps the events in memory. It
// is safe for concurrent use; the zero value is ready.
type Auditor struct {
	mu     sync.Mutex
	events []audit.Event
}

var _ retention.Auditor = (*Auditor)(nil)

// Record keeps e.
func (a *Auditor) Record(_ context.Context, e audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// Events returns the recorded events with the given action, or all of them
// if action is empty, in recording order.
func (a *Auditor) Events(action string) []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []audit.Event
	for _, e := range a.events {
		if action == "" || e.Action == action {
			out = append(out, e)
		}
	}
	return out
}
