package consent_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/consent/consenttest"
	"github.com/inferlabs/privkit/internal/clock"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newManager(t *testing.T, store consent.Store, opts *consent.Options) (*consent.Manager, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(t0)
	if opts == nil {
		opts = &consent.Options{}
	}
	if opts.Now == nil {
		opts.Now = fake.Now
	}
	m, err := consent.New(store, opts)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m, fake
}

func TestGrantWithdrawAllowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), nil)

	ok, err := m.Allowed(ctx, "u1", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "unknown region is the strictest regime: opt-in, so no consent yet")

	_, err = m.Grant(ctx, "u1", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "de"})
	require.NoError(t, err)
	r, err := m.Check(ctx, "u1", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, r.Allowed, "granted")
	assert.Equal(t, consent.ReasonGranted, r.Reason)
	assert.Equal(t, "DE", r.Region, "the subject's recorded region picks the regime")
	assert.Equal(t, consent.MethodAccept, r.Record().Method, "the record behind the answer")

	_, err = m.Withdraw(ctx, "u1", consent.Analytics, consent.Meta{Method: consent.MethodSettings})
	require.NoError(t, err)
	ok, err = m.Allowed(ctx, "u1", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "a withdrawal takes effect at once")

	ok, err = m.Allowed(ctx, "u1", "nope")
	require.ErrorIs(t, err, consent.ErrUnknownPurpose)
	assert.False(t, ok, "fails closed")
}

func TestJurisdictionDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), &consent.Options{
		Jurisdictions: []consent.Jurisdiction{
			{Region: "US-CA", Mechanism: consent.OptOut, GPC: true, Purposes: map[string]consent.Mechanism{consent.Advertising: consent.OptIn}},
			{Region: "BR", Mechanism: consent.OptOut},
		},
	})
	tests := []struct {
		name, region, purpose string
		allowed               bool
		reason                consent.Reason
		why                   string
	}{
		{"essential-unknown", "", consent.Essential, true, consent.ReasonNoticeOnly, "notice-only is allowed everywhere"},
		{"analytics-unknown", "", consent.Analytics, false, consent.ReasonNoConsent, "unknown region = strictest = opt-in"},
		{"analytics-unlisted", "JP", consent.Analytics, false, consent.ReasonNoConsent, "a region not in the table is unknown"},
		{"analytics-de", "DE", consent.Analytics, false, consent.ReasonNoConsent, "EU is opt-in"},
		{"analytics-no", "NO", consent.Analytics, false, consent.ReasonNoConsent, "EEA is opt-in"},
		{"analytics-gb", "gb", consent.Analytics, false, consent.ReasonNoConsent, "UK is opt-in, case-insensitive"},
		{"analytics-ch", "CH", consent.Analytics, false, consent.ReasonNoConsent, "Switzerland is opt-in"},
		{"analytics-us", "US", consent.Analytics, true, consent.ReasonDefaultOptOut, "US is opt-out"},
		{"analytics-us-ny", "US-NY", consent.Analytics, true, consent.ReasonDefaultOptOut, "a US state falls back to US"},
		{"advertising-us-ca", "us_ca", consent.Advertising, false, consent.ReasonNoConsent, "host override for one purpose in one region"},
		{"analytics-us-ca", "US-CA", consent.Analytics, true, consent.ReasonDefaultOptOut, "the override's region-wide mechanism"},
		{"llm-us", "US", consent.LLMProcessing, false, consent.ReasonNoConsent, "an opt-in purpose stays opt-in in opt-out regions"},
		{"analytics-br", "BR", consent.Analytics, true, consent.ReasonDefaultOptOut, "a host-added region"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			subject := "j-" + tc.name
			if tc.region != "" {
				// Record the region through an unrelated purpose's denial.
				_, err := m.Withdraw(ctx, subject, consent.ProductImprovement, consent.Meta{Region: tc.region})
				require.NoError(t, err)
			}
			r, err := m.Check(ctx, subject, tc.purpose)
			require.NoError(t, err)
			assert.Equal(t, tc.allowed, r.Allowed, tc.why)
			assert.Equal(t, tc.reason, r.Reason, tc.why)
			assert.Zero(t, r.Record().Seq, "no decision behind a default")
		})
	}
	mech, gpc := m.Jurisdiction("fr")
	assert.Equal(t, consent.OptIn, mech[consent.Analytics])
	assert.Equal(t, consent.NoticeOnly, mech[consent.Essential])
	assert.True(t, gpc)
}

