package llm

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Answer is a yes/no fact that may be unknown. Unknown counts as the worst
// case wherever a requirement depends on it.
type Answer uint8

// The answers.
const (
	Unknown Answer = iota // the host cannot attest it: worst case
	Yes
	No
)

// String returns "unknown", "yes" or "no".
func (a Answer) String() string {
	switch a {
	case Yes:
		return "yes"
	case No:
		return "no"
	default:
		return "unknown"
	}
}

// Facts are a provider's data-policy facts, as of a date, from a source.
// The shipped facts (openai.DefaultFacts, gemini.PaidFacts, gemini.FreeFacts,
// anthropic.DefaultFacts) describe each vendor's standard terms; a host
// with a different contract (zero data retention, a data-residency project)
// passes its own Facts to the provider, and takes responsibility for them.
//
// Every unset field counts as the worst case: Unknown answers as "yes, it
// trains / humans review" and "no ZDR", a negative RetentionDays as
// "retained indefinitely", no Regions as "anywhere".
type Facts struct {
	// Provider names the service the facts describe, such as "OpenAI API".
	Provider string
	// Version identifies this set of facts; bump it when they change.
	Version string
	// AsOf is the date the facts were checked against the source.
	AsOf time.Time
	// Source is the URL of the vendor's documentation the facts come from.
	Source string
	// RetentionDays is how long the provider keeps inputs and outputs;
	// 0 with ZeroDataRetention Yes means not kept; negative means unknown.
	RetentionDays int
	// TrainsOnData says whether inputs or outputs train models.
	TrainsOnData Answer
	// HumanReview says whether people at the provider may read content
	// (for abuse review or product improvement).
	HumanReview Answer
	// ZeroDataRetention says whether zero data retention is in force for
	// this host's traffic.
	ZeroDataRetention Answer
	// Certifications lists audits the service holds, such as "SOC 2 Type 2".
	Certifications []string
	// Regions lists where content may be processed or stored, as lower-case
	// codes such as "us" or "eu"; empty means unknown (anywhere).
	Regions []string
	// Notes is free text about caveats (longer retention for flagged
	// content and the like).
	Notes string
}

// UnknownFacts returns facts that attest nothing: every requirement fails
// against them. It is what a provider without shipped facts (an
// OpenAI-compatible server at a custom URL) uses unless the host says more.
func UnknownFacts(provider string) Facts {
	return Facts{Provider: provider, Version: "unknown", RetentionDays: -1}
}

// Requirements are what a request demands of a provider's data policy. The
// zero value demands nothing.
type Requirements struct {
	// NoTraining requires TrainsOnData No.
	NoTraining bool
	// NoHumanReview requires HumanReview No.
	NoHumanReview bool
	// ZeroDataRetention requires ZeroDataRetention Yes.
	ZeroDataRetention bool
	// MaxRetentionDays, when positive, requires a known RetentionDays no
	// larger than it.
	MaxRetentionDays int
	// Regions, when not empty, requires every region of the provider to be
	// one of these.
	Regions []string
	// Certifications, when not empty, requires the provider to hold each.
	Certifications []string
}

// merge returns the union of two sets of requirements (the stricter of each).
func (r Requirements) merge(o Requirements) Requirements {
	out := Requirements{
		NoTraining:        r.NoTraining || o.NoTraining,
		NoHumanReview:     r.NoHumanReview || o.NoHumanReview,
		ZeroDataRetention: r.ZeroDataRetention || o.ZeroDataRetention,
		MaxRetentionDays:  r.MaxRetentionDays,
		Certifications:    append(slices.Clone(r.Certifications), o.Certifications...),
	}
	if o.MaxRetentionDays > 0 && (out.MaxRetentionDays <= 0 || o.MaxRetentionDays < out.MaxRetentionDays) {
		out.MaxRetentionDays = o.MaxRetentionDays
	}
	switch {
	case len(r.Regions) == 0:
		out.Regions = slices.Clone(o.Regions)
	case len(o.Regions) == 0:
		out.Regions = slices.Clone(r.Regions)
	default:
		// Both restrict: only regions allowed by both remain. An empty
		// intersection is kept as an impossible requirement.
		for _, x := range r.Regions {
			if containsFold(o.Regions, x) {
				out.Regions = append(out.Regions, x)
			}
		}
		if len(out.Regions) == 0 {
			out.Regions = []string{"(none: requirements disagree)"}
		}
	}
	return out
}

