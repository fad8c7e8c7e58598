package retention_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/retention"
)

const day = 24 * time.Hour

func del(cat string, a retention.Anchor, ttl time.Duration) retention.Rule {
	return retention.Rule{Category: cat, Action: retention.ActionDelete, Anchor: a, TTL: ttl}
}

func ret(cat string, a retention.Anchor, ttl time.Duration) retention.Rule {
	return retention.Rule{Category: cat, Action: retention.ActionRetain, Anchor: a, TTL: ttl}
}

func TestNewPolicyRejects(t *testing.T) {
	t.Parallel()
	planned := del("f", retention.AnchorCreated, time.Hour)
	planned.Plan = "free"
	planned2 := planned
	planned2.TTL = 2 * time.Hour
	cases := []struct {
		name   string
		rules  []retention.Rule
		want   error
		reason string
	}{
		{"empty category", []retention.Rule{del(" ", retention.AnchorCreated, 1)}, retention.ErrInvalidPolicy, "a rule needs a category"},
		{"negative ttl", []retention.Rule{del("f", retention.AnchorCreated, -1)}, retention.ErrInvalidPolicy, "a TTL cannot be negative"},
		{"unknown anchor", []retention.Rule{del("f", "birthday", 1)}, retention.ErrInvalidPolicy, "anchors are a closed set"},
		{"unknown action", []retention.Rule{{Category: "f", Action: "archive", Anchor: retention.AnchorCreated}}, retention.ErrInvalidPolicy, "actions are a closed set"},
		{"two deletes same scope", []retention.Rule{planned, planned2}, retention.ErrContradiction, "1h and 2h for the same items: which one?"},
		{"duplicate", []retention.Rule{planned, planned}, retention.ErrContradiction, "a duplicate is a copy-paste error"},
		{"two retains same scope", []retention.Rule{ret("f", retention.AnchorCreated, day), ret("f", retention.AnchorCreated, 2*day)}, retention.ErrContradiction, "two minimums for the same items"},
		{"retain outlasts delete", []retention.Rule{del("f", retention.AnchorCreated, time.Hour), ret("f", retention.AnchorCreated, day)}, retention.ErrContradiction, "delete after 1h but keep 1 day: the delete rule can never apply"},
		{"delete anchors differ", []retention.Rule{del("f", retention.AnchorCreated, time.Hour), del("f", retention.AnchorUserDeleted, 0)}, retention.ErrContradiction, "two delete rules of one scope even with different anchors"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := retention.NewPolicy(c.rules)
			require.ErrorIs(t, err, c.want, c.reason)
			assert.True(t, strings.HasPrefix(err.Error(), "retention: "), "errors start with the package name")
		})
	}
	// Consistent sets are accepted.
	_, err := retention.NewPolicy([]retention.Rule{del("f", retention.AnchorCreated, day), ret("f", retention.AnchorCreated, day), planned})
	require.NoError(t, err, "retain equal to delete, and a plan-specific rule, are consistent")
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	eu := del("f", retention.AnchorCreated, 10*day)
	eu.Region = "eu"
	paid := del("f", retention.AnchorCreated, 30*day)
	paid.Plan = "paid"
	paidEU := del("f", retention.AnchorCreated, 60*day)
	paidEU.Plan, paidEU.Region = "paid", "eu"
	legal := ret("f", retention.AnchorCreated, 90*day)
	legal.Region = "de"
	p := retention.MustPolicy([]retention.Rule{del("f", retention.AnchorCreated, 20*day), eu, paid, paidEU, legal})
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, plan, region string
		labels             []retention.Rule
		want               time.Duration
		reason             string
	}{
		{"implicit only", "free", "us", nil, 20 * day, "the category-wide rule"},
		{"explicit region beats implicit", "free", "eu", nil, 10 * day, "region rule is more explicit"},
		{"explicit beats shorter implicit", "paid", "us", nil, 30 * day, "plan rule wins although 20 days is shorter"},
		{"more explicit wins", "paid", "eu", nil, 60 * day, "plan+region beats plan and region alone"},
		{"shortest among equally explicit", "paid", "eu", []retention.Rule{del("f", retention.AnchorCreated, 5*day), del("f", retention.AnchorCreated, 7*day)}, 5 * day, "two labels: the shortest deletion"},
		{"label beats rules", "paid", "eu", []retention.Rule{del("f", retention.AnchorCreated, 100*day)}, 100 * day, "a label is explicit"},
		{"retention beats deletion", "free", "de", nil, 90 * day, "retain 90 days overrides delete after 20"},
		{"longest retention wins", "free", "de", []retention.Rule{ret("f", retention.AnchorCreated, 120*day)}, 120 * day, "two retentions: the longest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			it := retention.Item{ID: "i", Category: "f", Plan: c.plan, Region: c.region, CreatedAt: created, Labels: c.labels}
			d, err := p.Evaluate(it, nil, created)
			require.NoError(t, err)
			assert.Equal(t, created.Add(c.want), d.DueAt, c.reason)
			d, err = p.Evaluate(it, nil, created.Add(c.want))
			require.NoError(t, err)
			assert.True(t, d.Delete, "due at the boundary (inclusive)")
		})
	}
}

