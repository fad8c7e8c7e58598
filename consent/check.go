package consent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Reason explains a [Result]. It encodes as its name in JSON.
type Reason uint8

// The reasons a Check may give.
const (
	// ReasonError: the check failed (unknown purpose, store error). Refused.
	// It is the zero value.
	ReasonError Reason = iota
	// ReasonNoticeOnly: the purpose needs no consent. Allowed.
	ReasonNoticeOnly
	// ReasonGranted: the subject's current decision grants it. Allowed.
	ReasonGranted
	// ReasonDefaultOptOut: an opt-out purpose the subject has not objected
	// to. Allowed.
	ReasonDefaultOptOut
	// ReasonNoConsent: an opt-in purpose the subject has not agreed to.
	// Refused.
	ReasonNoConsent
	// ReasonDenied: the subject refused or withdrew. Refused.
	ReasonDenied
	// ReasonGPC: a Global Privacy Control signal opts the subject out.
	// Refused.
	ReasonGPC
	// ReasonConflict: a GPC signal overrides an earlier explicit opt-in.
	// Refused: the opt-out wins until the subject confirms the opt-in
	// ([MethodConfirm]); the host may ask them to.
	ReasonConflict
	// ReasonNoticeChanged: the subject's grant predates a material change
	// of the notice; fresh consent is needed. Refused.
	ReasonNoticeChanged
)

var reasonNames = [...]string{"error", "notice-only", "granted", "default-opt-out", "no-consent", "denied", "gpc", "conflict", "notice-changed"}

// String returns the reason's name, such as "conflict".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "invalid"
}