func (r Requirements) empty() bool {
	return !r.NoTraining && !r.NoHumanReview && !r.ZeroDataRetention && r.MaxRetentionDays <= 0 &&
		len(r.Regions) == 0 && len(r.Certifications) == 0
}

// Unmet returns the requirements f does not meet, one sentence each, or nil.
func (r Requirements) Unmet(f Facts) []string {
	var out []string
	if r.NoTraining && f.TrainsOnData != No {
		out = append(out, fmt.Sprintf("no training: provider trains on data: %s", f.TrainsOnData))
	}
	if r.NoHumanReview && f.HumanReview != No {
		out = append(out, fmt.Sprintf("no human review: provider human review: %s", f.HumanReview))
	}
	if r.ZeroDataRetention && f.ZeroDataRetention != Yes {
		out = append(out, fmt.Sprintf("zero data retention: provider zdr: %s", f.ZeroDataRetention))
	}
	if r.MaxRetentionDays > 0 {
		switch {
		case f.RetentionDays < 0:
			out = append(out, fmt.Sprintf("max retention %d days: provider retention unknown", r.MaxRetentionDays))
		case f.RetentionDays > r.MaxRetentionDays:
			out = append(out, fmt.Sprintf("max retention %d days: provider retains %d days", r.MaxRetentionDays, f.RetentionDays))
		}
	}
	if len(r.Regions) > 0 {
		if len(f.Regions) == 0 {
			out = append(out, fmt.Sprintf("regions %s: provider regions unknown", strings.Join(r.Regions, ",")))
		} else {
			for _, g := range f.Regions {
				if !containsFold(r.Regions, g) {
					out = append(out, fmt.Sprintf("regions %s: provider may process in %s", strings.Join(r.Regions, ","), strings.Join(f.Regions, ",")))
					break
				}
			}
		}
	}
	for _, c := range r.Certifications {
		if !containsFold(f.Certifications, c) {
			out = append(out, fmt.Sprintf("certification %s: not held", c))
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// PolicyError reports that no provider meets a request's requirements. It is
// returned before any network I/O and matches [ErrPolicy].
type PolicyError struct {
	// Refusals lists, per provider, the requirements it does not meet.
	Refusals []Refusal
}

// Refusal is one provider's unmet requirements.
type Refusal struct {
	Provider string
	Unmet    []string
}

// Error lists each provider with the requirements it does not meet.
func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString("llm: no provider meets the data policy")
	for _, r := range e.Refusals {
		fmt.Fprintf(&b, "; %s: %s", r.Provider, strings.Join(r.Unmet, "; "))
	}
	return b.String()
}

// Is reports whether target is [ErrPolicy].
func (e *PolicyError) Is(target error) bool { return target == ErrPolicy }

// eligible splits providers into those meeting req and the refusals. When
// every provider meets req it returns providers itself, which the caller
// must not modify.
func eligible(providers []Provider, req Requirements) ([]Provider, []Refusal) {
	var ok []Provider
	var refused []Refusal
	for i, p := range providers {
		if unmet := req.Unmet(p.Facts()); len(unmet) > 0 {
			if refused == nil {
				ok = append(ok, providers[:i]...) // all met req so far
			}
			refused = append(refused, Refusal{Provider: p.Name(), Unmet: unmet})
			continue
		}
		if refused != nil {
			ok = append(ok, p)
		}
	}
	if refused == nil {
		return providers, nil
	}
	return ok, refused
}