func TestEvaluateHoldsAndAnchors(t *testing.T) {
	t.Parallel()
	p := retention.DefaultPolicy()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	it := retention.Item{ID: "i", Category: retention.CategoryUploadedFile, Subject: "s", Plan: "free", CreatedAt: now.Add(-2 * time.Hour)}
	holds := []retention.Hold{
		{ID: "other", Scope: retention.HoldSubject, Target: "someone-else", PlacedAt: now.Add(-time.Hour)},
		{ID: "future", Scope: retention.HoldItem, Target: "i", PlacedAt: now.Add(time.Hour)},
		{ID: "released", Scope: retention.HoldCategory, Target: retention.CategoryUploadedFile, PlacedAt: now.Add(-time.Hour), ReleasedAt: now},
	}
	d, err := p.Evaluate(it, holds, now)
	require.NoError(t, err)
	assert.True(t, d.Delete, "no hold active at now applies: other subject, not yet placed, released at now")
	holds = append(holds, retention.Hold{ID: "sub", Scope: retention.HoldSubject, Target: "s", PlacedAt: now.Add(-time.Hour)})
	d, err = p.Evaluate(it, holds, now)
	require.NoError(t, err)
	assert.False(t, d.Delete, "a hold beats everything")
	assert.Equal(t, []string{"sub"}, d.Held)

	_, err = p.Evaluate(retention.Item{Category: "mystery"}, nil, now)
	require.ErrorIs(t, err, retention.ErrUnknownCategory)

	conv := retention.Item{ID: "c", Category: retention.CategoryConversation, CreatedAt: now.AddDate(-5, 0, 0)}
	d, err = p.Evaluate(conv, nil, now)
	require.NoError(t, err)
	assert.True(t, d.DueAt.IsZero(), "kept until the user deletes it")
	conv.UserDeletedAt = now
	d, err = p.Evaluate(conv, nil, now)
	require.NoError(t, err)
	assert.True(t, d.Delete, "due as soon as the user deletes it")

	ws := retention.Item{ID: "w", Category: retention.CategoryWorkspace, Plan: "paid", CreatedAt: now.Add(-30 * day), LastActivityAt: now.Add(-6 * day)}
	d, err = p.Evaluate(ws, nil, now)
	require.NoError(t, err)
	assert.Equal(t, now.Add(day), d.DueAt, "idle TTL counts from the last activity")

	vend := retention.Item{ID: "v", Category: retention.CategoryVendorData, CreatedAt: now.Add(-60 * day)}
	d, err = p.Evaluate(vend, nil, now)
	require.NoError(t, err)
	assert.True(t, d.DueAt.IsZero(), "never sent: no vendor deletion time")

	audit := retention.Item{ID: "a", Category: retention.CategoryAuditEntry, CreatedAt: now.Add(-364 * day)}
	d, err = p.Evaluate(audit, nil, now)
	require.NoError(t, err)
	assert.False(t, d.Delete, "audit entries are kept a year")
	d, err = p.Evaluate(audit, nil, now.Add(day))
	require.NoError(t, err)
	assert.True(t, d.Delete, "and deleted after it")
}

