package retention_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/retention"
)

func submit(t *testing.T, e *env, typ retention.RequestType, subject string) *retention.Request {
	t.Helper()
	r, err := e.m.SubmitRequest(context.Background(), retention.Request{Type: typ, Subject: subject, Law: retention.LawGDPR})
	require.NoError(t, err)
	return r
}

func TestAccessRequestBundle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{Vendors: retention.KnownVendors()})
	ctx := context.Background()
	e.track(t, freeFile("f1"))
	conv := retention.Item{ID: "c1", Category: retention.CategoryConversation, Subject: "s1", System: "chat", Vendor: "openai", Purpose: "analysis"}
	e.track(t, conv)
	e.track(t, retention.Item{ID: "x", Category: retention.CategoryConversation, Subject: "someone-else", System: "chat"})
	e.m.RegisterExporter("workspace", retention.ExporterFunc(func(_ context.Context, subject string, w *retention.ExportWriter) error {
		require.Equal(t, "s1", subject)
		return w.File("f1.csv", strings.NewReader("a,b\n1,2\n"))
	}))
	e.m.RegisterExporter("chat", retention.ExporterFunc(func(_ context.Context, _ string, w *retention.ExportWriter) error {
		return w.Record("conversations", []map[string]string{{"id": "c1", "text": "hello"}})
	}))
	r := submit(t, e, retention.RequestAccess, "s1")
	assert.Equal(t, retention.StatusReceived, r.Status)
	assert.Equal(t, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), r.DueAt, "GDPR: one month, strict")
	res, err := e.m.ProcessRequest(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, retention.StatusCompleted, res.Request.Status)
	require.NotNil(t, res.Bundle)
	assert.Len(t, res.Bundle.Inventory, 2, "only the subject's items")
	require.Len(t, res.Bundle.Recipients, 1, "the vendor that received data is named")
	assert.Equal(t, "openai", res.Bundle.Recipients[0].Name)
	require.Len(t, res.Bundle.Records, 1)
	require.Len(t, res.Bundle.Files, 1)
	require.NotNil(t, res.Request.Export)
	assert.Equal(t, []string{"chat", "workspace"}, res.Request.Export.Systems, "every exporter contributed")
	assert.Len(t, res.Request.Export.SHA256, 64)

	var buf bytes.Buffer
	require.NoError(t, res.Bundle.WriteZip(&buf))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	names := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		names[f.Name] = string(b)
	}
	assert.Equal(t, "a,b\n1,2\n", names["files/workspace/f1.csv"])
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(names["data.json"]), &doc), "data.json is JSON")
	assert.Contains(t, names["data.json"], `"hello"`)
	assert.NotContains(t, names["data.json"], "someone-else", "no other subject's data")

	_, err = e.m.ProcessRequest(ctx, r.ID)
	require.ErrorIs(t, err, retention.ErrRequestState, "a completed request is not processed twice")
}

func TestAccessRequestExporterFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{DeleterTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	e.track(t, freeFile("f1"))
	fail := true
	e.m.RegisterExporter("workspace", retention.ExporterFunc(func(ctx context.Context, _ string, w *retention.ExportWriter) error {
		if err := w.File("../etc/passwd", strings.NewReader("x")); !errors.Is(err, retention.ErrInvalid) {
			return errors.New("path traversal accepted")
		}
		if err := w.File("/abs", strings.NewReader("x")); !errors.Is(err, retention.ErrInvalid) {
			return errors.New("absolute path accepted")
		}
		if fail {
			return errBoom
		}
		return w.File("ok/f1.txt", strings.NewReader("x"))
	}))
	r := submit(t, e, retention.RequestAccess, "s1")
	res, err := e.m.ProcessRequest(ctx, r.ID)
	require.ErrorIs(t, err, retention.ErrIncomplete)
	assert.Equal(t, retention.StatusInProgress, res.Request.Status, "a failed export is not reported complete")
	assert.Nil(t, res.Bundle)
	fail = false
	res, err = e.m.ProcessRequest(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, retention.StatusCompleted, res.Request.Status)
	assert.Equal(t, "ok/f1.txt", res.Bundle.Files[0].Name)
}

