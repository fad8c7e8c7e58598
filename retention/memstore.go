package retention

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// MemoryStore is an in-memory [Store] for tests and ephemeral use. It is
// safe for concurrent use; its state is lost when the process ends. Use
// [NewMemoryStore].
type MemoryStore struct {
	mu        sync.Mutex
	items     map[string]Item
	journal   map[string][]JournalEntry
	holds     map[string]Hold
	requests  map[string]Request
	incidents map[string]Incident
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		items:     map[string]Item{},
		journal:   map[string][]JournalEntry{},
		holds:     map[string]Hold{},
		requests:  map[string]Request{},
		incidents: map[string]Incident{},
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

func normItem(it Item) Item {
	it.CreatedAt, it.LastActivityAt, it.SentAt = utc(it.CreatedAt), utc(it.LastActivityAt), utc(it.SentAt)
	it.UserDeletedAt, it.DueAt, it.LeaseUntil = utc(it.UserDeletedAt), utc(it.DueAt), utc(it.LeaseUntil)
	it.NextAttemptAt, it.DeletedAt = utc(it.NextAttemptAt), utc(it.DeletedAt)
	it.Labels = slices.Clone(it.Labels)
	if len(it.Labels) == 0 {
		it.Labels = nil
	}
	return it
}

// setDescriptive copies the host-owned fields and DueAt of src into dst.
func setDescriptive(dst *Item, src Item) {
	managed := *dst
	*dst = src
	dst.State, dst.Attempts, dst.Owner, dst.LeaseUntil = managed.State, managed.Attempts, managed.Owner, managed.LeaseUntil
	dst.NextAttemptAt, dst.LastError, dst.Task = managed.NextAttemptAt, managed.LastError, managed.Task
	dst.DeletedAt, dst.Method = managed.DeletedAt, managed.Method
}

// PutItem implements [Inventory].
func (s *MemoryStore) PutItem(ctx context.Context, it Item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it = normItem(it)
	if old, ok := s.items[it.ID]; ok {
		setDescriptive(&old, it)
		s.items[it.ID] = old
		return nil
	}
	it.State, it.Attempts, it.Owner, it.LeaseUntil, it.NextAttemptAt = StateActive, 0, "", time.Time{}, time.Time{}
	it.LastError, it.Task, it.DeletedAt, it.Method = "", "", time.Time{}, ""
	s.items[it.ID] = it
	return nil
}

// UpdateItem implements [Inventory].
func (s *MemoryStore) UpdateItem(ctx context.Context, id string, fn func(*Item) error) (Item, error) {
	if err := ctx.Err(); err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[id]
	if !ok {
		return Item{}, ErrNotFound
	}
	cp := normItem(old)
	if err := fn(&cp); err != nil {
		return Item{}, err
	}
	cp.ID = id
	setDescriptive(&old, normItem(cp))
	s.items[id] = old
	return normItem(old), nil
}

// GetItem implements [Inventory].
func (s *MemoryStore) GetItem(ctx context.Context, id string) (Item, error) {
	if err := ctx.Err(); err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return Item{}, ErrNotFound
	}
	return normItem(it), nil
}

func (f ItemFilter) match(it Item) bool {
	switch {
	case f.Subject != "" && it.Subject != f.Subject,
		f.Category != "" && it.Category != f.Category,
		f.System != "" && it.System != f.System,
		f.Parent != "" && it.Parent != f.Parent,
		len(f.States) > 0 && !slices.Contains(f.States, it.State),
		!f.DueBy.IsZero() && (it.DueAt.IsZero() || it.DueAt.After(f.DueBy)),
		!f.DeletedFrom.IsZero() && (it.DeletedAt.IsZero() || it.DeletedAt.Before(f.DeletedFrom)),
		!f.DeletedTo.IsZero() && (it.DeletedAt.IsZero() || !it.DeletedAt.Before(f.DeletedTo)),
		f.After != "" && it.ID <= f.After:
		return false
	}
	return true
}

