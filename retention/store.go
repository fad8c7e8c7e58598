package retention

import (
	"context"
	"time"
)

// Item is one stored piece of personal data the host tracks: an uploaded
// file, a conversation, a log line batch, a copy sent to a vendor. Items form
// the data map that the record of processing is built from.
//
// The host fills the descriptive fields; the fields under "managed" are
// maintained by the [Manager] and the [Store] and ignored by
// [Manager.Track].
type Item struct {
	// ID identifies the item; unique across systems. Required.
	ID string `json:"id"`
	// Category is the data category, for example "uploaded_file"; the
	// policy must have rules for it. Required.
	Category string `json:"category"`
	// Subject is the pseudonym of the person the data is about. Never a
	// raw e-mail address or name.
	Subject string `json:"subject,omitempty"`
	// System is where the item is stored, for example "workspace" or
	// "openai"; it selects the [Deleter]. Required.
	System string `json:"system"`
	// Location is where in the system, for example a path or table key.
	Location string `json:"location,omitempty"`
	// Purpose is why the item is processed, for example "analysis".
	Purpose string `json:"purpose,omitempty"`
	// LegalBasis is the GDPR Art. 6 basis, for example "contract".
	LegalBasis string `json:"legal_basis,omitempty"`
	// Vendor names the vendor that holds the item, if any; see [Vendor].
	Vendor string `json:"vendor,omitempty"`
	// Plan is the subject's current plan, for example "free" or "paid".
	Plan string `json:"plan,omitempty"`
	// Region is the subject's region, for example "eu" or "us-ca".
	Region string `json:"region,omitempty"`
	// Parent is the ID of the item this one is derived from (an embedding
	// of a conversation); deleting the parent by the user cascades to it.
	Parent string `json:"parent,omitempty"`
	// Labels are explicit rules attached to this item (a retention label),
	// which beat the category's implicit rules; see [Policy].
	Labels []Rule `json:"labels,omitempty"`

	// CreatedAt is when the item was stored. Zero means "now" in Track.
	CreatedAt time.Time `json:"created_at"`
	// LastActivityAt is the last use; zero means CreatedAt.
	LastActivityAt time.Time `json:"last_activity_at,omitzero"`
	// SentAt is when the item was sent to its vendor, if it was.
	SentAt time.Time `json:"sent_at,omitzero"`
	// UserDeletedAt is when the user deleted it (or its parent).
	UserDeletedAt time.Time `json:"user_deleted_at,omitzero"`

	// Managed: DueAt is when the policy makes the item due for deletion;
	// zero means never (kept until the user deletes it).
	DueAt time.Time `json:"due_at,omitzero"`
	// Managed: State is where the item is in its deletion journal.
	State ItemState `json:"state,omitempty"`
	// Managed: Attempts counts deletion claims so far.
	Attempts int `json:"attempts,omitempty"`
	// Managed: Owner is the sweeper instance holding the current claim.
	Owner string `json:"owner,omitempty"`
	// Managed: LeaseUntil is when the current claim lapses, so that
	// another instance may take over after a crash.
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// Managed: NextAttemptAt is the earliest time of the next claim after a
	// failure, a hold or a pending deletion.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// Managed: LastError is a short, non-personal description of the last
	// failure: "timeout", "canceled", "no deleter", or "error" with the
	// Go type of the Deleter's error, whose text is not stored because it
	// may carry personal data.
	LastError string `json:"last_error,omitempty"`
	// Managed: Task is the manual erasure task or pending-deletion note.
	Task string `json:"task,omitempty"`
	// Managed: DeletedAt is when the deletion was recorded done.
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// Managed: Method is how the item was or is being deleted.
	Method ErasureMethod `json:"method,omitempty"`
}

// ItemState is an item's place in the deletion journal.
type ItemState string

