package retention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
)

// Options configure a [Manager]. A nil *Options means all defaults.
type Options struct {
	// Policy is the retention policy; nil means [DefaultPolicy].
	Policy *Policy
	// Vendors is the vendor registry; nil means none. [KnownVendors]
	// returns entries for common vendors to start from.
	Vendors []Vendor
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives operational logs (never personal data); nil means
	// slog.Default().
	Logger *slog.Logger
	// Auditor receives an event for each deletion, hold and request step;
	// nil means no audit events.
	Auditor Auditor
	// Verifier checks requesters' identity; nil means requests are taken
	// as verified when submitted (the host verified them before).
	Verifier Verifier
	// Grace is how long past due an item may stay before it is reported
	// overdue (the alarm); zero means 24 hours.
	Grace time.Duration
	// DeleterTimeout bounds each Deleter and Exporter call; zero means 30
	// seconds.
	DeleterTimeout time.Duration
	// Lease is how long a claim on an item lasts before another instance
	// may take it over (after a crash); zero means DeleterTimeout plus one
	// minute. It must exceed DeleterTimeout.
	Lease time.Duration
	// RetryBackoff is the wait after the first failed attempt, doubled
	// after each further failure up to MaxBackoff; zero means 1 minute.
	RetryBackoff time.Duration
	// MaxBackoff caps RetryBackoff; zero means 1 hour.
	MaxBackoff time.Duration
	// PendingRecheck is how soon a pending manual erasure is retried (its
	// Deleter called again to see if the task is done); zero means 24 hours.
	PendingRecheck time.Duration
	// Instance names this instance in claims and the journal; empty means a
	// random name.
	Instance string
	// Counting is how request deadlines are counted; zero means
	// [CountStrict].
	Counting Counting
	// BatchSize is how many items a sweep claims at a time; zero means
	// 1000. A batch costs a durable store a few commits (claim with first
	// steps, outcomes) whatever its size, so larger batches sweep faster;
	// claims late in a long batch are renewed before their deleter call.
	BatchSize int
	// SweepWorkers is how many items of a batch a sweep deletes at once
	// (deleters that call vendor APIs spend their time waiting); zero means
	// 8. With more than one worker, outcomes are journaled while the
	// workers go on with the next items, group-committed when the store
	// implements [BatchRecorder]; with one, the sweep is sequential and
	// journals each outcome before the next deleter call. Results keep the
	// claim order either way.
	SweepWorkers int
	// Service is the audit events' Service; empty means "retention".
	Service string
}

// Manager applies a retention policy to an inventory: it tracks items,
// sweeps due ones through the registered deleters, honours legal holds,
// handles data-subject requests and reports on all of it. It is safe for
// concurrent use. Several Managers (in several processes) may share one
// Store; they coordinate through it. Use [New].
type Manager struct {
	store    Store
	policy   *Policy
	vendors  map[string]Vendor
	vorder   []string
	now      func() time.Time
	log      *slog.Logger
	auditor  Auditor
	verifier Verifier
	opts     Options

	mu        sync.RWMutex
	deleters  map[string]Deleter
	exporters map[string]Exporter
	closed    bool
	wg        sync.WaitGroup // deleter and exporter calls
}

