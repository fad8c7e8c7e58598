package consent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
)

// Errors callers branch on. Messages never contain the subject or any other
// personal data.
var (
	// ErrUnknownPurpose reports a purpose key that is not in the registry.
	ErrUnknownPurpose = errors.New("consent: unknown purpose")
	// ErrUnknownNotice reports a notice version that was never published for
	// the purpose, or a grant without the notice version shown for a purpose
	// that has notices.
	ErrUnknownNotice = errors.New("consent: unknown notice version")
	// ErrNoticeOnly reports a decision about a notice-only purpose (such as
	// "essential"), which needs no consent and cannot be refused.
	ErrNoticeOnly = errors.New("consent: purpose is notice-only and takes no decision")
	// ErrInvalidDecision reports a decision with a missing or malformed
	// field: empty or oversized subject, unknown method, bad IP address,
	// a time too far in the future.
	ErrInvalidDecision = errors.New("consent: invalid decision")
	// ErrClosed reports a call on a closed Manager.
	ErrClosed = errors.New("consent: manager closed")
	// ErrStore wraps an error of the Store; [Manager.Check] fails closed on it.
	ErrStore = errors.New("consent: store failed")
)

// Store keeps decisions: an append-only history in which every decision has a
// sequence number, strictly increasing across the whole store in commit order.
// Implementations are safe for concurrent use. The memory store
// ([NewMemoryStore]) and consent/consentsql implement it, and
// consent/consenttest checks an implementation against this contract.
//
// A Store that can push news of decisions as they happen may also implement
// [Watcher].
type Store interface {
	// Append stores d (already validated by the Manager) and returns it
	// with Seq set. It never changes or removes an earlier decision.
	Append(ctx context.Context, d Decision) (Decision, error)
	// History returns every decision about subject in Seq order; none is
	// an empty result, not an error. The caller owns the slice.
	History(ctx context.Context, subject string) ([]Decision, error)
	// Changes returns up to limit decisions with Seq > after, in Seq order,
	// and the highest Seq in the store (0 when it is empty). limit 0 asks
	// only for the head. Because sequence numbers follow commit order, a
	// decision committed later never carries a Seq at or below a head
	// returned earlier.
	Changes(ctx context.Context, after int64, limit int) (ds []Decision, head int64, err error)
}

// Watcher is an optional interface of a [Store] that pushes news of new
// decisions, so a [Manager] drops stale cache entries sooner than its
// staleness bound. The Manager detects it with a type assertion.
type Watcher interface {
	// Watch calls fn with the subject of each decision appended after Watch
	// returns, until stop is called; fn("") means "something may have
	// changed" (after a lost connection, for example). fn must not block.
	// complete reports whether fn is called before Append returns for
	// every writer of the store, as for an in-process memory store; only
	// then may a Manager trust its cache without checking the store's head.
	Watch(fn func(subject string)) (stop func(), complete bool)
}

// Auditor records audit events. *audit.Log implements it.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// AuditorFunc adapts a function to [Auditor].
type AuditorFunc func(ctx context.Context, e audit.Event) error

// Record calls f.
func (f AuditorFunc) Record(ctx context.Context, e audit.Event) error { return f(ctx, e) }

// DefaultMaxStaleness is the default of [Options.MaxStaleness].
const DefaultMaxStaleness = time.Second

// MaxSubjectLen is the longest subject pseudonym accepted, in bytes.
const MaxSubjectLen = 256

