package consent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/consent"
)

type gpcVectors struct {
	HTTPHeaderCases []struct {
		ID        string      `json:"id"`
		Headers   [][2]string `json:"headers"`
		ExpectGPC bool        `json:"expect_gpc"`
		Rule      string      `json:"rule"`
	} `json:"http_header_cases"`
	WellKnownCases []struct {
		ID               string          `json:"id"`
		Body             json.RawMessage `json:"body"`
		ExpectSupport    any             `json:"expect_support"`
		ExpectLastUpdate string          `json:"expect_lastUpdate"`
	} `json:"well_known_gpc_json_cases"`
}

func loadVectors(t *testing.T) gpcVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/gpc_vectors.json")
	require.NoError(t, err)
	var v gpcVectors
	require.NoError(t, json.Unmarshal(data, &v))
	require.NotEmpty(t, v.HTTPHeaderCases, "vectors loaded")
	require.NotEmpty(t, v.WellKnownCases, "vectors loaded")
	return v
}

// TestGPCHeaderVectors checks every header case of the shared vectors two
// ways: headers added to an http.Header, and a raw request parsed by
// net/http (which trims optional whitespace and canonicalises names).
func TestGPCHeaderVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range loadVectors(t).HTTPHeaderCases {
		t.Run(tc.ID, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			raw := "GET / HTTP/1.1\r\nHost: example.com\r\n"
			for _, kv := range tc.Headers {
				h.Add(kv[0], kv[1])
				raw += kv[0] + ": " + kv[1] + "\r\n"
			}
			assert.Equal(t, tc.ExpectGPC, consent.GPC(h), tc.Rule)
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
			require.NoError(t, err)
			assert.Equal(t, tc.ExpectGPC, consent.GPC(req.Header), "parsed request: "+tc.Rule)
		})
	}
}

func TestWellKnownVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range loadVectors(t).WellKnownCases {
		t.Run(tc.ID, func(t *testing.T) {
			t.Parallel()
			w, err := consent.ParseWellKnown(tc.Body)
			switch tc.ExpectSupport {
			case "unknown":
				require.ErrorIs(t, err, consent.ErrWellKnown, "support cannot be known")
				return
			case true, false:
				require.NoError(t, err)
				assert.Equal(t, tc.ExpectSupport, w.GPC)
			default:
				t.Fatalf("unexpected expect_support %v", tc.ExpectSupport)
			}
			if tc.ExpectLastUpdate == "unknown" {
				assert.True(t, w.LastUpdate.IsZero(), "a malformed lastUpdate is unknown")
			} else {
				assert.False(t, w.LastUpdate.IsZero(), "an RFC 3339 full-date parses")
			}
		})
	}
}

func TestWellKnownHandler(t *testing.T) {
	t.Parallel()
	h := consent.WellKnownHandler(time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, consent.WellKnownPath, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), "the spec asks for JSON")
	w, err := consent.ParseWellKnown(rec.Body.Bytes())
	require.NoError(t, err)
	assert.True(t, w.GPC)
	assert.Equal(t, "2026-02-03", w.LastUpdate.Format(time.DateOnly))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, consent.WellKnownPath, nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)

	rec = httptest.NewRecorder()
	consent.WellKnownHandler(time.Time{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, consent.WellKnownPath, nil))
	assert.JSONEq(t, `{"gpc":true}`, rec.Body.String(), "no lastUpdate when none is given")
}

// subjectHeader reads the subject and region from test headers.
func subjectHeader(r *http.Request) (string, string, bool) {
	s := r.Header.Get("X-Subject")
	return s, r.Header.Get("X-Region"), s != ""
}

func gpcRequest(subject, region string, gpc bool) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if subject != "" {
		r.Header.Set("X-Subject", subject)
	}
	r.Header.Set("X-Region", region)
	if gpc {
		r.Header.Set("Sec-GPC", "1")
	}
	return r
}