func TestNotices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	notices := []consent.Notice{
		{Purpose: consent.Analytics, Version: 1, Language: "en", Text: "We count page views."},
		{Purpose: consent.Analytics, Version: 1, Language: "de", Text: "Wir zählen Seitenaufrufe."},
		{Purpose: consent.Analytics, Version: 2, Language: "en", Text: "We count page views (typo fixed)."},
	}
	store := consent.NewMemoryStore()
	m, _ := newManager(t, store, &consent.Options{Notices: notices})
	_, err := m.Grant(ctx, "n", consent.Analytics, consent.Meta{NoticeVersion: 1, Language: "de", Region: "DE"})
	require.NoError(t, err)
	ok, err := m.Allowed(ctx, "n", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok)

	// A non-material version 2 keeps the grant; a material version 3 does not.
	m2, _ := newManager(t, store, &consent.Options{Notices: append(notices,
		consent.Notice{Purpose: consent.Analytics, Version: 3, Language: "en", Text: "We now share page views with partners.", Material: true})})
	ok, err = m.Allowed(ctx, "n", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok, "version 2 is not a material change")
	r, err := m2.Check(ctx, "n", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, r.Allowed, "a material change needs fresh consent")
	assert.Equal(t, consent.ReasonNoticeChanged, r.Reason)
	assert.Equal(t, 1, r.Record().NoticeVersion, "the stale grant is the record behind the answer")

	_, err = m2.Grant(ctx, "n", consent.Analytics, consent.Meta{NoticeVersion: 2})
	require.NoError(t, err)
	ok, err = m2.Allowed(ctx, "n", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "a grant under a version before the material change is still stale")
	_, err = m2.Grant(ctx, "n", consent.Analytics, consent.Meta{NoticeVersion: 3})
	require.NoError(t, err)
	ok, err = m2.Allowed(ctx, "n", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok, "fresh consent under the material version counts")

	_, err = m2.Grant(ctx, "n", consent.Analytics, consent.Meta{NoticeVersion: 4})
	assert.ErrorIs(t, err, consent.ErrUnknownNotice, "an unpublished version")
	_, err = m2.Grant(ctx, "n", consent.Analytics, consent.Meta{})
	assert.ErrorIs(t, err, consent.ErrUnknownNotice, "a grant must name the notice shown when the purpose has notices")
	_, err = m2.Withdraw(ctx, "n", consent.Analytics, consent.Meta{})
	assert.NoError(t, err, "a refusal needs no notice")
	_, err = m2.Grant(ctx, "n", consent.Advertising, consent.Meta{NoticeVersion: 1})
	assert.ErrorIs(t, err, consent.ErrUnknownNotice, "advertising has no notices")

	n, err := m.Notice(consent.Analytics, "de-AT")
	require.NoError(t, err)
	assert.Equal(t, 2, n.Version, "the latest version")
	assert.Equal(t, "en", n.Language, "version 2 has no German text: English fallback")
	n, err = m2.Notice(consent.Analytics, "fr")
	require.NoError(t, err)
	assert.Equal(t, 3, n.Version)
	_, err = m.Notice(consent.Advertising, "en")
	assert.ErrorIs(t, err, consent.ErrUnknownNotice)
	_, err = m.Notice("nope", "en")
	assert.ErrorIs(t, err, consent.ErrUnknownPurpose)
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, fake := newManager(t, consent.NewMemoryStore(), nil)
	ok := consent.Decision{Subject: "s", Purpose: consent.Analytics, Granted: true, Method: consent.MethodAccept}
	tests := []struct {
		name   string
		mutate func(d *consent.Decision)
		want   error
		why    string
	}{
		{"empty-subject", func(d *consent.Decision) { d.Subject = "" }, consent.ErrEmptySubject, "a decision needs a subject"},
		{"long-subject", func(d *consent.Decision) { d.Subject = strings.Repeat("x", consent.MaxSubjectLen+1) }, consent.ErrInvalidDecision, "bounded size"},
		{"invalid-utf8", func(d *consent.Decision) { d.Subject = "\xff" }, consent.ErrInvalidDecision, "pseudonyms are text"},
		{"control-char", func(d *consent.Decision) { d.Subject = "a\nb" }, consent.ErrInvalidDecision, "no log injection"},
		{"unknown-purpose", func(d *consent.Decision) { d.Purpose = "telemetry" }, consent.ErrUnknownPurpose, "not registered"},
		{"notice-only", func(d *consent.Decision) { d.Purpose = consent.Essential }, consent.ErrNoticeOnly, "essential takes no decision"},
		{"accept-denied", func(d *consent.Decision) { d.Granted = false }, consent.ErrInvalidDecision, "accept cannot deny"},
		{"gpc-grant", func(d *consent.Decision) { d.Method = consent.MethodGPC }, consent.ErrInvalidDecision, "GPC cannot grant"},
		{"unknown-method", func(d *consent.Decision) { d.Method = "shrug" }, consent.ErrInvalidDecision, "not a method"},
		{"empty-method", func(d *consent.Decision) { d.Method = "" }, consent.ErrInvalidDecision, "a method is required"},
		{"negative-notice", func(d *consent.Decision) { d.NoticeVersion = -1 }, consent.ErrUnknownNotice, "versions start at 1"},
		{"future", func(d *consent.Decision) { d.Time = fake.Now().Add(time.Hour) }, consent.ErrInvalidDecision, "a future time would pin the state"},
		{"ancient", func(d *consent.Decision) { d.Time = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) }, consent.ErrInvalidDecision, "outside the storable range"},
		{"bad-region", func(d *consent.Decision) { d.Region = "D E!" }, consent.ErrInvalidDecision, "malformed region"},
		{"bad-ip", func(d *consent.Decision) { d.IP = "300.1.1.1" }, consent.ErrInvalidDecision, "malformed IP"},
		{"long-language", func(d *consent.Decision) { d.Language = strings.Repeat("a", 40) }, consent.ErrInvalidDecision, "bounded language tag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := ok
			tc.mutate(&d)
			_, err := m.Record(ctx, d)
			require.ErrorIs(t, err, tc.want, tc.why)
			assert.True(t, strings.HasPrefix(err.Error(), "consent: "), "messages start with the package name")
			assert.NotContains(t, err.Error(), d.Subject+"\n", "no subject in messages")
		})
	}
	_, err := m.Record(ctx, ok)
	require.NoError(t, err, "the unmutated decision is valid")
	_, err = m.Check(ctx, "", consent.Analytics)
	require.ErrorIs(t, err, consent.ErrEmptySubject)
}