// Item states. An item moves active → claimed → deleting → deleted, or to
// failed or pending (and back to claimed on the next attempt). A claimed or
// deleting item whose lease has lapsed is claimable again: that is how a
// sweep resumes after a crash.
const (
	StateActive   ItemState = "active"
	StateClaimed  ItemState = "claimed"
	StateDeleting ItemState = "deleting"
	StateFailed   ItemState = "failed"
	StatePending  ItemState = "pending"
	StateDeleted  ItemState = "deleted"
)

// Step is one entry kind of the deletion journal.
type Step string

// Journal steps. Claimed is written by [Journal.Claim]; the others by
// [Journal.Record].
const (
	StepClaimed  Step = "claimed"
	StepDeleting Step = "deleting"
	StepDeleted  Step = "deleted"
	StepFailed   Step = "failed"
	StepPending  Step = "pending"
	// StepReleased gives a claimed item back without deleting it (held, or
	// not due any more); the item returns to active.
	StepReleased Step = "released"
)

// JournalEntry is one step of an item's deletion, as journaled by the store.
type JournalEntry struct {
	ItemID  string    `json:"item_id"`
	Attempt int       `json:"attempt"`
	Owner   string    `json:"owner"`
	Step    Step      `json:"step"`
	At      time.Time `json:"at"`
	// Error is a short, non-personal description of a failure.
	Error string `json:"error,omitempty"`
	// Method and Task describe how the deletion was done or is pending.
	Method ErasureMethod `json:"method,omitempty"`
	Task   string        `json:"task,omitempty"`
	// NextAttemptAt sets the item's next claimable time for failed,
	// pending and released steps.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// LeaseUntil, on a deleting step, renews the claim's lease so that it
	// covers the deleter call even late in a long batch. Not journaled.
	LeaseUntil time.Time `json:"-"`
}

// ItemFilter selects items in [Inventory.ListItems]. Zero fields match
// everything; set fields combine with AND.
type ItemFilter struct {
	Subject  string
	Category string
	System   string
	Parent   string
	// States, when not empty, lists the states to match.
	States []ItemState
	// DueBy matches items with a non-zero DueAt at or before it.
	DueBy time.Time
	// DeletedFrom and DeletedTo match items deleted in [from, to).
	DeletedFrom, DeletedTo time.Time
	// After returns only items whose ID sorts after it (paging).
	After string
	// Limit caps the result; 0 means no limit.
	Limit int
}