func TestMiddlewareGPC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := consent.NewMemoryStore()
	m, _ := newManager(t, store, &consent.Options{SubjectFromRequest: subjectHeader})

	type seen struct {
		res       *consent.GPCResult
		analytics consent.Result
		improve   consent.Result
	}
	var last seen
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := consent.FromContext(r.Context())
		require.True(t, ok, "the middleware puts its result in the context")
		last.res = res
		if res.Subject != "" {
			var err error
			last.analytics, err = m.Check(r.Context(), res.Subject, consent.Analytics)
			require.NoError(t, err)
			last.improve, err = m.Check(r.Context(), res.Subject, consent.ProductImprovement)
			require.NoError(t, err)
		}
	}))
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	// A US subject (opt-out) sends GPC: opted out of GPC purposes only.
	rec := serve(gpcRequest("us1", "US", true))
	assert.Contains(t, rec.Header().Values("Vary"), "Sec-GPC", "responses vary by the signal")
	assert.True(t, last.res.GPC)
	assert.Equal(t, "US", last.res.Region)
	assert.ElementsMatch(t, []string{consent.Analytics, consent.Advertising}, last.res.OptedOut)
	assert.Empty(t, last.res.Conflicts)
	assert.False(t, last.analytics.Allowed, "GPC opts out of analytics")
	assert.Equal(t, consent.ReasonGPC, last.analytics.Reason)
	assert.True(t, last.improve.Allowed, "product_improvement is not a GPC purpose")
	h1, err := store.History(ctx, "us1")
	require.NoError(t, err)
	require.Len(t, h1, 2, "the opt-out is recorded once per GPC purpose")
	for _, d := range h1 {
		assert.Equal(t, consent.MethodGPC, d.Method)
		assert.False(t, d.Granted)
		assert.Equal(t, "192.0.2.0", d.IP, "RemoteAddr, truncated")
	}
	ok, err := m.Allowed(ctx, "us1", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, ok, "the recorded opt-out outlives the request")

	serve(gpcRequest("us1", "US", true))
	h2, err := store.History(ctx, "us1")
	require.NoError(t, err)
	assert.Len(t, h2, 2, "a repeated signal records nothing new")

	// Without the header nothing changes and the context says so.
	serve(gpcRequest("us2", "US", false))
	assert.False(t, last.res.GPC)
	assert.True(t, last.analytics.Allowed, "no signal: US default opt-out allows")
	h3, err := store.History(ctx, "us2")
	require.NoError(t, err)
	assert.Empty(t, h3)

	// Anonymous: signal in context, nothing recorded.
	serve(gpcRequest("", "US", true))
	assert.True(t, last.res.GPC)
	assert.Empty(t, last.res.Subject)
	assert.Empty(t, last.res.OptedOut)
}

func TestMiddlewareConflictAndConfirm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := consent.NewMemoryStore()
	m, fake := newManager(t, store, &consent.Options{SubjectFromRequest: subjectHeader})
	var res *consent.GPCResult
	var check consent.Result
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ = consent.FromContext(r.Context())
		var err error
		check, err = m.Check(r.Context(), res.Subject, consent.Analytics)
		require.NoError(t, err)
	}))
	_, err := m.Grant(ctx, "c1", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "DE"})
	require.NoError(t, err)
	fake.Advance(time.Minute)

	h.ServeHTTP(httptest.NewRecorder(), gpcRequest("c1", "DE", true))
	assert.Equal(t, []string{consent.Analytics}, res.Conflicts, "GPC overrode an explicit opt-in")
	assert.False(t, check.Allowed, "the opt-out wins")
	assert.Equal(t, consent.ReasonConflict, check.Reason)
	r, err := m.Check(ctx, "c1", consent.Analytics)
	require.NoError(t, err)
	assert.False(t, r.Allowed, "outside the request too")
	assert.Equal(t, consent.ReasonConflict, r.Reason, "the stored state remembers the conflict")
	assert.Equal(t, consent.MethodGPC, r.Record().Method)

	h.ServeHTTP(httptest.NewRecorder(), gpcRequest("c1", "DE", true))
	assert.Equal(t, []string{consent.Analytics}, res.Conflicts, "still a conflict until confirmed")

	// The subject confirms: its own decision, method confirm.
	fake.Advance(time.Minute)
	d, err := m.Grant(ctx, "c1", consent.Analytics, consent.Meta{Method: consent.MethodConfirm})
	require.NoError(t, err)
	h.ServeHTTP(httptest.NewRecorder(), gpcRequest("c1", "DE", true))
	assert.Empty(t, res.Conflicts)
	assert.NotContains(t, res.OptedOut, consent.Analytics, "a confirmed opt-in stands against GPC")
	assert.True(t, check.Allowed)
	assert.Equal(t, d.Seq, check.Record().Seq, "the confirmation is the record behind the answer")
	hist, err := store.History(ctx, "c1")
	require.NoError(t, err)
	methods := []consent.Method{}
	for _, d := range hist {
		if d.Purpose == consent.Analytics {
			methods = append(methods, d.Method)
		}
	}
	assert.Equal(t, []consent.Method{consent.MethodAccept, consent.MethodGPC, consent.MethodConfirm}, methods, "the whole story is in the history")
}

