package consent_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/consent"
)

type recordingSender struct {
	mu   sync.Mutex
	sent []consent.Capture
}

func (s *recordingSender) Capture(_ context.Context, c consent.Capture) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, c)
	return nil
}

func TestGate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fs := &failingStore{MemoryStore: consent.NewMemoryStore()}
	m, _ := newManager(t, fs, nil)
	next := &recordingSender{}
	g, err := m.Gate(consent.Analytics, next)
	require.NoError(t, err)

	_, err = m.Grant(ctx, "yes", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "DE"})
	require.NoError(t, err)
	_, err = m.Withdraw(ctx, "no", consent.Analytics, consent.Meta{Method: consent.MethodReject, Region: "US"})
	require.NoError(t, err)
	_, err = m.Withdraw(ctx, "us-default", consent.ProductImprovement, consent.Meta{Region: "US"})
	require.NoError(t, err)

	for _, c := range []consent.Capture{
		{DistinctID: "yes", Event: "opened"},
		{DistinctID: "no", Event: "opened"},
		{DistinctID: "us-default", Event: "opened"},
		{DistinctID: "unknown-region", Event: "opened"},
	} {
		require.NoError(t, g.Capture(ctx, c), "a dropped event is not an error")
	}
	gctx := consent.WithGPC(ctx, &consent.GPCResult{GPC: true, Subject: "us-default", Region: "US"})
	require.NoError(t, g.Capture(gctx, consent.Capture{DistinctID: "us-default", Event: "gpc"}))

	ids := []string{}
	for _, c := range next.sent {
		ids = append(ids, c.DistinctID+"/"+c.Event)
	}
	assert.Equal(t, []string{"yes/opened", "us-default/opened"}, ids,
		"granted and US-default pass; refused, unknown-region (strictest) and GPC are dropped")
	assert.Equal(t, uint64(3), g.Dropped())

	err = g.Capture(ctx, consent.Capture{Event: "no subject"})
	require.ErrorIs(t, err, consent.ErrEmptySubject, "no subject: dropped with an error")
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	err = g.Capture(ctx, consent.Capture{DistinctID: "new", Event: "x"})
	require.ErrorIs(t, err, consent.ErrStore, "a failed check drops the event and says so")
	assert.Len(t, next.sent, 2)
	assert.Equal(t, uint64(5), g.Dropped())

	_, err = m.Gate("nope", next)
	require.ErrorIs(t, err, consent.ErrUnknownPurpose)
	_, err = m.Gate(consent.Analytics, nil)
	require.Error(t, err)
}

