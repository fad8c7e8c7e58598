package consent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inferlabs/privkit/audit"
)

// ErrEmptySubject reports a check or decision without a subject.
var ErrEmptySubject = errors.New("consent: empty subject")

// Method is how a decision was made.
type Method string

// The methods a decision may carry.
const (
	// MethodAccept: the subject accepted in a banner ("accept all"). Grants only.
	MethodAccept Method = "accept"
	// MethodReject: the subject refused in a banner. Denials only.
	MethodReject Method = "reject"
	// MethodSettings: the subject chose per purpose in a settings page.
	MethodSettings Method = "settings"
	// MethodGPC: a Global Privacy Control signal. Denials only.
	MethodGPC Method = "gpc"
	// MethodAPI: the host recorded it on the subject's behalf (import,
	// account settings over an API).
	MethodAPI Method = "api"
	// MethodConfirm: the subject confirmed an opt-in that a GPC signal
	// overrode (see [ReasonConflict]). Grants only; a confirmed grant
	// stands against later GPC signals until the subject decides again.
	// Record any grant the subject makes while their browser sends GPC
	// this way: a grant with another method is overridden again by the
	// next GPC request.
	MethodConfirm Method = "confirm"
)

func (m Method) valid(granted bool) bool {
	switch m {
	case MethodAccept, MethodConfirm:
		return granted
	case MethodReject, MethodGPC:
		return !granted
	case MethodSettings, MethodAPI:
		return true
	}
	return false
}

// Decision is one choice of a subject about one purpose, as recorded in the
// append-only history.
//
// Precedence: the current state of a (subject, purpose) pair is its
// decision with the latest Time; decisions with equal Time are ordered by
// Seq. A decision older than one already stored is kept in the history (it
// happened) but does not change the current state.
type Decision struct {
	// Seq is the store-wide sequence number, set by the store.
	Seq int64 `json:"seq"`
	// Subject is the pseudonym of the person deciding (never an e-mail
	// address or name).
	Subject string `json:"subject"`
	// Purpose is the purpose key.
	Purpose string `json:"purpose"`
	// Granted is true for consent given, false for refused or withdrawn.
	Granted bool `json:"granted"`
	// NoticeVersion is the version of the notice shown; 0 when none was
	// (GPC signals, denials without a notice, purposes without notices).
	NoticeVersion int `json:"notice_version"`
	// Language is the language of the notice shown, if any.
	Language string `json:"language,omitempty"`
	// Method is how the decision was made.
	Method Method `json:"method"`
	// Region is the subject's normalised region when deciding ("" if
	// unknown); see [NormalizeRegion].
	Region string `json:"region,omitempty"`
	// Time is when the subject decided, UTC. Zero when recording means
	// now; a time before 2000 or more than 5 minutes ahead of the clock is
	// an [ErrInvalidDecision].
	Time time.Time `json:"time"`
	// IP is the origin address truncated to /24 (IPv4) or /48 (IPv6);
	// [Manager.Record] truncates what it is given.
	IP string `json:"ip,omitempty"`
}

// Meta carries the circumstances of a [Manager.Grant] or [Manager.Withdraw].
// The zero value is valid: method "api", no notice, unknown region, now.
type Meta struct {
	// NoticeVersion is the version of the notice shown (0: none).
	NoticeVersion int
	// Language is the language of the notice shown.
	Language string
	// Method defaults to MethodAPI.
	Method Method
	// Region is the subject's region ("" if unknown); see [NormalizeRegion].
	Region string
	// IP may be an address or address:port; it is truncated before storing.
	IP string
	// Time defaults to now.
	Time time.Time
}

// maxFutureSkew is how far in the future a decision's time may lie.
const maxFutureSkew = 5 * time.Minute

// minDecisionTime is the earliest decision time accepted; it keeps times
// within what stores can represent.
var minDecisionTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Grant records that subject agrees to purpose. It is [Manager.Record] with
// Granted true.
func (m *Manager) Grant(ctx context.Context, subject, purpose string, meta Meta) (Decision, error) {
	return m.Record(ctx, m.fromMeta(subject, purpose, true, meta))
}

// Withdraw records that subject refuses or withdraws consent to purpose. It
// is [Manager.Record] with Granted false, and takes effect on this Manager
// at once (for other Managers sharing the store, see
// [Options].MaxStaleness).
func (m *Manager) Withdraw(ctx context.Context, subject, purpose string, meta Meta) (Decision, error) {
	return m.Record(ctx, m.fromMeta(subject, purpose, false, meta))
}

func (m *Manager) fromMeta(subject, purpose string, granted bool, meta Meta) Decision {
	if meta.Method == "" {
		meta.Method = MethodAPI
	}
	return Decision{Subject: subject, Purpose: purpose, Granted: granted, NoticeVersion: meta.NoticeVersion,
		Language: meta.Language, Method: meta.Method, Region: meta.Region, Time: meta.Time, IP: meta.IP}
}