// DataMapRow is one line of the data map: how many items of a category
// live in a system, for which purpose, on which legal basis, at which
// vendor. Deleted items are not counted.
type DataMapRow struct {
	Category   string `json:"category"`
	System     string `json:"system"`
	Purpose    string `json:"purpose,omitempty"`
	LegalBasis string `json:"legal_basis,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	Count      int64  `json:"count"`
}

// ClaimRequest asks [Journal.Claim] for items to delete.
type ClaimRequest struct {
	// Owner names the claiming instance. Required.
	Owner string
	// Now is the claim time: leases and NextAttemptAt are compared with it.
	Now time.Time
	// LeaseUntil is when the claim lapses unless finished.
	LeaseUntil time.Time
	// DueBy claims items with a non-zero DueAt at or before it. Ignored
	// when IDs is set.
	DueBy time.Time
	// IDs, when not nil, claims exactly these items (those claimable),
	// due or not: erasure requests and confirmations use it.
	IDs []string
	// Force ignores NextAttemptAt (never a live lease of another owner).
	Force bool
	// After claims only items whose ID sorts after it; a sweep pages with
	// it so that it visits each item once.
	After string
	// Limit caps the number claimed; 0 means 100.
	Limit int
}

// Inventory stores tracked items. Implementations are safe for concurrent
// use; returned slices belong to the caller.
type Inventory interface {
	// PutItem inserts it, or replaces the descriptive fields and DueAt of
	// an existing item of that ID, keeping its journal state.
	PutItem(ctx context.Context, it Item) error
	// UpdateItem reads the item, calls fn on it and writes back the
	// descriptive fields and DueAt, atomically with respect to other
	// updates and claims. ErrNotFound if absent; fn's error aborts.
	UpdateItem(ctx context.Context, id string, fn func(*Item) error) (Item, error)
	// GetItem returns the item or ErrNotFound.
	GetItem(ctx context.Context, id string) (Item, error)
	// ListItems returns matching items ordered by ID.
	ListItems(ctx context.Context, f ItemFilter) ([]Item, error)
}

// Journal claims due items and journals each step of their deletion, so
// that several instances sweep one inventory without deleting anything
// twice and a crashed sweep resumes.
type Journal interface {
	// Claim marks up to r.Limit claimable items (ordered by ID) as claimed
	// by r.Owner until r.LeaseUntil, increments their Attempts, journals
	// StepClaimed and returns them. Claimable means: not deleted; not held
	// by a live lease of anyone; active, failed or pending with
	// NextAttemptAt at or before r.Now (unless r.Force); and due (unless
	// r.IDs is set). Two concurrent claims never return the same item.
	Claim(ctx context.Context, r ClaimRequest) ([]Item, error)
	// Record journals e and moves the item to the step's state, if the
	// item is still claimed by e.Owner at attempt e.Attempt; otherwise it
	// returns ErrConflict and changes nothing.
	Record(ctx context.Context, e JournalEntry) error
	// JournalOf returns an item's journal, oldest first.
	JournalOf(ctx context.Context, itemID string) ([]JournalEntry, error)
}

// HoldStore stores legal holds.
type HoldStore interface {
	// AddHold stores h; ErrExists if its ID is taken.
	AddHold(ctx context.Context, h Hold) error
	// ReleaseHold marks hold id released by by at at; ErrNotFound or
	// ErrHoldReleased.
	ReleaseHold(ctx context.Context, id, by, reason string, at time.Time) (Hold, error)
	// ListHolds returns holds ordered by PlacedAt then ID, active only if
	// activeOnly.
	ListHolds(ctx context.Context, activeOnly bool) ([]Hold, error)
}

// RequestStore stores data-subject requests.
type RequestStore interface {
	// CreateRequest stores r with Version 1; ErrExists if its ID is taken.
	CreateRequest(ctx context.Context, r Request) error
	// GetRequest returns the request or ErrNotFound.
	GetRequest(ctx context.Context, id string) (Request, error)
	// UpdateRequest replaces the request if its stored Version equals
	// r.Version, storing it with Version+1; ErrConflict otherwise.
	UpdateRequest(ctx context.Context, r Request) error
	// ListRequests returns requests received in [from, to) (zero bounds
	// are open), ordered by ReceivedAt then ID.
	ListRequests(ctx context.Context, from, to time.Time) ([]Request, error)
}

// IncidentStore stores personal-data breach incidents.
type IncidentStore interface {
	// AddIncident stores in; ErrExists if its ID is taken.
	AddIncident(ctx context.Context, in Incident) error
	// ListIncidents returns incidents detected in [from, to) (zero bounds
	// are open), ordered by DetectedAt then ID.
	ListIncidents(ctx context.Context, from, to time.Time) ([]Incident, error)
}

// DataMapper summarises the inventory for the record of processing and
// [Manager.Lint].
type DataMapper interface {
	// DataMap returns one row per distinct (category, system, purpose,
	// legal basis, vendor) among items not deleted, ordered by those.
	DataMap(ctx context.Context) ([]DataMapRow, error)
}

// Store is everything a [Manager] keeps: the inventory and its deletion
// journal, holds, requests and incidents. [NewMemoryStore] and
// retentionsql.New implement it; retentiontest.Run checks an
// implementation. Each part is a small interface of its own so that a host
// may compose a Store from several backends.
type Store interface {
	Inventory
	Journal
	DataMapper
	HoldStore
	RequestStore
	IncidentStore
}
