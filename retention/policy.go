package retention

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Anchor is the moment a rule's TTL counts from.
type Anchor string

// Anchors.
const (
	// AnchorCreated counts from Item.CreatedAt.
	AnchorCreated Anchor = "created"
	// AnchorLastActivity counts from Item.LastActivityAt (CreatedAt if
	// never used).
	AnchorLastActivity Anchor = "last_activity"
	// AnchorSentToVendor counts from Item.SentAt; an item never sent is
	// never due under such a rule.
	AnchorSentToVendor Anchor = "sent_to_vendor"
	// AnchorUserDeleted counts from Item.UserDeletedAt: with TTL 0 it is
	// "kept until the user deletes it".
	AnchorUserDeleted Anchor = "user_deleted"
)

// Action is what a rule asks for.
type Action string

// Actions.
const (
	// ActionDelete deletes the item TTL after its anchor.
	ActionDelete Action = "delete"
	// ActionRetain keeps the item at least TTL after its anchor (a legal
	// or business minimum); until the anchor happens, it keeps it.
	ActionRetain Action = "retain"
)

// Data categories of [DefaultPolicy].
const (
	CategoryUploadedFile = "uploaded_file"
	CategoryWorkspace    = "workspace"
	CategoryConversation = "conversation"
	CategoryDerived      = "derived"
	CategoryVendorData   = "vendor_data"
	CategoryRequestLog   = "request_log"
	CategoryAccount      = "account"
	CategoryAuditEntry   = "audit_entry"
)

// Rule is one retention rule for a data category, optionally conditioned
// on the subject's plan and region.
type Rule struct {
	// Category is the data category. Required.
	Category string
	// Action is ActionDelete or ActionRetain.
	Action Action
	// Anchor is when TTL starts.
	Anchor Anchor
	// TTL is how long after Anchor. Not negative.
	TTL time.Duration
	// Plan, when set, limits the rule to items of that plan.
	Plan string
	// Region, when set, limits the rule to items of that region.
	Region string
	// Vendor, when set, limits the rule to items held by that vendor
	// (Item.Vendor); see [VendorRules].
	Vendor string
	// Reason documents the rule (shown in the record of processing).
	Reason string
}

type ruleJSON struct {
	Category string          `json:"category"`
	Action   Action          `json:"action"`
	Anchor   Anchor          `json:"anchor"`
	TTL      json.RawMessage `json:"ttl"`
	Plan     string          `json:"plan,omitempty"`
	Region   string          `json:"region,omitempty"`
	Vendor   string          `json:"vendor,omitempty"`
	Reason   string          `json:"reason,omitempty"`
}

// MarshalJSON encodes the rule with TTL as a Go duration string ("168h").
func (r Rule) MarshalJSON() ([]byte, error) {
	ttl, err := json.Marshal(r.TTL.String())
	if err != nil {
		return nil, err
	}
	return json.Marshal(ruleJSON{r.Category, r.Action, r.Anchor, ttl, r.Plan, r.Region, r.Vendor, r.Reason})
}

// UnmarshalJSON decodes a rule encoded by MarshalJSON. The "ttl" key is
// required, null meaning 0 (as for "until the user deletes it"), and
// unknown keys are refused: a misspelt TTL must not turn into "delete at
// once".
func (r *Rule) UnmarshalJSON(b []byte) error {
	var j ruleJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	var ttl time.Duration
	switch t := strings.TrimSpace(string(j.TTL)); t {
	case "":
		return fmt.Errorf("%w: rule for %q without ttl (use null for none)", ErrInvalidPolicy, j.Category)
	case "null":
	default:
		var str string
		if err := json.Unmarshal(j.TTL, &str); err != nil {
			return fmt.Errorf("%w: ttl must be a duration string such as \"168h\"", ErrInvalidPolicy)
		}
		d, err := time.ParseDuration(str)
		if err != nil {
			return fmt.Errorf("%w: bad ttl", ErrInvalidPolicy)
		}
		ttl = d
	}
	*r = Rule{Category: j.Category, Action: j.Action, Anchor: j.Anchor, TTL: ttl, Plan: j.Plan, Region: j.Region, Vendor: j.Vendor, Reason: j.Reason}
	return nil
}

func (r Rule) scope() string {
	s := r.Category + "|plan=" + r.Plan + "|region=" + r.Region
	if r.Vendor != "" {
		s += "|vendor=" + r.Vendor
	}
	return s
}

// String describes the rule, for example
// "uploaded_file delete 1h0m0s after created plan=free".
func (r Rule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s after %s", r.Category, r.Action, r.TTL, r.Anchor)
	if r.Plan != "" {
		fmt.Fprintf(&b, " plan=%s", r.Plan)
	}
	if r.Region != "" {
		fmt.Fprintf(&b, " region=%s", r.Region)
	}
	if r.Vendor != "" {
		fmt.Fprintf(&b, " vendor=%s", r.Vendor)
	}
	return b.String()
}