func TestTruncateIP(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want, why string }{
		{"", "", "no address"},
		{"203.0.113.77", "203.0.113.0", "IPv4 to /24"},
		{"203.0.113.77:4431", "203.0.113.0", "RemoteAddr form"},
		{"2001:db8:abcd:12:34::1", "2001:db8:abcd::", "IPv6 to /48"},
		{"[2001:db8:abcd:12::1]:443", "2001:db8:abcd::", "bracketed with port"},
		{"::ffff:198.51.100.9", "198.51.100.0", "IPv4-mapped counts as IPv4"},
		{"fe80::1%eth0", "fe80::", "zone dropped"},
	}
	for _, tc := range tests {
		got, err := consent.TruncateIP(tc.in)
		require.NoError(t, err, tc.why)
		assert.Equal(t, tc.want, got, tc.why)
	}
	for _, bad := range []string{"x", "1.2.3", "[::1", "1.2.3.4:99999"} {
		_, err := consent.TruncateIP(bad)
		assert.ErrorIs(t, err, consent.ErrInvalidDecision, bad)
	}
}

// failingStore fails every call after fail is set.
type failingStore struct {
	*consent.MemoryStore
	mu   sync.Mutex
	fail bool
}

var errBoom = errors.New("boom")

func (f *failingStore) broken() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.fail }
func (f *failingStore) Append(ctx context.Context, d consent.Decision) (consent.Decision, error) {
	if f.broken() {
		return consent.Decision{}, errBoom
	}
	return f.MemoryStore.Append(ctx, d)
}
func (f *failingStore) History(ctx context.Context, s string) ([]consent.Decision, error) {
	if f.broken() {
		return nil, errBoom
	}
	return f.MemoryStore.History(ctx, s)
}
func (f *failingStore) Changes(ctx context.Context, a int64, l int) ([]consent.Decision, int64, error) {
	if f.broken() {
		return nil, 0, errBoom
	}
	return f.MemoryStore.Changes(ctx, a, l)
}

