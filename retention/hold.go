package retention

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// HoldScope is what a legal hold covers.
type HoldScope string

// Hold scopes.
const (
	// HoldItem covers one item, by ID.
	HoldItem HoldScope = "item"
	// HoldSubject covers every item of a subject pseudonym.
	HoldSubject HoldScope = "subject"
	// HoldCategory covers every item of a data category.
	HoldCategory HoldScope = "category"
)

// Hold is a legal hold: while active, the items it covers are never deleted,
// neither by the sweeper nor by erasure requests. Releasing it does not
// restart any retention clock: an item overdue at release is deleted by the
// next sweep (S3 legal hold semantics).
type Hold struct {
	// ID identifies the hold; [Manager.PlaceHold] generates one if empty.
	ID string `json:"id"`
	// Scope and Target say what is held: an item ID, a subject pseudonym
	// or a category.
	Scope  HoldScope `json:"scope"`
	Target string    `json:"target"`
	// Reason is why, for example "litigation 2025-17" (no personal data).
	Reason string `json:"reason"`
	// PlacedBy is who placed it, as "kind:id"; PlacedAt when.
	PlacedBy string    `json:"placed_by"`
	PlacedAt time.Time `json:"placed_at"`
	// ReleasedBy, ReleasedAt and ReleaseReason record the release.
	ReleasedBy    string    `json:"released_by,omitempty"`
	ReleasedAt    time.Time `json:"released_at,omitzero"`
	ReleaseReason string    `json:"release_reason,omitempty"`
}

// ActiveAt reports whether the hold is in force at t.
func (h Hold) ActiveAt(t time.Time) bool {
	return !h.PlacedAt.After(t) && (h.ReleasedAt.IsZero() || t.Before(h.ReleasedAt))
}

// Matches reports whether the hold covers it.
func (h Hold) Matches(it Item) bool {
	switch h.Scope {
	case HoldItem:
		return h.Target == it.ID
	case HoldSubject:
		return h.Target != "" && h.Target == it.Subject
	case HoldCategory:
		return h.Target == it.Category
	}
	return false
}

// PlaceHold places a legal hold and records it in the audit log. h.Scope,
// h.Target, h.Reason and h.PlacedBy are required; h.PlacedAt defaults to
// now and h.ID to a random ID. It returns the stored hold.
func (m *Manager) PlaceHold(ctx context.Context, h Hold) (Hold, error) {
	if err := m.check(); err != nil {
		return Hold{}, err
	}
	switch h.Scope {
	case HoldItem, HoldSubject, HoldCategory:
	default:
		return Hold{}, fmt.Errorf("%w: unknown hold scope %q", ErrInvalid, h.Scope)
	}
	if strings.TrimSpace(h.Target) == "" || strings.TrimSpace(h.Reason) == "" || strings.TrimSpace(h.PlacedBy) == "" {
		return Hold{}, fmt.Errorf("%w: a hold needs a target, a reason and who placed it", ErrInvalid)
	}
	if h.ID == "" {
		h.ID = newID("hold")
	}
	if h.PlacedAt.IsZero() {
		h.PlacedAt = m.now()
	}
	h.PlacedAt = h.PlacedAt.UTC()
	h.ReleasedAt, h.ReleasedBy, h.ReleaseReason = time.Time{}, "", ""
	if err := m.store.AddHold(ctx, h); err != nil {
		return Hold{}, fmt.Errorf("retention: place hold: %w", err)
	}
	m.audit(ctx, audit.Event{
		Time: h.PlacedAt, Actor: h.PlacedBy, Action: "retention.hold.placed",
		Resource: "retention/hold/" + h.ID, Outcome: audit.Success,
		Subject: holdSubject(h),
		Attrs:   []audit.Attr{audit.String("scope", string(h.Scope)), audit.String("reason", h.Reason)},
	})
	return h, nil
}

// ReleaseHold releases hold id, recording who released it and why. Items
// it covered become deletable again at the next sweep if no other hold
// covers them; their retention clock was never stopped.
func (m *Manager) ReleaseHold(ctx context.Context, id, by, reason string) (Hold, error) {
	if err := m.check(); err != nil {
		return Hold{}, err
	}
	if strings.TrimSpace(by) == "" {
		return Hold{}, fmt.Errorf("%w: a release needs who released it", ErrInvalid)
	}
	h, err := m.store.ReleaseHold(ctx, id, by, reason, m.now())
	if err != nil {
		return Hold{}, fmt.Errorf("retention: release hold: %w", err)
	}
	m.audit(ctx, audit.Event{
		Time: h.ReleasedAt, Actor: by, Action: "retention.hold.released",
		Resource: "retention/hold/" + h.ID, Outcome: audit.Success, Subject: holdSubject(h),
		Attrs: []audit.Attr{audit.String("scope", string(h.Scope)), audit.String("reason", reason)},
	})
	return h, nil
}

// Holds returns the holds, only those not released if activeOnly.
func (m *Manager) Holds(ctx context.Context, activeOnly bool) ([]Hold, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	hs, err := m.store.ListHolds(ctx, activeOnly)
	if err != nil {
		return nil, fmt.Errorf("retention: list holds: %w", err)
	}
	return hs, nil
}

func holdSubject(h Hold) string {
	if h.Scope == HoldSubject {
		return h.Target
	}
	return ""
}