func TestParsePolicyRoundTrip(t *testing.T) {
	t.Parallel()
	p := retention.DefaultPolicy()
	b, err := json.Marshal(p)
	require.NoError(t, err)
	q, err := retention.ParsePolicy(b)
	require.NoError(t, err)
	assert.Equal(t, p.Rules(), q.Rules(), "encode then parse gives the same rules")
	assert.Equal(t, p.Categories(), q.Categories())

	for name, in := range map[string]string{
		"not json":       "{",
		"unknown field":  `{"version":1,"rules":[],"x":1}`,
		"bad version":    `{"version":2,"rules":[]}`,
		"bad ttl":        `{"version":1,"rules":[{"category":"f","action":"delete","anchor":"created","ttl":"forever"}]}`,
		"contradiction":  `{"version":1,"rules":[{"category":"f","action":"delete","anchor":"created","ttl":"1h"},{"category":"f","action":"delete","anchor":"created","ttl":"2h"}]}`,
		"trailing array": `[]`,
		"trailing data":  `{"version":1,"rules":[]} {}`,
		"missing ttl":    `{"version":1,"rules":[{"category":"f","action":"delete","anchor":"created"}]}`,
		"misspelt ttl":   `{"version":1,"rules":[{"category":"f","action":"delete","anchor":"created","ttl":null,"tll":"1h"}]}`,
		"numeric ttl":    `{"version":1,"rules":[{"category":"f","action":"delete","anchor":"created","ttl":3600}]}`,
	} {
		_, err := retention.ParsePolicy([]byte(in))
		assert.Error(t, err, name)
	}
	q, err = retention.ParsePolicy([]byte(`{"version":1,"rules":[{"category":"conversation","action":"delete","anchor":"user_deleted","ttl":null}]}`))
	require.NoError(t, err, "a null ttl is zero")
	assert.Equal(t, time.Duration(0), q.Rules()[0].TTL)
}

func FuzzParsePolicy(f *testing.F) {
	b, _ := json.Marshal(retention.DefaultPolicy())
	f.Add(b)
	f.Add([]byte(`{"version":1,"rules":[{"category":"f","action":"retain","anchor":"sent_to_vendor","ttl":"1h","plan":"x"}]}`))
	f.Add([]byte(`{"version":1,"rules":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := retention.ParsePolicy(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "retention: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		// A valid policy re-encodes to one that parses to the same rules,
		// and evaluating any of its categories does not panic.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := retention.ParsePolicy(b)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(q.Rules()) != len(p.Rules()) {
			t.Fatal("rules lost in the round trip")
		}
		for _, c := range p.Categories() {
			_, _ = p.Evaluate(retention.Item{ID: "i", Category: c, CreatedAt: time.Unix(0, 0)}, nil, time.Unix(1e9, 0))
		}
	})
}

func TestVendorRules(t *testing.T) {
	t.Parallel()
	rules := retention.VendorRules(retention.KnownVendors())
	require.Len(t, rules, 2, "only vendors with a known retention: OpenAI and Gemini")
	p, err := retention.NewPolicy(append(retention.DefaultPolicy().Rules(), rules...))
	require.NoError(t, err, "vendor rules do not contradict the defaults")
	sent := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for vendor, want := range map[string]time.Duration{"openai": 30 * day, "google-gemini": 55 * day, "someone": 30 * day} {
		due, err := p.DueAt(retention.Item{ID: "v", Category: retention.CategoryVendorData, Vendor: vendor, SentAt: sent})
		require.NoError(t, err)
		assert.Equal(t, sent.Add(want), due, "%s: the vendor record's retention, else the default", vendor)
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	q, err := retention.ParsePolicy(b)
	require.NoError(t, err)
	assert.Equal(t, p.Rules(), q.Rules(), "the vendor condition round-trips")
	assert.Contains(t, rules[1].String(), "vendor=google-gemini")
}