// MarshalText implements encoding.TextMarshaler.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reason) UnmarshalText(b []byte) error {
	for i, n := range reasonNames {
		if string(b) == n {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("consent: unknown reason %q", truncate(string(b)))
}

// Result is the answer of [Manager.Check].
type Result struct {
	// Allowed reports whether processing for the purpose may go ahead.
	Allowed bool
	// Reason says why.
	Reason Reason
	// Mechanism is the purpose's effective mechanism in Region.
	Mechanism Mechanism
	// Purpose is the purpose key checked.
	Purpose string
	// Region is the regime applied: a region key of the jurisdiction table,
	// or "" for the strictest regime of unknown regions.
	Region string

	blk *block // the subject's cached block (immutable); nil when none
	idx int32  // purpose index into blk
}

// Record returns the decision behind the answer; its Seq is 0 when there is
// none (a default, notice-only purpose or error). It is a copy.
func (r Result) Record() Decision {
	if r.blk == nil || int(r.idx) >= len(r.blk.states) || !r.blk.states[r.idx].has {
		return Decision{}
	}
	return r.blk.recs[r.idx]
}

type resultJSON struct {
	Allowed   bool      `json:"allowed"`
	Reason    Reason    `json:"reason"`
	Purpose   string    `json:"purpose"`
	Mechanism Mechanism `json:"mechanism,omitempty"`
	Region    string    `json:"region"`
	Record    *Decision `json:"record,omitempty"`
}

// MarshalJSON encodes the result with its record.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{r.Allowed, r.Reason, r.Purpose, r.Mechanism, r.Region, nil}
	if d := r.Record(); d.Seq != 0 {
		j.Record = &d
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result{Allowed: j.Allowed, Reason: j.Reason, Purpose: j.Purpose, Mechanism: j.Mechanism, Region: j.Region}
	if j.Record != nil {
		r.blk = &block{states: []state{{has: true}}, recs: []Decision{*j.Record}}
	}
	return nil
}

// state is the current state of one (subject, purpose) pair.
type state struct {
	has      bool // recs[i] is set
	valid    bool // it counts: not a grant predating a material notice change
	granted  bool // it grants
	confirm  bool // its method is MethodConfirm
	gpc      bool // its method is MethodGPC
	conflict bool // it is a GPC denial that overrode a grant
}

// block is a subject's state and current decisions, indexed by purpose. It
// is never modified once built, so Results may point into it.
type block struct {
	states []state
	recs   []Decision
}

// maxPacked is how many purposes have their answer packed into an entry.
const maxPacked = 8

// Packed answer bits: allowed, mechanism (2 bits), reason code (4 bits).
const (
	packAllowed = 1 << 7
	packMechSh  = 4
)

// entry is the cached current state of one subject. It is a map value: the
// answers of the first purposes (no GPC signal, the subject's own region)
// are packed into it so that the common check reads nothing else.
type entry struct {
	region string // the key of the subject's regime (jurisdiction.region)
	blk    *block
	packed uint64 // byte i: purpose i's answer
}

// jur returns the entry's regime.
func (m *Manager) jurOf(e *entry) *jurisdiction { return m.reg.lookup(e.region) }

// buildEntry folds a subject's history by precedence.
func (m *Manager) buildEntry(history []Decision) *entry {
	SortByPrecedence(history)
	n := len(m.reg.purposes)
	blk := &block{states: make([]state, n), recs: make([]Decision, n)}
	e := &entry{blk: blk}
	region := ""
	for _, d := range history {
		if d.Region != "" {
			region = d.Region
		}
		i, ok := m.reg.index[d.Purpose]
		if !ok {
			continue // a purpose removed from the registry
		}
		st := &blk.states[i]
		// A GPC denial that supersedes a grant (or an earlier conflict)
		// is a conflict the host may ask the subject to resolve.
		st.conflict = d.Method == MethodGPC && !d.Granted && st.has && (st.granted || st.conflict)
		blk.recs[i], st.has = d, true
		st.granted, st.confirm, st.gpc = d.Granted, d.Method == MethodConfirm, d.Method == MethodGPC
		st.valid = !(d.Granted && d.NoticeVersion < m.reg.material[i])
	}
	jur := m.reg.lookup(region)
	e.region = jur.region
	for i := 0; i < n && i < maxPacked; i++ {
		var r Result
		m.decide(&r, e, i, jur, false)
		b := uint64(r.Mechanism)<<packMechSh | uint64(r.Reason)
		if r.Allowed {
			b |= packAllowed
		}
		e.packed |= b << (8 * i)
	}
	return e
}

// decide answers from a subject's cached state (e may be nil: no
// decisions) into res. It must not allocate.
func (m *Manager) decide(res *Result, e *entry, i int, j *jurisdiction, gpc bool) {
	p := &m.reg.purposes[i]
	res.Purpose, res.Mechanism, res.Region = p.Key, j.mech[i], j.region
	if res.Mechanism == NoticeOnly {
		res.Allowed, res.Reason = true, ReasonNoticeOnly
		return
	}
	if e == nil || !e.blk.states[i].has {
		if res.Mechanism == OptOut && !(gpc && p.GPC && j.gpc) {
			res.Allowed, res.Reason = true, ReasonDefaultOptOut
		} else if gpc && p.GPC && j.gpc {
			res.Reason = ReasonGPC
		} else {
			res.Reason = ReasonNoConsent
		}
		return
	}
	st := &e.blk.states[i]
	res.blk, res.idx = e.blk, int32(i)
	if gpc && p.GPC && j.gpc {
		switch {
		case st.valid && st.granted && st.confirm:
			res.Allowed, res.Reason = true, ReasonGranted
		case st.valid && (st.granted || st.conflict):
			res.Reason = ReasonConflict
		default:
			res.Reason = ReasonGPC
		}
		return
	}
	switch {
	case st.valid && st.granted:
		res.Allowed, res.Reason = true, ReasonGranted
	case st.valid && st.conflict:
		res.Reason = ReasonConflict
	case st.valid && st.gpc:
		res.Reason = ReasonGPC
	case st.valid:
		res.Reason = ReasonDenied
	case res.Mechanism == OptOut:
		res.Allowed, res.Reason = true, ReasonDefaultOptOut
	default:
		res.Reason = ReasonNoticeChanged
	}
}

// result returns decide's answer as a value.
func (m *Manager) result(e *entry, i int, j *jurisdiction, gpc bool) Result {
	var r Result
	m.decide(&r, e, i, j, gpc)
	return r
}

// Allowed reports whether subject allows purpose. It fails closed: on an
// unknown purpose, an empty subject, a store error or a closed Manager it
// returns false and the error. A GPC signal that [Manager.Middleware] put in
// ctx for this subject counts.
func (m *Manager) Allowed(ctx context.Context, subject, purpose string) (bool, error) {
	r, err := m.Check(ctx, subject, purpose)
	return r.Allowed && err == nil, err
}

// Check answers whether subject allows purpose, with the reason and the
// decision behind the answer. It fails closed (Allowed false, Reason
// [ReasonError]) on an unknown purpose ([ErrUnknownPurpose]), an empty
// subject ([ErrEmptySubject]), a store error ([ErrStore]) or a closed
// Manager ([ErrClosed]).
//
// The region whose regime applies is the one in ctx from
// [Manager.Middleware] for this subject, else the region of the subject's
// latest decision, else unknown (the strictest regime).
//
// Answers come from an in-memory cache of each subject's current state; a
// hit does not allocate. Decisions recorded through this Manager, or through
// a store whose [Watcher] is complete, are honoured at once; for others see
// [Options].MaxStaleness.
func (m *Manager) Check(ctx context.Context, subject, purpose string) (Result, error) {
	i := m.find(purpose)
	if i < 0 {
		return Result{Purpose: purpose, Reason: ReasonError}, ErrUnknownPurpose
	}
	if subject == "" {
		return Result{Purpose: purpose, Reason: ReasonError}, ErrEmptySubject
	}
	if i < 64 && m.noticeOnly&(1<<i) != 0 || i >= 64 && m.reg.purposes[i].Mechanism == NoticeOnly {
		return m.result(nil, i, m.reg.strict, false), nil
	}
	sig := signalFor(ctx, subject)
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return Result{Purpose: purpose, Reason: ReasonError}, ErrClosed
	}
	e, hit := m.subj[subject]
	if hit && sig == nil && i < maxPacked {
		// The common case: the subject's own region, no GPC signal.
		b := uint8(e.packed >> (8 * i))
		allowed := b&packAllowed != 0
		if !allowed || m.complete || m.now().UnixNano()-m.lastSyn <= int64(m.maxStale) {
			m.mu.RUnlock()
			return Result{Allowed: allowed, Reason: Reason(b & 0xf), Mechanism: Mechanism(b>>packMechSh) & 3,
				Purpose: purpose, Region: e.region, blk: e.blk, idx: int32(i)}, nil
		}
	} else if hit {
		res := m.result(&e, i, m.jurFor(&e, sig), sig.GPC)
		if !res.Allowed || m.complete || m.now().UnixNano()-m.lastSyn <= int64(m.maxStale) {
			m.mu.RUnlock()
			return res, nil
		}
	}
	m.mu.RUnlock()
	return m.checkSlow(ctx, subject, i, sig, hit)
}