func TestFailsClosedOnStoreError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// failingStore hides the memory store's Watcher (its methods are not
	// promoted through the interface), so the Manager must revalidate.
	fs := &failingStore{MemoryStore: consent.NewMemoryStore()}
	m, fake := newManager(t, struct{ consent.Store }{fs}, nil)
	_, err := m.Grant(ctx, "f", consent.Analytics, consent.Meta{Method: consent.MethodAccept})
	require.NoError(t, err)
	ok, err := m.Allowed(ctx, "f", consent.Analytics)
	require.NoError(t, err)
	require.True(t, ok)

	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	ok, err = m.Allowed(ctx, "f", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok, "within MaxStaleness the cached grant is served")
	fake.Advance(consent.DefaultMaxStaleness + 1)
	r, err := m.Check(ctx, "f", consent.Analytics)
	require.ErrorIs(t, err, consent.ErrStore)
	assert.False(t, r.Allowed, "a grant that cannot be revalidated fails closed")
	assert.Equal(t, consent.ReasonError, r.Reason)
	assert.NotContains(t, err.Error(), "f\"", "no subject in the message")

	ok, err = m.Allowed(ctx, "other", consent.Analytics)
	require.ErrorIs(t, err, consent.ErrStore)
	assert.False(t, ok, "a miss that cannot load fails closed")
	_, err = m.Grant(ctx, "f", consent.Analytics, consent.Meta{Method: consent.MethodAccept})
	require.ErrorIs(t, err, consent.ErrStore)
}