// TestErasureWithVendors erases a subject's data at home and at three
// vendors with the three kinds of connectors.
func TestErasureWithVendors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), &retention.Options{Vendors: retention.KnownVendors()})
	ctx := context.Background()
	var posthogCalls int
	e.m.RegisterDeleter("posthog", retention.APIErasure(func(context.Context, retention.Item) error { posthogCalls++; return nil }))
	e.m.RegisterDeleter("openai", retention.VendorAutoDeletion(30*day))
	tasks := 0
	e.m.RegisterDeleter("meta", retention.ManualErasure(func(context.Context, retention.Item) (string, error) {
		tasks++
		return "TICKET-7", nil
	}))
	e.track(t, freeFile("f1"))
	e.track(t, retention.Item{ID: "ph", Category: retention.CategoryRequestLog, Subject: "s1", System: "posthog", Vendor: "posthog"})
	e.track(t, retention.Item{ID: "oa", Category: retention.CategoryVendorData, Subject: "s1", System: "openai", Vendor: "openai", SentAt: t0})
	e.track(t, retention.Item{ID: "mt", Category: retention.CategoryRequestLog, Subject: "s1", System: "meta", Vendor: "meta"})
	e.clk.Advance(10 * time.Minute)
	r := submit(t, e, retention.RequestErasure, "s1")
	res, err := e.m.ProcessRequest(ctx, r.ID)
	require.ErrorIs(t, err, retention.ErrIncomplete, "pending vendor deletions keep the request open")
	assert.Equal(t, retention.StatusInProgress, res.Request.Status)
	rc := res.Receipt
	assert.Equal(t, 2, rc.Deleted)
	assert.Equal(t, 2, rc.Pending)
	byID := map[string]retention.ErasureResult{}
	for _, l := range rc.Lines {
		byID[l.ItemID] = l
	}
	assert.Equal(t, retention.ResultDeleted, byID["f1"].Status)
	assert.Equal(t, retention.MethodDirect, byID["f1"].Method)
	assert.Equal(t, retention.MethodAPI, byID["ph"].Method)
	assert.Equal(t, retention.ResultPending, byID["oa"].Status, "the vendor deletes on its own, later")
	assert.Equal(t, t0.Add(30*day), byID["oa"].ExpectedBy)
	assert.Equal(t, retention.ResultPending, byID["mt"].Status, "a manual task is not done until confirmed")
	assert.Equal(t, "TICKET-7", byID["mt"].Task)
	assert.Contains(t, rc.Markdown(), "TICKET-7")

	// Processing again does not open a second task.
	_, err = e.m.ProcessRequest(ctx, r.ID)
	require.ErrorIs(t, err, retention.ErrIncomplete)
	assert.Equal(t, 1, tasks, "one task per item")

	require.NoError(t, e.m.ConfirmErasure(ctx, "f1", "employee:ops", "x"), "confirming a deleted item is a no-op")
	require.ErrorIs(t, e.m.ConfirmErasure(ctx, "nope", "employee:ops", "x"), retention.ErrNotFound)
	e.track(t, retention.Item{ID: "other", Category: retention.CategoryConversation, Subject: "s2", System: "chat"})
	require.ErrorIs(t, e.m.ConfirmErasure(ctx, "other", "employee:ops", "x"), retention.ErrInvalid, "nothing manual pending")
	require.ErrorIs(t, e.m.ConfirmErasure(ctx, "mt", "", "x"), retention.ErrInvalid, "who confirmed is required")
	require.NoError(t, e.m.ConfirmErasure(ctx, "mt", "employee:ops", "TICKET-7 closed"))
	e.clk.Set(t0.Add(30 * day))
	res, err = e.m.ProcessRequest(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, retention.StatusCompleted, res.Request.Status)
	assert.Equal(t, 4, res.Receipt.Deleted)
	for _, l := range res.Receipt.Lines {
		assert.Equal(t, retention.ResultDeleted, l.Status, l.ItemID)
	}
	for _, l := range res.Receipt.Lines {
		if l.ItemID == "oa" {
			assert.Equal(t, retention.MethodVendorAuto, l.Method, "evidence: the vendor's own deletion")
		}
	}
	assert.Equal(t, 1, posthogCalls)
	assert.False(t, res.Request.OverdueAt(e.clk.Now()), "completed on its due day (1 July): on time")
	assert.NotEmpty(t, e.aud.Events("retention.request.completed"))
}

