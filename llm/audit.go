package llm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/llm/redact"
)

// callState collects what one call's audit event reports. It never holds
// content.
type callState struct {
	action     string
	subject    string
	start      time.Time
	provider   string
	model      string
	attempts   int
	usage      Usage
	finish     FinishReason
	kinds      [4]kindCount // redactions by kind, in order of first finding
	nkinds     int          // kinds in use
	moreKinds  []kindCount  // beyond the first len(kinds)
	consent    string       // allowed, denied, error, unchecked
	policy     string       // none, met, refused
	excluded   int          // providers the policy excluded
	denied     bool
	promptHash string
	stopped    bool // the caller stopped reading a stream early
	firstChunk time.Duration
}

// kindCount is how many findings of one kind a call's prompt held.
type kindCount struct {
	kind string
	n    int
}

func (c *Client) newState(subject, action string) *callState {
	return &callState{action: action, subject: subject, start: c.now()}
}

// countKind adds one finding of kind k. A call finds few kinds: the first
// ones need no slice (and no pointer into st, which may then live on the
// stack).
func (st *callState) countKind(k string) {
	for i := range st.kinds[:st.nkinds] {
		if st.kinds[i].kind == k {
			st.kinds[i].n++
			return
		}
	}
	for i := range st.moreKinds {
		if st.moreKinds[i].kind == k {
			st.moreKinds[i].n++
			return
		}
	}
	if st.nkinds < len(st.kinds) {
		st.kinds[st.nkinds] = kindCount{kind: k, n: 1}
		st.nkinds++
		return
	}
	st.moreKinds = append(st.moreKinds, kindCount{kind: k, n: 1})
}

// redactions returns the counts by kind, sorted by kind. It reorders st's
// counts.
func (st *callState) redactions() []kindCount {
	all := st.kinds[:st.nkinds]
	if len(st.moreKinds) > 0 {
		all = append(append([]kindCount(nil), all...), st.moreKinds...)
	}
	slices.SortFunc(all, func(a, b kindCount) int { return strings.Compare(a.kind, b.kind) })
	return all
}

// errorKind names an error's class for the audit event without its text.
func errorKind(err error) string {
	var ae *APIError
	var pe *PolicyError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrConsent):
		return "consent"
	case errors.As(err, &pe):
		return "policy"
	case errors.Is(err, ErrClosed):
		return "closed"
	case errors.Is(err, ErrInvalidRequest):
		return "invalid_request"
	case errors.Is(err, ErrInterrupted):
		return "interrupted"
	case errors.As(err, &ae):
		if ae.Code != "" {
			return "api:" + ae.Code
		}
		if ae.Type != "" {
			return "api:" + ae.Type
		}
		return "api:status"
	case errors.Is(err, ErrFirstByteTimeout):
		return "first_byte_timeout"
	case errors.Is(err, ErrStalled):
		return "stalled"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrTruncated):
		return "truncated"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errAttemptTimeout):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "transport"
	}
}

// record sends the call's audit event. Failures to record are logged.
func (c *Client) record(ctx context.Context, st *callState, err error) {
	if c.opts.Auditor == nil {
		return
	}
	now := c.now()
	ev := audit.Event{
		Time:    now,
		Actor:   c.opts.Actor,
		Action:  st.action,
		Subject: st.subject,
		Purpose: PurposeLLMProcessing,
		Outcome: audit.Success,
		Service: c.opts.Service,
	}
	if st.provider != "" {
		ev.Resource = c.resource(st.provider)
	}
	if err != nil {
		ev.Outcome = audit.Error
		if st.denied {
			ev.Outcome = audit.Denied
		}
	}
	stream := st.action == "llm.stream" && st.firstChunk > 0
	// Exactly as many attributes as are appended below: the nine always
	// there, "redactions" and one per kind, and those that may be absent.
	redactions := st.redactions()
	n := 10 + len(redactions)
	for _, present := range [...]bool{st.promptHash != "", st.finish != "", stream, st.stopped, err != nil} {
		if present {
			n++
		}
	}
	attrs := make([]audit.Attr, 0, n)
	attrs = append(attrs,
		audit.String("provider", st.provider),
		audit.String("model", st.model),
		audit.Int("input_tokens", int64(st.usage.InputTokens)),
		audit.Int("output_tokens", int64(st.usage.OutputTokens)),
		audit.Int("latency_ms", now.Sub(st.start).Milliseconds()),
		audit.Int("attempts", int64(st.attempts)),
		audit.String("consent", st.consent),
		audit.String("policy", st.policy),
		audit.Int("policy_excluded", int64(st.excluded)),
	)
	if st.promptHash != "" {
		attrs = append(attrs, audit.String("prompt_sha256", st.promptHash))
	}
	if st.finish != "" {
		attrs = append(attrs, audit.String("finish_reason", string(st.finish)))
	}
	total := 0
	for _, kc := range redactions {
		total += kc.n
	}
	attrs = append(attrs, audit.Int("redactions", int64(total)))
	for _, kc := range redactions {
		attrs = append(attrs, audit.Int(redactionsAttr(kc.kind), int64(kc.n)))
	}
	if stream {
		attrs = append(attrs, audit.Int("first_chunk_ms", st.firstChunk.Milliseconds()))
	}
	if st.stopped {
		attrs = append(attrs, audit.Bool("stopped_early", true))
	}
	if err != nil {
		attrs = append(attrs, audit.String("error", errorKind(err)))
	}
	ev.Attrs = attrs
	if ctx.Done() != nil {
		ctx = context.WithoutCancel(ctx) // record even when the call was canceled
	}
	if rerr := c.opts.Auditor.Record(ctx, ev); rerr != nil {
		c.log.Error("llm: audit record failed", "action", st.action, "err", rerr)
	}
}

// builtinRedactionsAttrs holds the attribute names of the built-in kinds,
// built once.
var builtinRedactionsAttrs = func() map[string]string {
	m := map[string]string{}
	for _, k := range redact.BuiltinKinds() {
		m[string(k)] = "redactions." + string(k)
	}
	m[string(redact.Other)] = "redactions." + string(redact.Other)
	return m
}()

// resource returns the audit events' Resource for the named provider.
func (c *Client) resource(name string) string {
	if r, ok := c.resources[name]; ok {
		return r
	}
	return "llm/" + name
}

// redactionsAttr returns the audit attribute name for redactions of kind k.
func redactionsAttr(k string) string {
	if a, ok := builtinRedactionsAttrs[k]; ok {
		return a
	}
	return "redactions." + k
}
