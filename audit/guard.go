package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Purpose is a reason for which an employee may reach a user's data.
type Purpose string

// The purposes a [Guard] allows. Any other purpose is refused.
const (
	ResolveIssue        Purpose = "resolve_issue"        // resolve a technical issue the user reported
	EvaluatePerformance Purpose = "evaluate_performance" // evaluate the service's performance
	FixBug              Purpose = "fix_bug"              // fix a bug
	LegalRequirement    Purpose = "legal_requirement"    // comply with a legal obligation
)

// Valid reports whether p is one of the allowed purposes.
func (p Purpose) Valid() bool {
	switch p {
	case ResolveIssue, EvaluatePerformance, FixBug, LegalRequirement:
		return true
	}
	return false
}

// The actions of the entries a [Guard] appends.
const (
	GrantAction  = "audit.access.grant"
	RevokeAction = "audit.access.revoke"
	AccessAction = "audit.access"
)

// Errors of the access guard.
var (
	// ErrAccessDenied reports an access without a valid grant, or one the
	// guard could not check or record: the guard fails closed.
	ErrAccessDenied = errors.New("audit: access denied")
	// ErrInvalidGrant reports a grant the guard refuses to issue.
	ErrInvalidGrant = errors.New("audit: invalid grant")
)

// DefaultMaxGrant is the longest a grant may last unless
// GuardOptions.MaxDuration says otherwise.
const DefaultMaxGrant = 7 * 24 * time.Hour

// Grant lets one employee reach one user's data for one purpose until it
// expires.
type Grant struct {
	// ID is the index of the grant's entry in the log; set by [Guard.Grant].
	ID uint64
	// Employee is who may access, as "employee:id".
	Employee string
	// User is the pseudonym of the person whose data may be accessed.
	User string
	// Purpose is the one allowed purpose.
	Purpose Purpose
	// Ticket references the request that justifies the access.
	Ticket string
	// Expires is when the grant stops allowing access.
	Expires time.Time
	// GrantedBy is who issued the grant; it must not be Employee.
	GrantedBy string
}

// AccessRequest is an employee's attempt to reach a user's data.
type AccessRequest struct {
	Employee string
	User     string
	Purpose  Purpose
	// Resource names what is accessed, recorded with the access.
	Resource string
}

// GuardOptions configure a [Guard]. Nil means defaults.
type GuardOptions struct {
	// MaxDuration is the longest lifetime of a grant. Zero means
	// [DefaultMaxGrant].
	MaxDuration time.Duration
}

// Guard decides whether an employee may reach a user's data. Grants are
// entries of the log itself, so every instance of a service sharing the
// log's store sees the same grants, and a grant cannot be slipped in or
// edited without breaking the log's verification. Every grant, revocation,
// access and denial is appended to the log. The guard fails closed: no
// valid grant, or any error while checking or recording, means no access.
// Guard is safe for concurrent use; use [NewGuard].
type Guard struct {
	log *Log
	max time.Duration
}

// NewGuard returns a guard that keeps its grants in log.
func NewGuard(log *Log, opts *GuardOptions) *Guard {
	g := &Guard{log: log, max: DefaultMaxGrant}
	if opts != nil && opts.MaxDuration > 0 {
		g.max = opts.MaxDuration
	}
	return g
}

// Grant issues gr: it checks that the purpose is allowed, that a ticket is
// given, that the grantor is not the employee, and that the expiry lies in
// the future within the maximum duration, then appends the grant to the
// log and returns it with its ID. A refused grant is recorded as a denied
// grant entry and returns an error wrapping [ErrInvalidGrant].
func (g *Guard) Grant(ctx context.Context, gr Grant) (Grant, error) {
	now := g.log.now()
	var why string
	switch {
	case gr.Employee == "" || gr.User == "" || gr.GrantedBy == "":
		why = "employee, user and grantor are required"
	case !gr.Purpose.Valid():
		why = "purpose is not allowed"
	case gr.Ticket == "":
		why = "a ticket reference is required"
	case gr.GrantedBy == gr.Employee:
		why = "an employee cannot grant themselves access"
	case !gr.Expires.After(now):
		why = "expiry is not in the future"
	case gr.Expires.Sub(now) > g.max:
		why = "expiry is beyond the maximum grant duration"
	}
	ev := Event{
		Actor: gr.GrantedBy, Action: GrantAction, Resource: gr.Employee, Subject: gr.User,
		Purpose: string(gr.Purpose), Outcome: Success, Time: now,
		Attrs: []Attr{String("employee", gr.Employee), String("ticket", gr.Ticket), Int("expires_unix_ns", gr.Expires.UnixNano())},
	}
	if why != "" {
		err := fmt.Errorf("%w: %s", ErrInvalidGrant, why)
		ev.Outcome = Denied
		ev.Attrs = append(ev.Attrs, String("reason", why))
		if ev.Actor == "" {
			ev.Actor = "unknown"
		}
		if _, rerr := g.log.Append(ctx, ev); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return Grant{}, err
	}
	id, err := g.log.Append(ctx, ev)
	if err != nil {
		return Grant{}, fmt.Errorf("audit: grant not recorded: %w", err)
	}
	gr.ID = id
	gr.Expires = time.Unix(0, gr.Expires.UnixNano()).UTC()
	return gr, nil
}

