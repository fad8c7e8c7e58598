package retention_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/retention"
)

func TestKPIReport(t *testing.T) {
	t.Parallel()
	vendors := retention.KnownVendors()
	vendors[1].Agreement = retention.AgreementSigned // OpenAI: signed, 30 days, no training → compliant
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{Vendors: vendors, Grace: time.Hour})
	ctx := context.Background()
	from := t0
	// Deletions: one on time, one late (its deleter failed for a day).
	e.track(t, freeFile("ontime"))
	late := freeFile("late")
	late.System = "flaky"
	e.track(t, late)
	flaky := true
	e.m.RegisterDeleter("flaky", retention.DeleterFunc(func(context.Context, retention.Item) error {
		if flaky {
			return errBoom
		}
		return nil
	}))
	e.clk.Advance(time.Hour)
	e.sweep(t)
	e.clk.Advance(24 * time.Hour)
	flaky = false
	e.sweep(t)

	// Requests: an access completed in 1 day, an erasure in 3 days, a
	// rejected one, one still open and overdue.
	e.track(t, retention.Item{ID: "c1", Category: retention.CategoryConversation, Subject: "s1", System: "chat"})
	e.track(t, retention.Item{ID: "c2", Category: retention.CategoryConversation, Subject: "s2", System: "chat"})
	start := e.clk.Now()
	a := submit(t, e, retention.RequestAccess, "s1")
	er := submit(t, e, retention.RequestErasure, "s2")
	rej := submit(t, e, retention.RequestAccess, "ghost")
	open := submit(t, e, retention.RequestAccess, "s1")
	e.clk.Set(start.Add(day))
	_, err := e.m.ProcessRequest(ctx, a.ID)
	require.NoError(t, err)
	_, err = e.m.ProcessRequest(ctx, rej.ID)
	require.ErrorIs(t, err, retention.ErrUnknownSubject)
	e.clk.Set(start.Add(3 * day))
	_, err = e.m.ProcessRequest(ctx, er.ID)
	require.NoError(t, err)
	_ = open

	_, err = e.m.RecordIncident(ctx, retention.Incident{Summary: "laptop lost", SubjectsAffected: 2, RecordedBy: "employee:dpo",
		DetectedAt: start, ReportedAt: start.Add(80 * time.Hour)})
	require.NoError(t, err)
	_, err = e.m.RecordIncident(ctx, retention.Incident{Summary: "x"})
	require.ErrorIs(t, err, retention.ErrInvalid, "who recorded it is required")

	to := start.Add(60 * day)
	e.clk.Set(to)
	rep, err := e.m.Report(ctx, from, to)
	require.NoError(t, err)
	counts := map[string]int{}
	for _, c := range rep.Requests {
		counts[string(c.Type)+"/"+string(c.Status)] = c.Count
	}
	assert.Equal(t, map[string]int{"access/completed": 1, "access/rejected": 1, "access/received": 1, "erasure/completed": 1}, counts)
	assert.Equal(t, 3, rep.Completed, "rejections end the lifecycle too")
	assert.Equal(t, 3*day, rep.WorstCompletion)
	assert.Equal(t, day, rep.MedianCompletion, "median of 0 (rejected at 1 day), 1 day, 3 days")
	assert.Equal(t, 1, rep.OverdueRequests, "the open request is past its month")
	assert.Equal(t, 2, rep.DeletionsOnTime, "the file on time and the erased conversation")
	assert.Equal(t, 1, rep.DeletionsLate, "the flaky one, a day late")
	assert.Equal(t, 5, rep.Vendors)
	assert.Equal(t, 1, rep.VendorsCompliant)
	assert.InDelta(t, 0.2, rep.VendorComplianceRate, 1e-9)
	require.Len(t, rep.Incidents, 1)
	assert.Equal(t, 1, rep.IncidentsLate, "reported after 72 hours")
	md := rep.Markdown()
	for _, s := range []string{"# Privacy KPI report", "| erasure | completed | 1 |", "Late: 1", "Compliant: 1 of 5 (20%)", "laptop lost", "Not reported within 72 h: 1"} {
		assert.Contains(t, md, s)
	}
	_, err = e.m.Report(ctx, to, from)
	require.ErrorIs(t, err, retention.ErrInvalid)
}