func (m *Manager) jurFor(e *entry, sig *GPCResult) *jurisdiction {
	if sig != nil && sig.Region != "" {
		return m.reg.lookup(sig.Region)
	}
	if e == nil {
		return m.reg.strict
	}
	return m.jurOf(e)
}

// checkSlow revalidates against the store: after a sync when a cached
// answer may be stale, or by loading the subject on a miss.
func (m *Manager) checkSlow(ctx context.Context, subject string, i int, sig *GPCResult, stale bool) (Result, error) {
	fail := Result{Purpose: m.reg.purposes[i].Key, Reason: ReasonError}
	if stale || (!m.complete && m.needsFirstSync()) {
		if err := m.sync(ctx, stale); err != nil {
			return fail, err
		}
	}
	e, err := m.load(ctx, subject)
	if err != nil {
		return fail, err
	}
	return m.result(e, i, m.jurFor(e, sig), sig != nil && sig.GPC), nil
}

// load returns the subject's cached entry or loads it from the store.
func (m *Manager) load(ctx context.Context, subject string) (*entry, error) {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return nil, ErrClosed
	}
	e, hit := m.subj[subject]
	epoch := m.epoch
	m.mu.RUnlock()
	if hit {
		return &e, nil
	}
	h, err := m.store.History(ctx, subject)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "consent: store history failed", slogErr(err))
		return nil, storeErr("load", err)
	}
	ne := m.buildEntry(h)
	m.mu.Lock()
	if !m.closed && m.epoch == epoch {
		if len(m.subj) >= m.cacheSize {
			for k := range m.subj {
				delete(m.subj, k)
				break
			}
		}
		m.subj[subject] = *ne
	}
	m.mu.Unlock()
	return ne, nil
}