// ListItems implements [Inventory].
func (s *MemoryStore) ListItems(ctx context.Context, f ItemFilter) ([]Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Item
	for _, it := range s.items {
		if f.match(it) {
			out = append(out, normItem(it))
		}
	}
	slices.SortFunc(out, func(a, b Item) int { return cmp.Compare(a.ID, b.ID) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// claimable reports whether it may be claimed under r.
func claimable(it Item, r ClaimRequest) bool {
	switch it.State {
	case StateDeleted:
		return false
	case StateClaimed, StateDeleting:
		return !r.Now.Before(it.LeaseUntil)
	}
	if !r.Force && !it.NextAttemptAt.IsZero() && r.Now.Before(it.NextAttemptAt) {
		return false
	}
	return true
}

// Claim implements [Journal].
func (s *MemoryStore) Claim(ctx context.Context, r ClaimRequest) ([]Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.Owner == "" {
		return nil, fmt.Errorf("%w: claim without owner", ErrInvalid)
	}
	limit := r.Limit
	if limit <= 0 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Collect the claimable candidates first, then sort only those.
	var ids []string
	consider := func(id string) {
		it, ok := s.items[id]
		if !ok || (r.After != "" && id <= r.After) || !claimable(it, r) {
			return
		}
		if r.IDs == nil && (it.DueAt.IsZero() || it.DueAt.After(r.DueBy)) {
			return
		}
		ids = append(ids, id)
	}
	if r.IDs != nil {
		seen := map[string]bool{}
		for _, id := range r.IDs {
			if !seen[id] {
				seen[id] = true
				consider(id)
			}
		}
	} else {
		for id := range s.items {
			consider(id)
		}
	}
	sort.Strings(ids)
	var out []Item
	for _, id := range ids {
		if len(out) >= limit {
			break
		}
		it := s.items[id]
		it.State, it.Owner, it.LeaseUntil = StateClaimed, r.Owner, utc(r.LeaseUntil)
		it.Attempts++
		s.items[id] = it
		s.journal[id] = append(s.journal[id], JournalEntry{ItemID: id, Attempt: it.Attempts, Owner: r.Owner, Step: StepClaimed, At: utc(r.Now)})
		out = append(out, normItem(it))
	}
	return out, nil
}

// ApplyStep moves it to the state of journal step e, setting the managed
// fields as [Journal.Record] specifies. Low-level: for Store
// implementations, which call it after checking the claim (owner and
// attempt), so that every store moves items the same way.
func ApplyStep(it *Item, e JournalEntry) error {
	switch e.Step {
	case StepDeleting:
		it.State = StateDeleting
		it.Method = e.Method
		if !e.LeaseUntil.IsZero() {
			it.LeaseUntil = utc(e.LeaseUntil)
		}
	case StepDeleted:
		it.State, it.DeletedAt, it.Owner, it.LeaseUntil = StateDeleted, utc(e.At), "", time.Time{}
		it.LastError, it.Method = "", e.Method
		if e.Task != "" {
			it.Task = e.Task
		}
	case StepFailed:
		it.State, it.Owner, it.LeaseUntil, it.LastError, it.NextAttemptAt = StateFailed, "", time.Time{}, e.Error, utc(e.NextAttemptAt)
		it.Method = ""
	case StepPending:
		it.State, it.Owner, it.LeaseUntil, it.NextAttemptAt = StatePending, "", time.Time{}, utc(e.NextAttemptAt)
		it.Task, it.Method, it.LastError = e.Task, e.Method, ""
	case StepReleased:
		it.State, it.Owner, it.LeaseUntil, it.NextAttemptAt = StateActive, "", time.Time{}, utc(e.NextAttemptAt)
	default:
		return fmt.Errorf("%w: journal step %q", ErrInvalid, e.Step)
	}
	return nil
}

var _ BatchRecorder = (*MemoryStore)(nil)

// Record implements [Journal].
func (s *MemoryStore) Record(ctx context.Context, e JournalEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.record(e)
}

// RecordBatch implements [BatchRecorder].
func (s *MemoryStore) RecordBatch(ctx context.Context, entries []JournalEntry) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make([]error, len(entries))
	for i, e := range entries {
		errs[i] = s.record(e)
	}
	return errs, nil
}

func (s *MemoryStore) record(e JournalEntry) error {
	it, ok := s.items[e.ItemID]
	if !ok {
		return ErrNotFound
	}
	if (it.State != StateClaimed && it.State != StateDeleting) || it.Owner != e.Owner || it.Attempts != e.Attempt {
		return ErrConflict
	}
	if err := ApplyStep(&it, e); err != nil {
		return err
	}
	s.items[e.ItemID] = it
	e.At, e.NextAttemptAt, e.LeaseUntil = utc(e.At), utc(e.NextAttemptAt), time.Time{}
	s.journal[e.ItemID] = append(s.journal[e.ItemID], e)
	return nil
}

// JournalOf implements [Journal].
func (s *MemoryStore) JournalOf(ctx context.Context, itemID string) ([]JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.journal[itemID]), nil
}

// DataMap implements [DataMapper].
func (s *MemoryStore) DataMap(ctx context.Context) ([]DataMapRow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[DataMapRow]int64{}
	for _, it := range s.items {
		if it.State == StateDeleted {
			continue
		}
		counts[DataMapRow{Category: it.Category, System: it.System, Purpose: it.Purpose, LegalBasis: it.LegalBasis, Vendor: it.Vendor}]++
	}
	out := make([]DataMapRow, 0, len(counts))
	for k, n := range counts {
		k.Count = n
		out = append(out, k)
	}
	sortDataMap(out)
	return out, nil
}

func sortDataMap(rows []DataMapRow) {
	slices.SortFunc(rows, func(a, b DataMapRow) int {
		return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.System, b.System),
			cmp.Compare(a.Purpose, b.Purpose), cmp.Compare(a.LegalBasis, b.LegalBasis), cmp.Compare(a.Vendor, b.Vendor))
	})
}