func TestAuditEveryDecision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var events []audit.Event
	fail := false
	aud := consent.AuditorFunc(func(_ context.Context, e audit.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errBoom
		}
		events = append(events, e)
		return nil
	})
	m, _ := newManager(t, consent.NewMemoryStore(), &consent.Options{Auditor: aud})
	d, err := m.Grant(ctx, "a1", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "US", IP: "192.0.2.55"})
	require.NoError(t, err)
	_, err = m.Withdraw(ctx, "a1", consent.Analytics, consent.Meta{Method: consent.MethodReject})
	require.NoError(t, err)
	require.Len(t, events, 2, "one audit event per decision")
	e := events[0]
	assert.Equal(t, "consent.grant", e.Action)
	assert.Equal(t, "consent.withdraw", events[1].Action)
	assert.Equal(t, "a1", e.Subject)
	assert.Equal(t, consent.Analytics, e.Purpose)
	assert.Equal(t, audit.Success, e.Outcome)
	assert.Equal(t, "192.0.2.0", e.IP, "audit gets the truncated address only")
	assert.Equal(t, d.Time, e.Time)
	attrs := map[string]string{}
	for _, a := range e.Attrs {
		attrs[a.Key] = a.Value()
	}
	assert.Equal(t, map[string]string{"seq": "1", "granted": "true", "method": "accept", "notice_version": "0", "region": "US"}, attrs)

	mu.Lock()
	fail = true
	mu.Unlock()
	d, err = m.Grant(ctx, "a1", consent.Analytics, consent.Meta{Method: consent.MethodAccept})
	require.ErrorIs(t, err, errBoom, "an audit failure is reported")
	assert.NotZero(t, d.Seq, "the decision itself was stored and is returned")
	ok, err := m.Allowed(ctx, "a1", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := consent.New(consent.NewMemoryStore(), nil)
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "Close is idempotent")
	ok, err := m.Allowed(ctx, "s", consent.Analytics)
	require.ErrorIs(t, err, consent.ErrClosed)
	assert.False(t, ok)
	_, err = m.Grant(ctx, "s", consent.Analytics, consent.Meta{})
	require.ErrorIs(t, err, consent.ErrClosed)
	_, err = m.Export(ctx, "s")
	require.ErrorIs(t, err, consent.ErrClosed)
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts consent.Options
	}{
		{"bad-key", consent.Options{Purposes: []consent.Purpose{{Key: "Bad Key", Mechanism: consent.OptIn}}}},
		{"dup-key", consent.Options{Purposes: []consent.Purpose{{Key: "a", Mechanism: consent.OptIn}, {Key: "a", Mechanism: consent.OptOut}}}},
		{"no-mechanism", consent.Options{Purposes: []consent.Purpose{{Key: "a"}}}},
		{"bad-consent-mode", consent.Options{Purposes: []consent.Purpose{{Key: "a", Mechanism: consent.OptIn, ConsentMode: []string{"cookies"}}}}},
		{"notice-unknown-purpose", consent.Options{Notices: []consent.Notice{{Purpose: "x", Version: 1, Language: "en"}}}},
		{"notice-version-0", consent.Options{Notices: []consent.Notice{{Purpose: consent.Analytics, Language: "en"}}}},
		{"notice-dup", consent.Options{Notices: []consent.Notice{{Purpose: consent.Analytics, Version: 1, Language: "en"}, {Purpose: consent.Analytics, Version: 1, Language: "en"}}}},
		{"notice-no-language", consent.Options{Notices: []consent.Notice{{Purpose: consent.Analytics, Version: 1}}}},
		{"jurisdiction-no-region", consent.Options{Jurisdictions: []consent.Jurisdiction{{Mechanism: consent.OptIn}}}},
		{"jurisdiction-notice-only", consent.Options{Jurisdictions: []consent.Jurisdiction{{Region: "US", Mechanism: consent.NoticeOnly}}}},
		{"jurisdiction-unknown-purpose", consent.Options{Jurisdictions: []consent.Jurisdiction{{Region: "US", Mechanism: consent.OptOut, Purposes: map[string]consent.Mechanism{"x": consent.OptIn}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := consent.New(consent.NewMemoryStore(), &tc.opts)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "consent: "))
		})
	}
	_, err := consent.New(nil, nil)
	require.Error(t, err, "a store is required")
}

func TestCustomPurposeAndRegistryCopy(t *testing.T) {
	t.Parallel()
	ps := append(consent.DefaultPurposes(), consent.Purpose{Key: "crash_reports", Mechanism: consent.OptOut, Destinations: []string{"sentry"}})
	m, _ := newManager(t, consent.NewMemoryStore(), &consent.Options{Purposes: ps})
	p, ok := m.Purpose("crash_reports")
	require.True(t, ok)
	p.Destinations[0] = "mutated"
	p2, _ := m.Purpose("crash_reports")
	assert.Equal(t, "sentry", p2.Destinations[0], "callers get copies")
	assert.Len(t, m.Purposes(), 6)
}