func (m *Manager) needsFirstSync() bool {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	return m.synced < 0
}

// syncBatch is how many changes one store call returns while syncing.
const syncBatch = 512

// sync reads the store's changes since the last sync and drops the cached
// state of every subject they touch. force skips the "someone else just
// synced" shortcut only when the cache is older than MaxStaleness.
func (m *Manager) sync(ctx context.Context, force bool) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	start := m.now().UnixNano()
	if force && m.synced >= 0 {
		m.mu.RLock()
		recent := start-m.lastSyn <= int64(m.maxStale) && m.maxStale > 0
		m.mu.RUnlock()
		if recent {
			return nil // another goroutine synced while we waited
		}
	}
	if m.synced < 0 {
		_, head, err := m.store.Changes(ctx, 0, 0)
		if err != nil {
			return storeErr("sync", err)
		}
		m.mu.Lock()
		clear(m.subj)
		m.epoch++
		m.lastSyn = start
		m.mu.Unlock()
		m.synced = head
		return nil
	}
	for {
		ds, _, err := m.store.Changes(ctx, m.synced, syncBatch)
		if err != nil {
			m.log.LogAttrs(ctx, slog.LevelWarn, "consent: store changes failed", slogErr(err))
			return storeErr("sync", err)
		}
		if len(ds) > 0 {
			m.mu.Lock()
			for _, d := range ds {
				delete(m.subj, d.Subject)
			}
			m.epoch++
			m.mu.Unlock()
			m.synced = ds[len(ds)-1].Seq
		}
		if len(ds) < syncBatch {
			break
		}
	}
	m.mu.Lock()
	m.lastSyn = start
	m.mu.Unlock()
	return nil
}

// invalidate drops a subject's cached state; "" drops the staleness stamp
// so the next allowing check syncs with the store.
func (m *Manager) invalidate(subject string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if subject == "" {
		m.lastSyn = 0
	} else {
		delete(m.subj, subject)
	}
	m.epoch++
}

// Sync brings the cache up to date with the store now. Checks do this on
// their own within [Options].MaxStaleness; Sync is for hosts and tests that
// want it at a known moment.
func (m *Manager) Sync(ctx context.Context) error {
	if m.isClosed() {
		return ErrClosed
	}
	return m.sync(ctx, false)
}

// State returns the subject's current state for every registered purpose,
// in registry order, as [Manager.Check] would answer each.
func (m *Manager) State(ctx context.Context, subject string) ([]Result, error) {
	out := make([]Result, 0, len(m.reg.purposes))
	for _, p := range m.reg.purposes {
		r, err := m.Check(ctx, subject, p.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (m *Manager) isClosed() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closed
}

func slogErr(err error) slog.Attr { return slog.String("error", err.Error()) }