// validate checks one rule on its own.
func (r Rule) validate() error {
	switch {
	case strings.TrimSpace(r.Category) == "":
		return fmt.Errorf("%w: rule without category", ErrInvalidPolicy)
	case r.TTL < 0:
		return fmt.Errorf("%w: %s: negative ttl", ErrInvalidPolicy, r.Category)
	}
	switch r.Action {
	case ActionDelete, ActionRetain:
	default:
		return fmt.Errorf("%w: %s: unknown action %q", ErrInvalidPolicy, r.Category, r.Action)
	}
	switch r.Anchor {
	case AnchorCreated, AnchorLastActivity, AnchorSentToVendor, AnchorUserDeleted:
	default:
		return fmt.Errorf("%w: %s: unknown anchor %q", ErrInvalidPolicy, r.Category, r.Anchor)
	}
	return nil
}

// Policy is a validated set of rules. It is immutable and safe for
// concurrent use. Use [NewPolicy], [ParsePolicy] or [DefaultPolicy].
//
// # Precedence
//
// For an item, the rules of its category that match its plan and region
// apply, together with its labels ([Item.Labels], explicit rules). As in
// Microsoft Purview and S3 Object Lock:
//
//  1. A legal hold beats everything: a held item is never deleted.
//  2. Retention beats deletion: the item is deleted at the later of its
//     deletion time and its retention end.
//  3. The longest retention wins among retain rules.
//  4. An explicit rule beats an implicit one among delete rules: a label
//     beats a category rule, and a rule with more conditions (plan,
//     region, vendor) beats one with fewer, down to a category-wide rule.
//  5. The shortest deletion wins among delete rules equally explicit.
//
// # Contradictions
//
// Rules of one rule set that share a scope (category, plan, region, vendor) must
// not contradict each other: at most one delete and one retain rule per
// scope, and a retain rule must not outlast a delete rule of the same scope
// and anchor ("delete after 1 hour" and "keep at least 30 days" for the very
// same items). Such sets are rejected with [ErrContradiction]; precedence
// resolves only rules of different scopes.
type Policy struct {
	rules      []Rule
	byCategory map[string][]Rule
}