// TestFailedVendorErasureContinuesElsewhere: a vendor API that fails is
// never reported as done; another instance over the same store completes
// the request later.
func TestFailedVendorErasureContinuesElsewhere(t *testing.T) {
	t.Parallel()
	store := retention.NewMemoryStore()
	a := newEnv(t, store, nil)
	ctx := context.Background()
	a.m.RegisterDeleter("posthog", retention.APIErasure(func(context.Context, retention.Item) error { return errBoom }))
	a.track(t, freeFile("f1"))
	a.track(t, retention.Item{ID: "ph", Category: retention.CategoryRequestLog, Subject: "s1", System: "posthog", Vendor: "posthog"})
	r := submit(t, a, retention.RequestErasure, "s1")
	res, err := a.m.ProcessRequest(ctx, r.ID)
	require.ErrorIs(t, err, retention.ErrIncomplete)
	assert.Equal(t, retention.StatusInProgress, res.Request.Status, "a failed vendor erasure is never reported as done")
	assert.Equal(t, 1, res.Receipt.Failed)
	assert.Equal(t, 1, res.Receipt.Deleted)

	b := newEnv(t, store, nil)
	b.clk.Set(a.clk.Now())
	b.m.RegisterDeleter("posthog", retention.APIErasure(func(context.Context, retention.Item) error { return nil }))
	res, err = b.m.ProcessRequest(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, retention.StatusCompleted, res.Request.Status, "completed on the second instance")
	assert.Equal(t, 2, res.Receipt.Deleted)
	assert.Equal(t, 1, a.del.Calls("f1"), "the first instance's deletion is not repeated")
}

func TestErasureHeldItemErasedAfterRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	ctx := context.Background()
	e.track(t, retention.Item{ID: "c1", Category: retention.CategoryConversation, Subject: "s1", System: "chat"})
	e.track(t, freeFile("f1"))
	h, err := e.m.PlaceHold(ctx, retention.Hold{Scope: retention.HoldItem, Target: "c1", Reason: "legal claim", PlacedBy: "employee:legal"})
	require.NoError(t, err)
	r := submit(t, e, retention.RequestErasure, "s1")
	res, err := e.m.ProcessRequest(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, retention.StatusPartiallyCompleted, res.Request.Status, "held items are exempt, and reported")
	assert.Equal(t, 1, res.Receipt.Held)
	assert.False(t, e.del.Deleted("c1"))
	assert.Contains(t, res.Receipt.Markdown(), "legal hold")
	e.clk.Advance(time.Hour)
	assert.Zero(t, e.sweep(t).Deleted, "still held")
	_, err = e.m.ReleaseHold(ctx, h.ID, "employee:legal", "done")
	require.NoError(t, err)
	assert.Equal(t, 1, e.sweep(t).Deleted, "erased by the sweeper once released, although conversations have no TTL")
	assert.True(t, e.del.Deleted("c1"))
}