func TestRecordOfProcessing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{Vendors: retention.KnownVendors()})
	ctx := context.Background()
	e.track(t, freeFile("f1"))
	e.track(t, retention.Item{ID: "v1", Category: retention.CategoryVendorData, Subject: "s1", System: "openai", Vendor: "openai", Purpose: "analysis", LegalBasis: "contract"})
	e.track(t, retention.Item{ID: "l1", Category: retention.CategoryRequestLog, Subject: "s1", System: "logs", Purpose: "security", LegalBasis: "legitimate_interest"})
	rec, err := e.m.RecordOfProcessing(ctx, &retention.RoPAOptions{Controller: "Example Analytics GmbH", DPO: "dpo@example.com", SecurityMeasures: []string{"AES-256-GCM at rest"}})
	require.NoError(t, err)
	require.Len(t, rec.Activities, 2)
	an := rec.Activities[0]
	assert.Equal(t, "analysis", an.Purpose)
	assert.Equal(t, []string{retention.CategoryUploadedFile, retention.CategoryVendorData}, an.DataCategories)
	assert.Equal(t, []string{"openai"}, an.Recipients)
	assert.Equal(t, []string{"openai (US)"}, an.Transfers, "a US vendor is a third-country transfer")
	assert.Contains(t, an.Retention, "vendor_data delete 720h0m0s after sent_to_vendor")
	assert.Equal(t, int64(2), an.Items)
	b, err := rec.JSON()
	require.NoError(t, err)
	var back retention.RecordOfProcessing
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rec.Controller, back.Controller)
	md := rec.Markdown()
	for _, s := range []string{"GDPR Art. 30", "Example Analytics GmbH", "| security | legitimate_interest | request_log |", "OpenAI API", "AES-256-GCM at rest"} {
		assert.Contains(t, md, s)
	}
}

func TestKnownVendors(t *testing.T) {
	t.Parallel()
	vs := retention.KnownVendors()
	names := map[string]bool{}
	for _, v := range vs {
		names[v.Name] = true
		_, err := time.Parse(time.DateOnly, v.AsOf)
		assert.NoError(t, err, "%s has an as-of date", v.Name)
		assert.NotEmpty(t, v.Sources, "%s cites sources", v.Name)
		assert.Equal(t, retention.AgreementAvailable, v.Agreement, "%s: the host signs the DPA, not privkit", v.Name)
		lvl, reasons := v.Risk()
		assert.NotEmpty(t, lvl)
		assert.NotEmpty(t, reasons, "%s: no shipped vendor is risk-free", v.Name)
	}
	for _, n := range []string{"stripe", "openai", "google-gemini", "posthog", "meta"} {
		assert.True(t, names[n], n)
	}
}

func TestVendorRisk(t *testing.T) {
	t.Parallel()
	good := retention.Vendor{Name: "v", Role: retention.RoleProcessor, Region: "EU", Retention: 30 * day, TrainsOnData: retention.No,
		Certifications: []string{"ISO/IEC 27001"}, Agreement: retention.AgreementSigned, Erasure: retention.MethodAPI}
	cases := []struct {
		name   string
		change func(*retention.Vendor)
		want   retention.RiskLevel
		reason string
	}{
		{"good", func(*retention.Vendor) {}, retention.RiskLow, "signed, EU, no training, 30 days, API"},
		{"trains", func(v *retention.Vendor) { v.TrainsOnData = retention.Yes }, retention.RiskHigh, "training is high risk"},
		{"unknown training", func(v *retention.Vendor) { v.TrainsOnData = "" }, retention.RiskHigh, "unknown counts as the worst case"},
		{"no dpa", func(v *retention.Vendor) { v.Agreement = retention.AgreementNone }, retention.RiskHigh, "no DPA"},
		{"no erasure", func(v *retention.Vendor) { v.Erasure = retention.MethodNone }, retention.RiskHigh, "cannot erase"},
		{"us and unsigned", func(v *retention.Vendor) { v.Region = "US"; v.Agreement = retention.AgreementAvailable }, retention.RiskMedium, "two points"},
		{"unknown retention", func(v *retention.Vendor) { v.Retention = 0 }, retention.RiskMedium, "two points"},
		{"many small", func(v *retention.Vendor) {
			v.Region, v.Retention, v.Erasure, v.Certifications = "US", 90*day, retention.MethodManual, nil
		}, retention.RiskHigh, "four points"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := good
			c.change(&v)
			lvl, _ := v.Risk()
			assert.Equal(t, c.want, lvl, c.reason)
		})
	}
	assert.True(t, good.Compliant())
}