func TestCacheEvictionStaysCorrect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), &consent.Options{CacheSize: 2})
	for i, s := range []string{"c1", "c2", "c3", "c4"} {
		meta := consent.Meta{Method: consent.MethodSettings}
		var err error
		if i%2 == 0 {
			_, err = m.Grant(ctx, s, consent.Analytics, meta)
		} else {
			_, err = m.Withdraw(ctx, s, consent.Analytics, meta)
		}
		require.NoError(t, err)
	}
	for round := 0; round < 3; round++ {
		for i, s := range []string{"c1", "c2", "c3", "c4"} {
			ok, err := m.Allowed(ctx, s, consent.Analytics)
			require.NoError(t, err)
			assert.Equal(t, i%2 == 0, ok, "answers survive eviction")
		}
	}
}

func TestConcurrentChecksAndDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), &consent.Options{CacheSize: 8})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := string(rune('a' + (i+w)%16))
				if i%10 == w%10 {
					_, err := m.Grant(ctx, s, consent.Analytics, consent.Meta{Method: consent.MethodSettings})
					assert.NoError(t, err)
					continue
				}
				_, err := m.Check(ctx, s, consent.Analytics)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
}

// TestBoundedStalenessConformance runs the conformance suite with the memory
// store's Watcher hidden, so the Managers take the bounded path SQL stores
// take (sync through Changes).
func TestBoundedStalenessConformance(t *testing.T) {
	t.Parallel()
	consenttest.Run(t, func(t *testing.T) (consent.Store, func(t *testing.T) consent.Store) {
		s := consent.NewMemoryStore()
		hidden := struct{ consent.Store }{s}
		return hidden, func(*testing.T) consent.Store { return hidden }
	})
}

// TestSyncManyChanges makes a Manager on a store without a complete Watcher
// catch up through more changes than one sync batch.
func TestSyncManyChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := consent.NewMemoryStore()
	hidden := struct{ consent.Store }{s}
	a, _ := newManager(t, hidden, nil)
	b, fb := newManager(t, hidden, nil)
	_, err := a.Grant(ctx, "z", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "DE"})
	require.NoError(t, err)
	ok, err := b.Allowed(ctx, "z", consent.Analytics)
	require.NoError(t, err)
	require.True(t, ok)
	for i := range 1100 {
		_, err := a.Withdraw(ctx, "bulk"+strconv.Itoa(i), consent.Analytics, consent.Meta{})
		require.NoError(t, err)
	}
	_, err = a.Withdraw(ctx, "z", consent.Analytics, consent.Meta{})
	require.NoError(t, err)
	ok, err = b.Allowed(ctx, "z", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok, "within MaxStaleness B may still serve its cached grant")
	fb.Advance(consent.DefaultMaxStaleness + time.Nanosecond)
	ok, err = b.Allowed(ctx, "z", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "after the bound, B reads all 1101 changes in batches and drops z")
}