// NewPolicy validates rules and returns the policy. It returns an error
// wrapping [ErrInvalidPolicy] for a malformed rule and [ErrContradiction]
// for contradictory rules, naming the rules.
func NewPolicy(rules []Rule) (*Policy, error) {
	p := &Policy{rules: slices.Clone(rules), byCategory: map[string][]Rule{}}
	scopes := map[string][]Rule{}
	var order []string
	for _, r := range rules {
		if err := r.validate(); err != nil {
			return nil, err
		}
		p.byCategory[r.Category] = append(p.byCategory[r.Category], r)
		if _, ok := scopes[r.scope()]; !ok {
			order = append(order, r.scope())
		}
		scopes[r.scope()] = append(scopes[r.scope()], r)
	}
	var errs []error
	for _, s := range order {
		rs := scopes[s]
		var del, ret []Rule
		for _, r := range rs {
			if r.Action == ActionDelete {
				del = append(del, r)
			} else {
				ret = append(ret, r)
			}
		}
		if len(del) > 1 {
			errs = append(errs, fmt.Errorf("%w: %d delete rules for %s (%s; %s): keep one", ErrContradiction, len(del), s, del[0], del[1]))
		}
		if len(ret) > 1 {
			errs = append(errs, fmt.Errorf("%w: %d retain rules for %s (%s; %s): keep one", ErrContradiction, len(ret), s, ret[0], ret[1]))
		}
		for _, d := range del {
			for _, r := range ret {
				if d.Anchor == r.Anchor && r.TTL > d.TTL {
					errs = append(errs, fmt.Errorf("%w: %s: %q and %q for the same items", ErrContradiction, s, d.String(), r.String()))
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// MustPolicy is NewPolicy that panics on error; for rule sets written in
// code.
func MustPolicy(rules []Rule) *Policy {
	p, err := NewPolicy(rules)
	if err != nil {
		panic(err)
	}
	return p
}

// policyJSON is the JSON form of a policy, version 1.
type policyJSON struct {
	Version int    `json:"version"`
	Rules   []Rule `json:"rules"`
}

// ParsePolicy decodes a policy from JSON:
//
//	{"version": 1, "rules": [{"category": "uploaded_file", "action": "delete",
//	  "anchor": "created", "ttl": "1h", "plan": "free"}]}
//
// and validates it as [NewPolicy] does.
func ParsePolicy(data []byte) (*Policy, error) {
	var j policyJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		if errors.Is(err, ErrInvalidPolicy) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the policy object", ErrInvalidPolicy)
	}
	if j.Version != 1 {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrInvalidPolicy, j.Version)
	}
	return NewPolicy(j.Rules)
}

// MarshalJSON encodes the policy in the form [ParsePolicy] reads.
func (p *Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(policyJSON{Version: 1, Rules: p.rules})
}

// Rules returns a copy of the policy's rules.
func (p *Policy) Rules() []Rule { return slices.Clone(p.rules) }

// Categories returns the categories the policy covers, sorted.
func (p *Policy) Categories() []string {
	out := make([]string, 0, len(p.byCategory))
	for c := range p.byCategory {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// RulesFor returns the rules of a category.
func (p *Policy) RulesFor(category string) []Rule { return slices.Clone(p.byCategory[category]) }

// Covers reports whether the policy has rules for category.
func (p *Policy) Covers(category string) bool { return len(p.byCategory[category]) > 0 }

// DefaultPolicy returns the defaults of privkit's reference service
// (DESIGN.md §5):
//
//   - uploaded files: 1 hour (free), 7 days (paid) after upload, activity
//     never extends it; unknown plans get the free rule;
//   - workspaces: 1 hour (free), 7 days (paid) after the last activity;
//   - conversations, account data and derived data: kept until the user
//     deletes them (deletion cascades to derived data);
//   - data sent to a vendor: 30 days after sending;
//   - request and security logs with raw IP addresses: 30 days;
//   - audit entries: kept 1 year, then deleted.
func DefaultPolicy() *Policy {
	const day = 24 * time.Hour
	return MustPolicy([]Rule{
		{Category: CategoryUploadedFile, Action: ActionDelete, Anchor: AnchorCreated, TTL: time.Hour, Reason: "default: strictest plan"},
		{Category: CategoryUploadedFile, Action: ActionDelete, Anchor: AnchorCreated, TTL: time.Hour, Plan: "free", Reason: "free plan: files kept 1 hour"},
		{Category: CategoryUploadedFile, Action: ActionDelete, Anchor: AnchorCreated, TTL: 7 * day, Plan: "paid", Reason: "paid plan: files kept up to 7 days"},
		{Category: CategoryWorkspace, Action: ActionDelete, Anchor: AnchorLastActivity, TTL: time.Hour, Reason: "default: strictest plan"},
		{Category: CategoryWorkspace, Action: ActionDelete, Anchor: AnchorLastActivity, TTL: time.Hour, Plan: "free", Reason: "free plan: idle workspaces deleted after 1 hour"},
		{Category: CategoryWorkspace, Action: ActionDelete, Anchor: AnchorLastActivity, TTL: 7 * day, Plan: "paid", Reason: "paid plan: idle workspaces deleted after 7 days"},
		{Category: CategoryConversation, Action: ActionDelete, Anchor: AnchorUserDeleted, Reason: "kept until the user deletes it"},
		{Category: CategoryDerived, Action: ActionDelete, Anchor: AnchorUserDeleted, Reason: "derived data follows its source"},
		{Category: CategoryAccount, Action: ActionDelete, Anchor: AnchorUserDeleted, Reason: "life of the account"},
		{Category: CategoryVendorData, Action: ActionDelete, Anchor: AnchorSentToVendor, TTL: 30 * day, Reason: "vendor copies: 30 days (OpenAI API abuse monitoring)"},
		{Category: CategoryRequestLog, Action: ActionDelete, Anchor: AnchorCreated, TTL: 30 * day, Reason: "raw IP kept 30 days to stop misuse"},
		{Category: CategoryAuditEntry, Action: ActionRetain, Anchor: AnchorCreated, TTL: 365 * day, Reason: "PCI DSS 10.5.1: 12 months"},
		{Category: CategoryAuditEntry, Action: ActionDelete, Anchor: AnchorCreated, TTL: 365 * day, Reason: "1 year"},
	})
}

// Decision is the outcome of evaluating the policy for one item.
type Decision struct {
	// Delete is true when the item is due and not held.
	Delete bool
	// DueAt is when the item becomes due; zero means never.
	DueAt time.Time
	// DeleteAt is the winning delete rule's time; zero means never.
	DeleteAt time.Time
	// RetainUntil is the longest retention's end; zero means none.
	// RetainForever is set when a retain rule's anchor has not happened.
	RetainUntil   time.Time
	RetainForever bool
	// DeleteRule and RetainRule are the winning rules, if any.
	DeleteRule, RetainRule *Rule
	// Held lists the active holds that block deletion.
	Held []string
	// Reason explains the decision in a few words.
	Reason string
}

func anchorTime(it Item, a Anchor) time.Time {
	switch a {
	case AnchorCreated:
		return it.CreatedAt
	case AnchorLastActivity:
		if it.LastActivityAt.After(it.CreatedAt) {
			return it.LastActivityAt
		}
		return it.CreatedAt
	case AnchorSentToVendor:
		return it.SentAt
	case AnchorUserDeleted:
		return it.UserDeletedAt
	}
	return time.Time{}
}

// explicitness ranks a rule for precedence step 4.
func explicitness(r Rule, label bool) int {
	n := 0
	if label {
		n += 10
	}
	if r.Plan != "" {
		n++
	}
	if r.Region != "" {
		n++
	}
	if r.Vendor != "" {
		n++
	}
	return n
}

// Evaluate applies the policy to it at now, given the holds that may
// apply (any holds; only those active at now and matching the item count).
// It returns an error wrapping ErrUnknownCategory if no rule covers the
// item's category. Pure computation.
func (p *Policy) Evaluate(it Item, holds []Hold, now time.Time) (Decision, error) {
	d, err := p.due(it)
	if err != nil {
		return d, err
	}
	for _, h := range holds {
		if h.ActiveAt(now) && h.Matches(it) {
			d.Held = append(d.Held, h.ID)
		}
	}
	switch {
	case len(d.Held) > 0:
		d.Reason = "legal hold"
	case d.DueAt.IsZero():
		if d.RetainForever {
			d.Reason = "retained: retention period not started"
		} else {
			d.Reason = "no deletion time: kept until its anchor happens"
		}
	case now.Before(d.DueAt):
		d.Reason = "not yet due"
	default:
		d.Delete = true
		d.Reason = "due"
	}
	return d, nil
}

// DueAt returns when it becomes due for deletion under the policy,
// ignoring holds; zero means never.
func (p *Policy) DueAt(it Item) (time.Time, error) {
	d, err := p.due(it)
	return d.DueAt, err
}

func (p *Policy) due(it Item) (Decision, error) {
	var d Decision
	rules := p.byCategory[it.Category]
	if len(rules) == 0 {
		return d, fmt.Errorf("%w %q", ErrUnknownCategory, it.Category)
	}
	type cand struct {
		r     Rule
		label bool
	}
	var cands []cand
	for _, r := range rules {
		if (r.Plan == "" || r.Plan == it.Plan) && (r.Region == "" || r.Region == it.Region) && (r.Vendor == "" || r.Vendor == it.Vendor) {
			cands = append(cands, cand{r, false})
		}
	}
	for _, r := range it.Labels {
		cands = append(cands, cand{r, true})
	}
	best := -1
	neverDelete := true
	for _, c := range cands {
		r := c.r
		a := anchorTime(it, r.Anchor)
		switch r.Action {
		case ActionRetain:
			if a.IsZero() {
				d.RetainForever = true
				d.RetainRule = &r
				continue
			}
			if until := a.Add(r.TTL); until.After(d.RetainUntil) {
				d.RetainUntil = until
				if !d.RetainForever {
					d.RetainRule = &r
				}
			}
		case ActionDelete:
			e := explicitness(r, c.label)
			var at time.Time
			if !a.IsZero() {
				at = a.Add(r.TTL)
			}
			switch {
			case e > best:
				best, d.DeleteAt, d.DeleteRule, neverDelete = e, at, &r, at.IsZero()
			case e == best && !at.IsZero() && (neverDelete || at.Before(d.DeleteAt)):
				d.DeleteAt, d.DeleteRule, neverDelete = at, &r, false
			}
		}
	}
	if best < 0 || neverDelete || d.RetainForever {
		return d, nil
	}
	d.DueAt = d.DeleteAt
	if d.RetainUntil.After(d.DueAt) {
		d.DueAt = d.RetainUntil
	}
	return d, nil
}

// VendorRules returns, for each vendor with a known retention, a rule that
// deletes its copies of [CategoryVendorData] that long after they were
// sent: "data sent to a vendor is kept as the vendor record says". Being
// conditioned on the vendor, such a rule beats the category-wide default.
// Add them to a policy:
//
//	p, err := retention.NewPolicy(append(retention.DefaultPolicy().Rules(), retention.VendorRules(vendors)...))
func VendorRules(vendors []Vendor) []Rule {
	var out []Rule
	for _, v := range vendors {
		if v.Retention <= 0 || v.Name == "" {
			continue
		}
		out = append(out, Rule{Category: CategoryVendorData, Action: ActionDelete, Anchor: AnchorSentToVendor,
			TTL: v.Retention, Vendor: v.Name, Reason: "retention at " + v.Name + " (vendor record as of " + v.AsOf + ")"})
	}
	return out
}