// Record validates d, truncates its IP address, appends it to the store,
// drops the subject's cached state and records an audit event. It returns
// the stored decision. Errors: [ErrEmptySubject], [ErrUnknownPurpose],
// [ErrNoticeOnly], [ErrUnknownNotice], [ErrInvalidDecision], [ErrStore],
// [ErrClosed]. If only the audit event fails, the decision is stored and
// returned together with the error.
func (m *Manager) Record(ctx context.Context, d Decision) (Decision, error) {
	if m.isClosed() {
		return Decision{}, ErrClosed
	}
	d, err := m.validate(d)
	if err != nil {
		return Decision{}, err
	}
	d, err = m.store.Append(ctx, d)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "consent: store append failed", slogErr(err))
		return Decision{}, storeErr("record", err)
	}
	m.invalidate(d.Subject)
	if err := m.audit(ctx, d); err != nil {
		m.log.LogAttrs(ctx, slog.LevelError, "consent: audit failed", slogErr(err))
		return d, fmt.Errorf("consent: audit: %w", err)
	}
	return d, nil
}

func (m *Manager) validate(d Decision) (Decision, error) {
	if err := validSubject(d.Subject); err != nil {
		return Decision{}, err
	}
	i, ok := m.reg.index[d.Purpose]
	if !ok {
		return Decision{}, ErrUnknownPurpose
	}
	if m.reg.purposes[i].Mechanism == NoticeOnly {
		return Decision{}, ErrNoticeOnly
	}
	if !d.Method.valid(d.Granted) {
		return Decision{}, fmt.Errorf("%w: method %q cannot record granted=%t", ErrInvalidDecision, truncate(string(d.Method)), d.Granted)
	}
	switch {
	case d.NoticeVersion < 0:
		return Decision{}, ErrUnknownNotice
	case d.NoticeVersion > 0 && !m.reg.hasNotice(i, d.NoticeVersion):
		return Decision{}, ErrUnknownNotice
	case d.NoticeVersion == 0 && d.Granted && len(m.reg.notices[i]) > 0:
		return Decision{}, fmt.Errorf("%w: a grant must name the notice version shown", ErrUnknownNotice)
	}
	if len(d.Language) > 35 {
		return Decision{}, fmt.Errorf("%w: language tag too long", ErrInvalidDecision)
	}
	if d.Region != "" {
		r := NormalizeRegion(d.Region)
		if r == "" {
			return Decision{}, fmt.Errorf("%w: malformed region", ErrInvalidDecision)
		}
		d.Region = r
	}
	ip, err := TruncateIP(d.IP)
	if err != nil {
		return Decision{}, err
	}
	d.IP = ip
	now := m.now()
	if d.Time.IsZero() {
		d.Time = now
	}
	if d.Time.After(now.Add(maxFutureSkew)) {
		return Decision{}, fmt.Errorf("%w: time is in the future", ErrInvalidDecision)
	}
	if d.Time.Before(minDecisionTime) {
		return Decision{}, fmt.Errorf("%w: time is before 2000", ErrInvalidDecision)
	}
	d.Time = d.Time.UTC()
	d.Seq = 0
	return d, nil
}

func validSubject(s string) error {
	if s == "" {
		return ErrEmptySubject
	}
	if len(s) > MaxSubjectLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: subject must be valid UTF-8 of at most %d bytes", ErrInvalidDecision, MaxSubjectLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: subject contains control characters", ErrInvalidDecision)
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// TruncateIP returns ip (an address, or address:port) with the host part
// zeroed: IPv4 to /24, IPv6 to /48; an IPv4-mapped IPv6 address counts as
// IPv4. "" stays "". A malformed address is an [ErrInvalidDecision].
func TruncateIP(ip string) (string, error) {
	if ip == "" {
		return "", nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(ip)
		if err2 != nil {
			return "", fmt.Errorf("%w: malformed IP address", ErrInvalidDecision)
		}
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return "", fmt.Errorf("%w: malformed IP address", ErrInvalidDecision)
	}
	return p.Addr().String(), nil
}

func (m *Manager) audit(ctx context.Context, d Decision) error {
	if m.auditor == nil {
		return nil
	}
	action := "consent.withdraw"
	if d.Granted {
		action = "consent.grant"
	}
	return m.auditor.Record(ctx, audit.Event{
		Time:     d.Time,
		Actor:    "subject:" + d.Subject,
		Action:   action,
		Resource: "consent/" + d.Purpose,
		Subject:  d.Subject,
		Purpose:  d.Purpose,
		Outcome:  audit.Success,
		Service:  "consent",
		IP:       d.IP,
		Attrs: []audit.Attr{
			audit.Int("seq", d.Seq),
			audit.Bool("granted", d.Granted),
			audit.String("method", string(d.Method)),
			audit.Int("notice_version", int64(d.NoticeVersion)),
			audit.String("region", d.Region),
		},
	})
}

// SortByPrecedence sorts ds oldest first by the precedence rule of
// [Decision]: Time, then Seq.
func SortByPrecedence(ds []Decision) {
	slices.SortStableFunc(ds, func(a, b Decision) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
}