func TestBrowserState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), nil)
	_, err := m.Grant(ctx, "eu", consent.Analytics, consent.Meta{Method: consent.MethodSettings, Region: "FR"})
	require.NoError(t, err)
	_, err = m.Withdraw(ctx, "us", consent.Advertising, consent.Meta{Method: consent.MethodSettings, Region: "US"})
	require.NoError(t, err)
	tests := []struct {
		name, subject string
		ctx           context.Context
		want          consent.BrowserState
		why           string
	}{
		{"eu-analytics-only", "eu", ctx, consent.BrowserState{
			ConsentMode: consent.ConsentMode{AdStorage: "denied", AnalyticsStorage: "granted", AdUserData: "denied", AdPersonalization: "denied"},
			PostHog:     consent.PostHogState{OptOutCapturingByDefault: false},
			Purposes:    map[string]bool{"essential": true, "analytics": true, "advertising": false, "product_improvement": false, "llm_processing": false},
		}, "EU: only what was granted"},
		{"us-refused-ads", "us", ctx, consent.BrowserState{
			ConsentMode: consent.ConsentMode{AdStorage: "denied", AnalyticsStorage: "granted", AdUserData: "denied", AdPersonalization: "denied"},
			PostHog:     consent.PostHogState{OptOutCapturingByDefault: false},
			Purposes:    map[string]bool{"essential": true, "analytics": true, "advertising": false, "product_improvement": true, "llm_processing": false},
		}, "US: opt-out defaults except the refused purpose"},
		{"anonymous-us-gpc", "", consent.WithGPC(ctx, &consent.GPCResult{GPC: true, Region: "US"}), consent.BrowserState{
			ConsentMode: consent.ConsentMode{AdStorage: "denied", AnalyticsStorage: "denied", AdUserData: "denied", AdPersonalization: "denied"},
			PostHog:     consent.PostHogState{OptOutCapturingByDefault: true},
			Purposes:    map[string]bool{"essential": true, "analytics": false, "advertising": false, "product_improvement": true, "llm_processing": false},
			GPC:         true,
		}, "anonymous US visitor with GPC: GPC purposes off"},
		{"anonymous-us", "", consent.WithGPC(ctx, &consent.GPCResult{Region: "US"}), consent.BrowserState{
			ConsentMode: consent.ConsentMode{AdStorage: "granted", AnalyticsStorage: "granted", AdUserData: "granted", AdPersonalization: "granted"},
			PostHog:     consent.PostHogState{OptOutCapturingByDefault: false},
			Purposes:    map[string]bool{"essential": true, "analytics": true, "advertising": true, "product_improvement": true, "llm_processing": false},
		}, "anonymous US visitor: opt-out defaults"},
		{"anonymous-unknown", "", ctx, consent.BrowserState{
			ConsentMode: consent.ConsentMode{AdStorage: "denied", AnalyticsStorage: "denied", AdUserData: "denied", AdPersonalization: "denied"},
			PostHog:     consent.PostHogState{OptOutCapturingByDefault: true},
			Purposes:    map[string]bool{"essential": true, "analytics": false, "advertising": false, "product_improvement": false, "llm_processing": false},
		}, "unknown region: everything but essential off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := m.BrowserState(tc.ctx, tc.subject)
			require.NoError(t, err)
			assert.Empty(t, cmp.Diff(tc.want, got), "%s (-want +got)", tc.why)
		})
	}
	bs, err := m.BrowserState(ctx, "eu")
	require.NoError(t, err)
	data, err := json.Marshal(bs)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"analytics_storage":"granted"`, "gtag's names")
	assert.Contains(t, string(data), `"opt_out_capturing_by_default":false`, "posthog-js's name")
}

func TestExportProof(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	notices := []consent.Notice{
		{Purpose: consent.Analytics, Version: 1, Language: "en", Text: "We count page views."},
		{Purpose: consent.Analytics, Version: 1, Language: "de", Text: "Wir zählen Seitenaufrufe."},
	}
	m, fake := newManager(t, consent.NewMemoryStore(), &consent.Options{Notices: notices})
	_, err := m.Grant(ctx, "p1", consent.Analytics, consent.Meta{Method: consent.MethodAccept, NoticeVersion: 1, Language: "de", Region: "AT", IP: "198.51.100.23"})
	require.NoError(t, err)
	fake.Advance(1)
	_, err = m.Withdraw(ctx, "p1", consent.Advertising, consent.Meta{Method: consent.MethodReject})
	require.NoError(t, err)
	_, err = m.Grant(ctx, "p2", consent.Analytics, consent.Meta{Method: consent.MethodAccept, NoticeVersion: 1, Language: "en"})
	require.NoError(t, err)

	p, err := m.Export(ctx, "p1")
	require.NoError(t, err)
	assert.Equal(t, consent.ProofVersion, p.Version)
	require.Len(t, p.Decisions, 2, "only this subject's decisions")
	assert.Equal(t, "198.51.100.0", p.Decisions[0].IP, "only the truncated address was ever stored")
	require.Len(t, p.Notices, 1, "the notice shown, in the language shown")
	assert.Equal(t, "de", p.Notices[0].Language)
	assert.Equal(t, notices[1].Digest(), p.Notices[0].SHA256)
	assert.Equal(t, notices[1].Text, p.Notices[0].Text)
	require.Len(t, p.Current, 5, "an answer per purpose")
	assert.True(t, p.Current[1].Allowed, "analytics granted")
	assert.Equal(t, consent.ReasonDenied, p.Current[2].Reason, "advertising refused")

	data, err := json.Marshal(p)
	require.NoError(t, err)
	var back consent.Proof
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Empty(t, cmp.Diff(p.Decisions, back.Decisions), "decisions survive JSON")

	_, err = m.Export(ctx, "")
	require.ErrorIs(t, err, consent.ErrEmptySubject)
	p, err = m.Export(ctx, "nobody")
	require.NoError(t, err)
	assert.Empty(t, p.Decisions)
}

// FuzzProofJSON decodes arbitrary JSON as a Proof (Result and Mechanism
// have their own decoders): no panic, and what decodes re-encodes.
func FuzzProofJSON(f *testing.F) {
	f.Add([]byte(`{"version":1,"subject":"s","current":[{"allowed":true,"reason":"granted","purpose":"analytics","mechanism":"opt-in","region":"DE","record":{"seq":3,"subject":"s","purpose":"analytics","granted":true,"method":"accept","time":"2026-03-01T12:00:00Z"}}]}`))
	f.Add([]byte(`{"current":[{"mechanism":"sideways"}]}`))
	f.Add([]byte(`{"current":[{"record":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p consent.Proof
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		for _, r := range p.Current {
			_ = r.Record()
		}
		_, err := json.Marshal(p)
		require.NoError(t, err, "a decoded proof encodes again")
	})
}