func normHold(h Hold) Hold {
	h.PlacedAt, h.ReleasedAt = utc(h.PlacedAt), utc(h.ReleasedAt)
	return h
}

// AddHold implements [HoldStore].
func (s *MemoryStore) AddHold(ctx context.Context, h Hold) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.holds[h.ID]; ok {
		return ErrExists
	}
	s.holds[h.ID] = normHold(h)
	return nil
}

// ReleaseHold implements [HoldStore].
func (s *MemoryStore) ReleaseHold(ctx context.Context, id, by, reason string, at time.Time) (Hold, error) {
	if err := ctx.Err(); err != nil {
		return Hold{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.holds[id]
	if !ok {
		return Hold{}, ErrNotFound
	}
	if !h.ReleasedAt.IsZero() {
		return Hold{}, ErrHoldReleased
	}
	h.ReleasedAt, h.ReleasedBy, h.ReleaseReason = utc(at), by, reason
	s.holds[id] = h
	return h, nil
}

// ListHolds implements [HoldStore].
func (s *MemoryStore) ListHolds(ctx context.Context, activeOnly bool) ([]Hold, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Hold
	for _, h := range s.holds {
		if activeOnly && !h.ReleasedAt.IsZero() {
			continue
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hold) int { return cmp.Or(a.PlacedAt.Compare(b.PlacedAt), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// CreateRequest implements [RequestStore].
func (s *MemoryStore) CreateRequest(ctx context.Context, r Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[r.ID]; ok {
		return ErrExists
	}
	r.Version = 1
	s.requests[r.ID] = cloneRequest(r)
	return nil
}

// GetRequest implements [RequestStore].
func (s *MemoryStore) GetRequest(ctx context.Context, id string) (Request, error) {
	if err := ctx.Err(); err != nil {
		return Request{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return Request{}, ErrNotFound
	}
	return cloneRequest(r), nil
}

// UpdateRequest implements [RequestStore].
func (s *MemoryStore) UpdateRequest(ctx context.Context, r Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.requests[r.ID]
	if !ok {
		return ErrNotFound
	}
	if old.Version != r.Version {
		return ErrConflict
	}
	r.Version++
	s.requests[r.ID] = cloneRequest(r)
	return nil
}

// ListRequests implements [RequestStore].
func (s *MemoryStore) ListRequests(ctx context.Context, from, to time.Time) ([]Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if inRange(r.ReceivedAt, from, to) {
			out = append(out, cloneRequest(r))
		}
	}
	slices.SortFunc(out, func(a, b Request) int { return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

// cloneRequest deep-copies r through its JSON form, which is also what the
// SQL store keeps, so both stores return the same values.
func cloneRequest(r Request) Request {
	b, err := marshalRequest(r)
	if err != nil {
		panic("retention: request does not encode: " + err.Error())
	}
	out, err := unmarshalRequest(b)
	if err != nil {
		panic("retention: request does not decode: " + err.Error())
	}
	return out
}

// AddIncident implements [IncidentStore].
func (s *MemoryStore) AddIncident(ctx context.Context, in Incident) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.incidents[in.ID]; ok {
		return ErrExists
	}
	in.DetectedAt, in.ReportedAt, in.SubjectsNotifiedAt = utc(in.DetectedAt), utc(in.ReportedAt), utc(in.SubjectsNotifiedAt)
	in.Categories = slices.Clone(in.Categories)
	s.incidents[in.ID] = in
	return nil
}

// ListIncidents implements [IncidentStore].
func (s *MemoryStore) ListIncidents(ctx context.Context, from, to time.Time) ([]Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for _, in := range s.incidents {
		if inRange(in.DetectedAt, from, to) {
			in.Categories = slices.Clone(in.Categories)
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b Incident) int { return cmp.Or(a.DetectedAt.Compare(b.DetectedAt), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}
