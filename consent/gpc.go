package consent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// HeaderGPC is the Global Privacy Control request header.
const HeaderGPC = "Sec-GPC"

// WellKnownPath is where a site states its GPC support.
const WellKnownPath = "/.well-known/gpc.json"

// ParseGPC reports whether one Sec-GPC field value expresses a Do-Not-Sell-
// or-Share preference: only the exact value "1" does (optional whitespace
// around it is not part of the value). Anything else is ignored as if the
// header were absent.
func ParseGPC(value string) bool {
	return strings.Trim(value, " \t") == "1"
}

// GPC reports whether the request headers carry a GPC signal. With several
// Sec-GPC fields, one "1" is enough.
func GPC(h http.Header) bool {
	for _, v := range h.Values(HeaderGPC) {
		if ParseGPC(v) {
			return true
		}
	}
	return false
}

// GPCResult is what [Manager.Middleware] learnt about a request. Read it
// with [FromContext].
type GPCResult struct {
	// GPC reports whether the request carried Sec-GPC: 1.
	GPC bool
	// Subject and Region are from [Options].SubjectFromRequest (Region
	// normalised); Subject is "" for anonymous requests.
	Subject string
	Region  string
	// Honoured reports whether the region's regime honours GPC.
	Honoured bool
	// OptedOut lists the GPC purposes the signal opts the subject out of.
	OptedOut []string
	// Conflicts lists the purposes where the signal overrode an earlier
	// explicit opt-in. The opt-out wins; the host may ask the subject to
	// confirm the opt-in, recorded with [MethodConfirm].
	Conflicts []string
}

type ctxKey struct{}

// WithGPC returns ctx carrying r, as [Manager.Middleware] does. Checks for
// r.Subject in that context apply r.GPC and r.Region. Hosts use it when the
// signal reaches them another way (a GPP string, see [ParseGPP]) or in
// tests. r is not modified; a region that is not normalised is normalised in
// a copy.
func WithGPC(ctx context.Context, r *GPCResult) context.Context {
	if r != nil && r.Region != "" && NormalizeRegion(r.Region) != r.Region {
		c := *r
		c.Region = NormalizeRegion(r.Region)
		r = &c
	}
	return context.WithValue(ctx, ctxKey{}, r)
}

// FromContext returns the GPC result [Manager.Middleware] put in ctx.
func FromContext(ctx context.Context) (*GPCResult, bool) {
	r, ok := ctx.Value(ctxKey{}).(*GPCResult)
	return r, ok && r != nil
}

// signalFor returns the context's GPC result if it is about subject.
func signalFor(ctx context.Context, subject string) *GPCResult {
	if ctx == nil {
		return nil
	}
	r, _ := ctx.Value(ctxKey{}).(*GPCResult)
	if r == nil || r.Subject != subject {
		return nil
	}
	return r
}

// Middleware applies Global Privacy Control to each request. It reads
// Sec-GPC ([GPC]) and the subject and region ([Options].SubjectFromRequest)
// and puts a [GPCResult] in the request context, so that checks during the
// request apply the signal at once. For a known subject in a region that
// honours GPC it also records, once, a denial with [MethodGPC] for every
// GPC purpose not already refused or confirmed, so the opt-out outlives the
// request and is part of the proof of consent. A failed recording is
// logged; the request still proceeds with the signal applied.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := &GPCResult{GPC: GPC(r.Header)}
		w.Header().Add("Vary", HeaderGPC)
		if m.subjFn != nil {
			if subject, region, ok := m.subjFn(r); ok && validSubject(subject) == nil {
				res.Subject, res.Region = subject, NormalizeRegion(region)
			}
		}
		res.Honoured = m.reg.lookup(res.Region).gpc
		if res.GPC && res.Subject != "" && res.Honoured {
			m.applyGPC(r, res)
		}
		next.ServeHTTP(w, r.WithContext(WithGPC(r.Context(), res)))
	})
}

func (m *Manager) applyGPC(r *http.Request, res *GPCResult) {
	ctx := r.Context()
	j := m.reg.lookup(res.Region)
	for i, p := range m.reg.purposes {
		if !p.GPC || j.mech[i] == NoticeOnly {
			continue
		}
		cur, err := m.Check(ctx, res.Subject, p.Key) // without the signal
		if err != nil {
			m.log.LogAttrs(ctx, slog.LevelWarn, "consent: gpc: check failed", slog.String("purpose", p.Key), slogErr(err))
			res.OptedOut = append(res.OptedOut, p.Key)
			continue
		}
		rec := cur.Record()
		switch {
		case rec.Seq != 0 && rec.Granted && rec.Method == MethodConfirm && cur.Reason == ReasonGranted:
			continue // the subject confirmed the opt-in despite GPC
		case cur.Reason == ReasonConflict:
			res.Conflicts = append(res.Conflicts, p.Key)
		case rec.Seq != 0 && !rec.Granted:
			// already refused
		default:
			d := Decision{Subject: res.Subject, Purpose: p.Key, Method: MethodGPC, Region: res.Region, IP: r.RemoteAddr}
			if _, err := m.Record(ctx, d); err != nil {
				if _, err2 := TruncateIP(d.IP); err2 != nil {
					d.IP = ""
					_, err = m.Record(ctx, d)
				}
				if err != nil {
					m.log.LogAttrs(ctx, slog.LevelWarn, "consent: gpc: record failed", slog.String("purpose", p.Key), slogErr(err))
				}
			}
			if rec.Seq != 0 && rec.Granted && cur.Reason == ReasonGranted {
				res.Conflicts = append(res.Conflicts, p.Key)
			}
		}
		res.OptedOut = append(res.OptedOut, p.Key)
	}
}

// WellKnown is a site's /.well-known/gpc.json resource.
type WellKnown struct {
	// GPC reports whether the site honours GPC signals.
	GPC bool
	// LastUpdate is when the statement was last updated; zero if absent or
	// not an RFC 3339 full-date or date-time.
	LastUpdate time.Time
}

// ErrWellKnown reports a gpc.json resource from which support cannot be
// known: not a JSON object, or "gpc" missing or not a boolean.
var ErrWellKnown = errors.New("consent: gpc.json: support unknown")

// ParseWellKnown parses a /.well-known/gpc.json body. A "lastUpdate" that is
// not an RFC 3339 date is ignored (zero); support itself must be a boolean.
func ParseWellKnown(data []byte) (WellKnown, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return WellKnown{}, ErrWellKnown
	}
	g, ok := raw["gpc"]
	var w WellKnown
	switch {
	case !ok:
		return WellKnown{}, ErrWellKnown
	case bytes.Equal(g, []byte("true")):
		w.GPC = true
	case bytes.Equal(g, []byte("false")):
	default:
		return WellKnown{}, ErrWellKnown
	}
	var lu string
	if err := json.Unmarshal(raw["lastUpdate"], &lu); err == nil {
		if t, err := time.Parse(time.DateOnly, lu); err == nil {
			w.LastUpdate = t
		} else if t, err := time.Parse(time.RFC3339, lu); err == nil {
			w.LastUpdate = t
		}
	}
	return w, nil
}

// WellKnownHandler serves /.well-known/gpc.json stating that the site
// honours GPC, updated on lastUpdate (omitted when zero). Mount it at
// [WellKnownPath].
func WellKnownHandler(lastUpdate time.Time) http.Handler {
	body := []byte(`{"gpc":true}`)
	if !lastUpdate.IsZero() {
		body = []byte(`{"gpc":true,"lastUpdate":"` + lastUpdate.UTC().Format(time.DateOnly) + `"}`)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=86400")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}