// New returns a Manager over store.
func New(store Store, opts *Options) (*Manager, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalid)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Policy == nil {
		o.Policy = DefaultPolicy()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Grace == 0 {
		o.Grace = 24 * time.Hour
	}
	if o.DeleterTimeout == 0 {
		o.DeleterTimeout = 30 * time.Second
	}
	if o.Lease == 0 {
		o.Lease = o.DeleterTimeout + time.Minute
	}
	if o.Lease <= o.DeleterTimeout {
		return nil, fmt.Errorf("%w: Lease must exceed DeleterTimeout", ErrInvalid)
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = time.Minute
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Hour
	}
	if o.PendingRecheck == 0 {
		o.PendingRecheck = 24 * time.Hour
	}
	if o.Instance == "" {
		o.Instance = newID("sweeper")
	}
	if o.Counting == 0 {
		o.Counting = CountStrict
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.SweepWorkers <= 0 {
		o.SweepWorkers = 8
	}
	if o.Service == "" {
		o.Service = "retention"
	}
	if o.Grace < 0 || o.DeleterTimeout < 0 || o.RetryBackoff < 0 {
		return nil, fmt.Errorf("%w: negative duration in options", ErrInvalid)
	}
	m := &Manager{
		store: store, policy: o.Policy, now: clock.NowFunc(o.Now), log: o.Logger,
		auditor: o.Auditor, verifier: o.Verifier, opts: o,
		vendors: map[string]Vendor{}, deleters: map[string]Deleter{}, exporters: map[string]Exporter{},
	}
	for _, v := range o.Vendors {
		if strings.TrimSpace(v.Name) == "" {
			return nil, fmt.Errorf("%w: vendor without name", ErrInvalid)
		}
		if _, dup := m.vendors[v.Name]; dup {
			return nil, fmt.Errorf("%w: vendor %q listed twice", ErrInvalid, v.Name)
		}
		m.vendors[v.Name] = v
		m.vorder = append(m.vorder, v.Name)
	}
	return m, nil
}

// Policy returns the manager's policy.
func (m *Manager) Policy() *Policy { return m.policy }

// RegisterDeleter sets the Deleter for items stored in system, replacing
// any earlier one. It panics on an empty system or nil d (programmer
// error).
func (m *Manager) RegisterDeleter(system string, d Deleter) {
	if system == "" || d == nil {
		panic("retention: RegisterDeleter needs a system and a Deleter")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleters[system] = d
}

// RegisterExporter sets the Exporter that contributes system's data to
// access requests, replacing any earlier one. It panics on an empty system
// or nil e.
func (m *Manager) RegisterExporter(system string, e Exporter) {
	if system == "" || e == nil {
		panic("retention: RegisterExporter needs a system and an Exporter")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exporters[system] = e
}

func (m *Manager) deleter(system string) Deleter {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.deleters[system]
}

// Close waits for deleter and exporter calls still running (those that
// ignored their timeout) and makes later calls return ErrClosed. It is
// safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

func (m *Manager) check() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

// Track adds it to the inventory, or updates its descriptive fields if
// tracked already (its deletion state is kept; an item already due stays
// due), and computes its due time. CreatedAt defaults to now. It returns
// the stored item. An item of a category without rules is refused with
// ErrUnknownCategory; labels are validated as rules; the ID of a deleted
// item cannot be tracked again (ErrExists).
func (m *Manager) Track(ctx context.Context, it Item) (Item, error) {
	if err := m.check(); err != nil {
		return Item{}, err
	}
	if strings.TrimSpace(it.ID) == "" || strings.TrimSpace(it.System) == "" {
		return Item{}, fmt.Errorf("%w: an item needs an ID and a system", ErrInvalid)
	}
	for _, l := range it.Labels {
		if err := l.validate(); err != nil {
			return Item{}, err
		}
		if l.Category != it.Category {
			return Item{}, fmt.Errorf("%w: label for category %q on an item of %q", ErrInvalidPolicy, l.Category, it.Category)
		}
	}
	if it.CreatedAt.IsZero() {
		it.CreatedAt = m.now()
	}
	due, err := m.policy.DueAt(it)
	if err != nil {
		return Item{}, err
	}
	it.DueAt = due
	switch old, err := m.store.GetItem(ctx, it.ID); {
	case err == nil && old.State == StateDeleted:
		return Item{}, fmt.Errorf("%w: item was deleted; track new data under a new ID", ErrExists)
	case err == nil && !old.DueAt.IsZero() && !m.now().Before(old.DueAt) && (due.IsZero() || due.After(old.DueAt)):
		it.DueAt = old.DueAt // re-tracking never resurrects data already due
	case err != nil && !errors.Is(err, ErrNotFound):
		return Item{}, fmt.Errorf("retention: track: %w", err)
	}
	if err := m.store.PutItem(ctx, it); err != nil {
		return Item{}, fmt.Errorf("retention: track: %w", err)
	}
	stored, err := m.store.GetItem(ctx, it.ID)
	if err != nil {
		return Item{}, fmt.Errorf("retention: track: %w", err)
	}
	return stored, nil
}

// update changes an item through fn and recomputes its due time. An item
// already due keeps its due time if the new one is later: an upgrade or a
// policy change never resurrects data that was due for deletion.
func (m *Manager) update(ctx context.Context, id string, fn func(*Item)) (Item, error) {
	now := m.now()
	return m.store.UpdateItem(ctx, id, func(it *Item) error {
		old := it.DueAt
		fn(it)
		due, err := m.policy.DueAt(*it)
		if err != nil {
			return err
		}
		if !old.IsZero() && !now.Before(old) && (due.IsZero() || due.After(old)) {
			due = old
		}
		it.DueAt = due
		return nil
	})
}

// Touch records activity on an item at now, which moves the due time of
// rules anchored on the last activity.
func (m *Manager) Touch(ctx context.Context, id string) (Item, error) {
	if err := m.check(); err != nil {
		return Item{}, err
	}
	now := m.now()
	it, err := m.update(ctx, id, func(it *Item) { it.LastActivityAt = now })
	if err != nil {
		return Item{}, fmt.Errorf("retention: touch: %w", err)
	}
	return it, nil
}

// MarkSent records that item id was sent to vendor at now; rules anchored
// on sending to a vendor count from then.
func (m *Manager) MarkSent(ctx context.Context, id, vendor string) (Item, error) {
	if err := m.check(); err != nil {
		return Item{}, err
	}
	now := m.now()
	it, err := m.update(ctx, id, func(it *Item) { it.SentAt, it.Vendor = now, vendor })
	if err != nil {
		return Item{}, fmt.Errorf("retention: mark sent: %w", err)
	}
	return it, nil
}

// SetPlan records that subject's plan is now plan and recomputes the due
// time of the subject's items: a downgrade applies the stricter rule from
// the next sweep; an upgrade never postpones an item already due. It
// returns the number of items changed.
func (m *Manager) SetPlan(ctx context.Context, subject, plan string) (int, error) {
	return m.forSubject(ctx, subject, func(it *Item) { it.Plan = plan })
}

// SetRegion is SetPlan for the subject's region.
func (m *Manager) SetRegion(ctx context.Context, subject, region string) (int, error) {
	return m.forSubject(ctx, subject, func(it *Item) { it.Region = region })
}

func (m *Manager) forSubject(ctx context.Context, subject string, fn func(*Item)) (int, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	if subject == "" {
		return 0, fmt.Errorf("%w: empty subject", ErrInvalid)
	}
	items, err := m.store.ListItems(ctx, ItemFilter{Subject: subject, States: liveStates})
	if err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	for _, it := range items {
		if _, err := m.update(ctx, it.ID, fn); err != nil {
			return 0, fmt.Errorf("retention: %w", err)
		}
	}
	return len(items), nil
}

var liveStates = []ItemState{StateActive, StateClaimed, StateDeleting, StateFailed, StatePending}

// UserDeleted records that the user deleted item id (a conversation) at
// now. The deletion cascades to every item derived from it (Parent chains):
// all become due under rules anchored on the user's deletion, and the next
// sweep deletes them. It returns the number of items marked.
func (m *Manager) UserDeleted(ctx context.Context, id string) (int, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	now := m.now()
	seen := map[string]bool{}
	queue := []string{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		if _, err := m.update(ctx, cur, func(it *Item) {
			if it.UserDeletedAt.IsZero() {
				it.UserDeletedAt = now
			}
		}); err != nil {
			return 0, fmt.Errorf("retention: user deleted: %w", err)
		}
		kids, err := m.store.ListItems(ctx, ItemFilter{Parent: cur, States: liveStates})
		if err != nil {
			return 0, fmt.Errorf("retention: user deleted: %w", err)
		}
		for _, k := range kids {
			queue = append(queue, k.ID)
		}
	}
	return len(seen), nil
}

// Reevaluate recomputes the due time of every live item under the current
// policy; call it after changing the policy. Items already due stay due.
// It returns the number of items visited.
func (m *Manager) Reevaluate(ctx context.Context) (int, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	n, after := 0, ""
	for {
		items, err := m.store.ListItems(ctx, ItemFilter{States: liveStates, After: after, Limit: 500})
		if err != nil {
			return n, fmt.Errorf("retention: reevaluate: %w", err)
		}
		if len(items) == 0 {
			return n, nil
		}
		for _, it := range items {
			if _, err := m.update(ctx, it.ID, func(*Item) {}); err != nil {
				return n, fmt.Errorf("retention: reevaluate: %w", err)
			}
			n++
		}
		after = items[len(items)-1].ID
	}
}

// Item returns a tracked item.
func (m *Manager) Item(ctx context.Context, id string) (Item, error) {
	if err := m.check(); err != nil {
		return Item{}, err
	}
	it, err := m.store.GetItem(ctx, id)
	if err != nil {
		return Item{}, fmt.Errorf("retention: item: %w", err)
	}
	return it, nil
}

func (m *Manager) audit(ctx context.Context, e audit.Event) {
	if m.auditor == nil {
		return
	}
	if e.Service == "" {
		e.Service = m.opts.Service
	}
	if err := m.auditor.Record(ctx, e); err != nil {
		m.log.ErrorContext(ctx, "retention: audit record failed", "action", e.Action, "err", err)
	}
}

// newID returns prefix_ followed by 16 random hex digits.
func newID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("retention: crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

func marshalRequest(r Request) ([]byte, error) { return json.Marshal(r) }

func unmarshalRequest(b []byte) (Request, error) {
	var r Request
	err := json.Unmarshal(b, &r)
	return r, err
}