func TestCheckAppliesContextSignalOnlyToItsSubject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), nil)
	_, err := m.Grant(ctx, "me", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "US"})
	require.NoError(t, err)
	_, err = m.Grant(ctx, "other", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "US"})
	require.NoError(t, err)
	gctx := consent.WithGPC(ctx, &consent.GPCResult{GPC: true, Subject: "me", Region: "US"})
	r, err := m.Check(gctx, "me", consent.Analytics)
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonConflict, r.Reason, "the request's signal conflicts with the stored opt-in")
	ok, err := m.Allowed(gctx, "other", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, ok, "another subject's check in the same request is unaffected")
}

func FuzzParseGPC(f *testing.F) {
	for _, s := range []string{"1", "0", " 1 ", "1, foo", "", "\t1", "true", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := consent.ParseGPC(v)
		assert.Equal(t, strings.Trim(v, " \t") == "1", got, "only an exact 1 counts")
		raw := "GET / HTTP/1.1\r\nHost: x\r\nSec-GPC: " + v + "\r\n\r\n"
		if req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw))); err == nil {
			_ = consent.GPC(req.Header) // must not panic on whatever net/http accepts
		}
	})
}

func FuzzParseWellKnown(f *testing.F) {
	for _, s := range []string{`{"gpc":true,"lastUpdate":"2021-05-13"}`, `{"gpc":false}`, `[true]`, `{"gpc":"true"}`, `null`, `{`, `{"gpc":true,"lastUpdate":5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := consent.ParseWellKnown(data)
		if err != nil {
			assert.Equal(t, consent.WellKnown{}, w, "no partial result with an error")
		}
	})
}

func FuzzTruncateIP(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "[::1]:80", "2001:db8::1", "fe80::1%eth0", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := consent.TruncateIP(s)
		if err != nil || out == "" {
			return
		}
		again, err := consent.TruncateIP(out)
		require.NoError(t, err, "a truncated address parses")
		assert.Equal(t, out, again, "truncation is idempotent")
	})
}

func FuzzNormalizeRegion(f *testing.F) {
	for _, s := range []string{"us_ca", "DE", " fr ", "D E", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := consent.NormalizeRegion(s)
		assert.Equal(t, n, consent.NormalizeRegion(n), "normalising is idempotent")
		assert.LessOrEqual(t, len(n), 16)
	})
}

func TestWithGPCNormalisesRegion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t, consent.NewMemoryStore(), nil)
	in := &consent.GPCResult{Subject: "w", Region: "us_ca"}
	r, err := m.Check(consent.WithGPC(ctx, in), "w", consent.Analytics)
	require.NoError(t, err)
	assert.True(t, r.Allowed, "us_ca is US-CA, an opt-out region")
	assert.Equal(t, "US", r.Region, "US-CA falls back to the US regime")
	assert.Equal(t, "us_ca", in.Region, "the caller's value is not modified")
}

func TestMiddlewareStoreFailureStillAppliesSignal(t *testing.T) {
	t.Parallel()
	fs := &failingStore{MemoryStore: consent.NewMemoryStore(), fail: true}
	m, _ := newManager(t, fs, &consent.Options{SubjectFromRequest: subjectHeader})
	called := false
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		res, ok := consent.FromContext(r.Context())
		require.True(t, ok)
		assert.True(t, res.GPC)
		assert.ElementsMatch(t, []string{consent.Analytics, consent.Advertising}, res.OptedOut, "opted out even if nothing could be recorded")
		ok, err := m.Allowed(r.Context(), "sf", consent.Analytics)
		assert.Error(t, err, "the store is down")
		assert.False(t, ok, "fails closed")
	}))
	h.ServeHTTP(httptest.NewRecorder(), gpcRequest("sf", "US", true))
	assert.True(t, called, "the request proceeds")
}