// Revoke ends grant id early; by is who revokes. It appends a revocation.
func (g *Guard) Revoke(ctx context.Context, id uint64, by string) error {
	gr, err := g.grantAt(ctx, id)
	if err != nil {
		return err
	}
	_, err = g.log.Append(ctx, Event{
		Actor: by, Action: RevokeAction, Resource: gr.Employee, Subject: gr.User,
		Purpose: string(gr.Purpose), Outcome: Success, Attrs: []Attr{Int("grant", int64(id))},
	})
	return err
}

// grantAt reads the grant entry at index id.
func (g *Guard) grantAt(ctx context.Context, id uint64) (Grant, error) {
	e, err := g.log.Entry(ctx, id)
	if err != nil {
		return Grant{}, err
	}
	gr, ok := grantOf(e)
	if !ok {
		return Grant{}, fmt.Errorf("%w: entry %d is not a grant", ErrInvalidGrant, id)
	}
	return gr, nil
}

// grantOf decodes a successful grant entry.
func grantOf(e *Entry) (Grant, bool) {
	ev := &e.Event
	if e.Stripped || ev.Action != GrantAction || ev.Outcome != Success {
		return Grant{}, false
	}
	gr := Grant{ID: e.Index, User: ev.Subject, Purpose: Purpose(ev.Purpose), GrantedBy: ev.Actor}
	var exp bool
	for _, a := range ev.Attrs {
		switch {
		case a.Key == "employee" && a.Kind == KindString:
			gr.Employee = a.Str
		case a.Key == "ticket" && a.Kind == KindString:
			gr.Ticket = a.Str
		case a.Key == "expires_unix_ns" && a.Kind == KindInt:
			gr.Expires, exp = time.Unix(0, a.Int).UTC(), true
		}
	}
	return gr, exp && gr.Employee != "" && gr.Purpose.Valid()
}

// Access checks req against the grants in the log. With a valid,
// unexpired, unrevoked grant for exactly this employee, user and purpose,
// it appends a successful access entry and returns the grant. Otherwise
// it appends a denied access entry and returns an error wrapping
// [ErrAccessDenied]. If the access cannot be recorded it is denied too.
func (g *Guard) Access(ctx context.Context, req AccessRequest) (Grant, error) {
	ev := Event{
		Actor: req.Employee, Action: AccessAction, Resource: req.Resource, Subject: req.User,
		Purpose: string(req.Purpose), Outcome: Denied, Time: g.log.now(),
	}
	if ev.Actor == "" {
		ev.Actor = "unknown"
	}
	gr, why, cerr := g.find(ctx, req, ev.Time)
	if why != "" {
		ev.Attrs = []Attr{String("reason", why)}
		err := fmt.Errorf("%w: %s", ErrAccessDenied, why)
		if cerr != nil {
			err = fmt.Errorf("%w: %s: %w", ErrAccessDenied, why, cerr)
		}
		if _, rerr := g.log.Append(ctx, ev); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return Grant{}, err
	}
	ev.Outcome = Success
	ev.Attrs = []Attr{Int("grant", int64(gr.ID)), String("ticket", gr.Ticket)}
	if _, err := g.log.Append(ctx, ev); err != nil {
		return Grant{}, fmt.Errorf("%w: access not recorded: %w", ErrAccessDenied, err)
	}
	return gr, nil
}

// find returns a grant that allows req at now, or why not.
func (g *Guard) find(ctx context.Context, req AccessRequest, now time.Time) (Grant, string, error) {
	switch {
	case req.Employee == "" || req.User == "":
		return Grant{}, "employee and user are required", nil
	case !req.Purpose.Valid():
		return Grant{}, "purpose is not allowed", nil
	}
	revoked := map[uint64]bool{}
	if err := g.each(ctx, Filter{Subject: req.User, Action: RevokeAction}, func(e *Entry) {
		for _, a := range e.Event.Attrs {
			if a.Key == "grant" && a.Kind == KindInt {
				revoked[uint64(a.Int)] = true
			}
		}
	}); err != nil {
		return Grant{}, "grants could not be read", err
	}
	var found Grant
	var ok bool
	if err := g.each(ctx, Filter{Subject: req.User, Action: GrantAction}, func(e *Entry) {
		gr, valid := grantOf(e)
		if valid && !revoked[gr.ID] && gr.Employee == req.Employee && gr.Purpose == req.Purpose && now.Before(gr.Expires) {
			found, ok = gr, true
		}
	}); err != nil {
		return Grant{}, "grants could not be read", err
	}
	if !ok {
		return Grant{}, "no valid grant", nil
	}
	return found, "", nil
}

// each calls fn for every entry matching f, page by page, unaudited.
func (g *Guard) each(ctx context.Context, f Filter, fn func(*Entry)) error {
	f.Limit = MaxPageSize
	for {
		p, err := g.log.search(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range p.Entries {
			fn(e)
		}
		if !p.More {
			return nil
		}
		f.Start = p.Next
	}
}