// Options configures a [Manager]. A nil *Options means all defaults.
type Options struct {
	// Purposes is the purpose registry. Nil means [DefaultPurposes]; to add
	// your own, append to DefaultPurposes().
	Purposes []Purpose
	// Notices are the published notice texts, any number of versions per
	// purpose and language. Nil means none: decisions then carry notice
	// version 0.
	Notices []Notice
	// Jurisdictions override or extend [DefaultJurisdictions] region by
	// region. Nil keeps the defaults.
	Jurisdictions []Jurisdiction
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives operational messages (store and audit failures,
	// never personal data). Nil discards them.
	Logger *slog.Logger
	// Auditor receives one event per decision. Nil records none.
	Auditor Auditor
	// SubjectFromRequest tells [Manager.Middleware] whose request it is and
	// from which region (an ISO 3166 code such as "DE" or "US-CA"; "" if
	// unknown). ok false means an anonymous request: the GPC signal is
	// still put in the context, but nothing is recorded. Nil treats every
	// request as anonymous.
	SubjectFromRequest func(r *http.Request) (subject, region string, ok bool)
	// MaxStaleness bounds how long a cached grant is served without asking
	// the store whether newer decisions exist, for stores whose [Watcher]
	// is not complete (SQL stores shared by several instances). A
	// withdrawal recorded by another instance is honoured here no later
	// than MaxStaleness after it commits, usually sooner (PostgreSQL
	// pushes notifications). Denials never wait. Zero means
	// [DefaultMaxStaleness]; a negative value asks the store on every
	// check that would allow.
	MaxStaleness time.Duration
	// CacheSize caps the subjects held in memory. Zero means 100 000.
	CacheSize int
}

// Manager answers whether a subject allows a purpose, records decisions and
// applies Global Privacy Control. It is safe for concurrent use. Use [New].
type Manager struct {
	// Read by every check; kept together.
	mu         sync.RWMutex
	subj       map[string]entry
	closed     bool
	complete   bool     // the store's Watcher covers every writer
	keys       []string // purpose keys by index
	noticeOnly uint64   // bit i: purpose i is notice-only (i < 64)

	store   Store
	reg     *registry
	now     func() time.Time
	log     *slog.Logger
	auditor Auditor
	subjFn  func(*http.Request) (string, string, bool)

	maxStale  time.Duration
	cacheSize int
	stopWatch func()

	epoch   uint64 // bumped on every invalidation, under mu
	lastSyn int64  // unix nanos of the last sync, under mu

	syncMu sync.Mutex // one sync at a time
	synced int64      // head seen by the last sync; -1 before the first
}

// New returns a Manager over store. It fails on an invalid registry, notice
// or jurisdiction in opts.
func New(store Store, opts *Options) (*Manager, error) {
	if store == nil {
		return nil, errors.New("consent: nil store")
	}
	if opts == nil {
		opts = &Options{}
	}
	reg, err := newRegistry(opts.Purposes, opts.Notices, opts.Jurisdictions)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		store:     store,
		reg:       reg,
		now:       clock.NowFunc(opts.Now),
		log:       opts.Logger,
		auditor:   opts.Auditor,
		subjFn:    opts.SubjectFromRequest,
		maxStale:  opts.MaxStaleness,
		cacheSize: opts.CacheSize,
		subj:      make(map[string]entry, min(opts.CacheSize, 1024)),
		synced:    -1,
		keys:      reg.keys,
	}
	for i, p := range reg.purposes {
		if i < 64 && p.Mechanism == NoticeOnly {
			m.noticeOnly |= 1 << i
		}
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.maxStale == 0 {
		m.maxStale = DefaultMaxStaleness
	}
	if m.cacheSize <= 0 {
		m.cacheSize = 100_000
	}
	if w, ok := store.(Watcher); ok {
		m.stopWatch, m.complete = w.Watch(m.invalidate)
	}
	return m, nil
}

// Close stops watching the store and makes later calls fail with
// [ErrClosed]. It does not close the store. It is safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.subj = nil
	stop := m.stopWatch
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	return nil
}

// Purposes returns a copy of the purpose registry.
func (m *Manager) Purposes() []Purpose {
	out := make([]Purpose, len(m.reg.purposes))
	for i, p := range m.reg.purposes {
		out[i] = p.clone()
	}
	return out
}

// Purpose returns the registered purpose with the given key.
func (m *Manager) Purpose(key string) (Purpose, bool) {
	i, ok := m.reg.index[key]
	if !ok {
		return Purpose{}, false
	}
	return m.reg.purposes[i].clone(), true
}

// find returns the index of purpose key, or -1. Small registries are
// scanned, which beats hashing the key.
func (m *Manager) find(key string) int {
	if len(m.keys) <= 8 {
		for i, k := range m.keys {
			// Length and first byte first: most mismatches end there
			// without a call to compare memory.
			if len(k) == len(key) && (len(k) == 0 || k[0] == key[0]) && k == key {
				return i
			}
		}
		return -1
	}
	if i, ok := m.reg.index[key]; ok {
		return i
	}
	return -1
}

func storeErr(op string, err error) error {
	return fmt.Errorf("consent: %s: %w: %w", op, ErrStore, err)
}