// TestPackedAnswersMatchGeneralPath checks the hot path (answers packed
// into the cache entry) against the general one (a context signal without
// GPC forces it) over random histories.
func TestPackedAnswersMatchGeneralPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	notices := []consent.Notice{
		{Purpose: consent.Analytics, Version: 1, Language: "en"},
		{Purpose: consent.Analytics, Version: 2, Language: "en", Material: true},
	}
	m, fake := newManager(t, consent.NewMemoryStore(), &consent.Options{Notices: notices})
	rng := rand.New(rand.NewPCG(1, 2))
	regions := []string{"", "DE", "US", "US-CA", "JP", "CH"}
	purposes := []string{consent.Analytics, consent.Advertising, consent.ProductImprovement, consent.LLMProcessing}
	methods := []consent.Method{consent.MethodAccept, consent.MethodReject, consent.MethodSettings, consent.MethodGPC, consent.MethodAPI, consent.MethodConfirm}
	for s := range 60 {
		subject := "r" + strconv.Itoa(s)
		for range rng.IntN(6) {
			mth := methods[rng.IntN(len(methods))]
			granted := mth == consent.MethodAccept || mth == consent.MethodConfirm || (mth != consent.MethodReject && mth != consent.MethodGPC && rng.IntN(2) == 0)
			p := purposes[rng.IntN(len(purposes))]
			nv := 0
			if p == consent.Analytics && granted {
				nv = 1 + rng.IntN(2)
			}
			fake.Advance(time.Duration(rng.IntN(3)) * time.Second) // equal times happen too
			_, err := m.Record(ctx, consent.Decision{Subject: subject, Purpose: p, Granted: granted, Method: mth,
				NoticeVersion: nv, Region: regions[rng.IntN(len(regions))]})
			require.NoError(t, err)
		}
		for _, p := range append(purposes, consent.Essential) {
			fast, err := m.Check(ctx, subject, p)
			require.NoError(t, err)
			general, err := m.Check(consent.WithGPC(ctx, &consent.GPCResult{Subject: subject}), subject, p)
			require.NoError(t, err)
			assert.Equal(t, general.Allowed, fast.Allowed, "%s/%s", subject, p)
			assert.Equal(t, general.Reason, fast.Reason, "%s/%s", subject, p)
			assert.Equal(t, general.Mechanism, fast.Mechanism, "%s/%s", subject, p)
			assert.Equal(t, general.Region, fast.Region, "%s/%s", subject, p)
			assert.Equal(t, general.Record(), fast.Record(), "%s/%s", subject, p)
		}
	}
}

func TestStateAndSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hidden := struct{ consent.Store }{consent.NewMemoryStore()}
	a, _ := newManager(t, hidden, nil)
	b, _ := newManager(t, hidden, nil)
	_, err := a.Grant(ctx, "st", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "IT"})
	require.NoError(t, err)
	st, err := b.State(ctx, "st")
	require.NoError(t, err)
	require.Len(t, st, 5, "one answer per purpose, in registry order")
	assert.Equal(t, consent.Essential, st[0].Purpose)
	assert.True(t, st[1].Allowed)
	assert.Equal(t, consent.ReasonNoConsent, st[2].Reason, "IT is opt-in")

	_, err = a.Withdraw(ctx, "st", consent.Analytics, consent.Meta{})
	require.NoError(t, err)
	require.NoError(t, b.Sync(ctx), "Sync catches up at a known moment")
	ok, err := b.Allowed(ctx, "st", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "after Sync, B honours A's withdrawal without waiting for the bound")

	require.NoError(t, b.Close())
	require.ErrorIs(t, b.Sync(ctx), consent.ErrClosed)
	_, err = b.State(ctx, "st")
	require.ErrorIs(t, err, consent.ErrClosed)
}

func TestManyPurposes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ps := consent.DefaultPurposes()
	for i := range 7 {
		ps = append(ps, consent.Purpose{Key: "extra_" + strconv.Itoa(i), Mechanism: consent.OptIn, GPC: true})
	}
	m, _ := newManager(t, consent.NewMemoryStore(), &consent.Options{Purposes: ps})
	last := ps[len(ps)-1].Key // beyond the packed answers: the general path
	_, err := m.Grant(ctx, "mp", last, consent.Meta{Method: consent.MethodAccept, Region: "US"})
	require.NoError(t, err)
	ok, err := m.Allowed(ctx, "mp", last)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = m.Allowed(ctx, "mp", "extra_0")
	require.NoError(t, err)
	assert.False(t, ok, "opt-in, not granted")
	_, err = m.Withdraw(ctx, "mp", last, consent.Meta{})
	require.NoError(t, err)
	ok, err = m.Allowed(ctx, "mp", last)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = m.Allowed(ctx, "mp", "extra_99")
	require.ErrorIs(t, err, consent.ErrUnknownPurpose, "the map lookup of large registries fails closed too")
}