func TestRequestRejections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("unknown subject", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, retention.NewMemoryStore(), nil)
		e.track(t, freeFile("f1"))
		r := submit(t, e, retention.RequestErasure, "nobody")
		res, err := e.m.ProcessRequest(ctx, r.ID)
		require.ErrorIs(t, err, retention.ErrUnknownSubject)
		assert.Equal(t, retention.StatusRejected, res.Request.Status)
		assert.Equal(t, "unknown subject: no data held", res.Request.RejectReason)
		assert.NotContains(t, err.Error(), "nobody", "errors carry no identifiers")
	})
	t.Run("identity not verified", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, retention.NewMemoryStore(), &retention.Options{Verifier: retention.VerifierFunc(func(_ context.Context, r retention.Request) error {
			return errors.New("mismatch for alice@example.com")
		})})
		e.track(t, freeFile("f1"))
		r := submit(t, e, retention.RequestErasure, "s1")
		res, err := e.m.ProcessRequest(ctx, r.ID)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "alice", "the verifier's message is not passed on")
		assert.Equal(t, retention.StatusRejected, res.Request.Status)
		assert.False(t, e.del.Deleted("f1"), "nothing erased for an unverified requester")
		assert.Len(t, e.aud.Events("retention.request.rejected"), 1)
	})
	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, retention.NewMemoryStore(), nil)
		for _, r := range []retention.Request{
			{Type: "rectify", Subject: "s", Law: retention.LawGDPR},
			{Type: retention.RequestAccess, Law: retention.LawGDPR},
			{Type: retention.RequestAccess, Subject: "s", Law: "pipeda"},
		} {
			_, err := e.m.SubmitRequest(ctx, r)
			assert.ErrorIs(t, err, retention.ErrInvalid, "%+v", r)
		}
		_, err := e.m.ProcessRequest(ctx, "missing")
		require.ErrorIs(t, err, retention.ErrNotFound)
		r := submit(t, e, retention.RequestAccess, "s1")
		_, err = e.m.SubmitRequest(ctx, *r)
		require.ErrorIs(t, err, retention.ErrExists)
	})
}

func TestExtendRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, retention.NewMemoryStore(), nil)
	ctx := context.Background()
	e.track(t, freeFile("f1"))
	r := submit(t, e, retention.RequestAccess, "s1")
	_, err := e.m.ExtendRequest(ctx, r.ID, "employee:dpo", "")
	require.ErrorIs(t, err, retention.ErrInvalid, "an extension needs a reason")
	e.clk.Set(time.Date(2025, 7, 1, 23, 0, 0, 0, time.UTC))
	x, err := e.m.ExtendRequest(ctx, r.ID, "employee:dpo", "complex request")
	require.NoError(t, err, "the last day of the first month still allows notice")
	require.NotNil(t, x.Extension)
	assert.Equal(t, time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC), x.EffectiveDue(), "three months from receipt")
	assert.Equal(t, "complex request", x.Extension.Reason)
	_, err = e.m.ExtendRequest(ctx, r.ID, "employee:dpo", "again")
	require.ErrorIs(t, err, retention.ErrRequestState, "one extension")

	r2 := submit(t, e, retention.RequestAccess, "s1")
	e.clk.Set(time.Date(2025, 8, 2, 0, 0, 0, 0, time.UTC))
	_, err = e.m.ExtendRequest(ctx, r2.ID, "employee:dpo", "late")
	require.ErrorIs(t, err, retention.ErrRequestState, "too late to extend")
}

// FuzzExportFileName: an exporter's file name ends up as a path in the zip
// bundle; whatever is accepted must be a clean relative path that cannot
// climb out of files/<system>/.
func FuzzExportFileName(f *testing.F) {
	for _, s := range []string{"a.txt", "dir/a.txt", "../x", "/abs", "a//b", "a/./b", "a\\b", "", ".", "..", "a/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		var accepted bool
		ex := retention.ExporterFunc(func(_ context.Context, _ string, w *retention.ExportWriter) error {
			accepted = w.File(name, strings.NewReader("x")) == nil
			return nil
		})
		m, err := retention.New(retention.NewMemoryStore(), &retention.Options{Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.RegisterExporter("sys", ex)
		ctx := context.Background()
		if _, err := m.Track(ctx, retention.Item{ID: "i", Category: retention.CategoryConversation, Subject: "s", System: "sys"}); err != nil {
			t.Fatal(err)
		}
		r, err := m.SubmitRequest(ctx, retention.Request{Type: retention.RequestAccess, Subject: "s", Law: retention.LawGDPR})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.ProcessRequest(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if !accepted {
			return
		}
		if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name {
			t.Fatalf("accepted unclean name %q", name)
		}
		for _, el := range strings.Split(name, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("accepted name %q with element %q", name, el)
			}
		}
	})
}
