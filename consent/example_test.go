package consent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/inferlabs/privkit/consent"
)

// Record a decision and check it. Hosts use consent/consentsql instead of
// the memory store, and pass an *audit.Log as Options.Auditor.
func Example() {
	ctx := context.Background()
	m, err := consent.New(consent.NewMemoryStore(), &consent.Options{
		Notices: []consent.Notice{
			{Purpose: consent.Analytics, Version: 1, Language: "en", Text: "We measure how the product is used."},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// A visitor from Germany (opt-in) has not decided yet.
	r, err := m.Check(ctx, "u_3f9c", consent.Analytics)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Allowed, r.Reason)

	// They accept the analytics notice, version 1, in the banner.
	_, err = m.Grant(ctx, "u_3f9c", consent.Analytics, consent.Meta{
		Method: consent.MethodAccept, NoticeVersion: 1, Language: "en", Region: "DE", IP: "203.0.113.77",
	})
	if err != nil {
		log.Fatal(err)
	}
	r, err = m.Check(ctx, "u_3f9c", consent.Analytics)
	if err != nil {
		log.Fatal(err)
	}
	rec := r.Record()
	fmt.Println(r.Allowed, r.Reason, rec.Method, rec.NoticeVersion, rec.IP)

	// Withdrawing is one call too, and takes effect at once.
	if _, err := m.Withdraw(ctx, "u_3f9c", consent.Analytics, consent.Meta{Method: consent.MethodSettings}); err != nil {
		log.Fatal(err)
	}
	ok, err := m.Allowed(ctx, "u_3f9c", consent.Analytics)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ok)
	// Output:
	// false no-consent
	// true granted accept 1 203.0.113.0
	// false
}

// Apply Global Privacy Control to every request. SubjectFromRequest would
// normally read the session; here it reads test headers.
func ExampleManager_Middleware() {
	m, err := consent.New(consent.NewMemoryStore(), &consent.Options{
		SubjectFromRequest: func(r *http.Request) (subject, region string, ok bool) {
			s := r.Header.Get("X-Demo-Subject") // demo only: trust your session, not a header
			return s, r.Header.Get("X-Demo-Region"), s != ""
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.Handle(consent.WellKnownPath, consent.WellKnownHandler(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		g, _ := consent.FromContext(r.Context())
		ok, err := m.Allowed(r.Context(), g.Subject, consent.Advertising)
		if err != nil {
			http.Error(w, "consent check failed", http.StatusInternalServerError)
			return
		}
		fmt.Println("gpc:", g.GPC, "opted out:", g.OptedOut, "advertising allowed:", ok)
	})
	h := m.Middleware(mux)

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Demo-Subject", "u_77")
	req.Header.Set("X-Demo-Region", "US-CA")
	req.Header.Set("Sec-GPC", "1")
	h.ServeHTTP(httptest.NewRecorder(), req)

	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Demo-Subject", "u_78")
	req.Header.Set("X-Demo-Region", "US-CA")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// gpc: true opted out: [analytics advertising] advertising allowed: false
	// gpc: false opted out: [] advertising allowed: true
}

// Put a Gate in front of the analytics client: events of subjects who do
// not allow analytics never leave the process.
func ExampleManager_Gate() {
	ctx := context.Background()
	m, err := consent.New(consent.NewMemoryStore(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// In production: wrap posthog.Client.Enqueue in a SenderFunc.
	send := consent.SenderFunc(func(_ context.Context, c consent.Capture) error {
		fmt.Println("sent", c.Event, "for", c.DistinctID)
		return nil
	})
	gate, err := m.Gate(consent.Analytics, send)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Grant(ctx, "u_1", consent.Analytics, consent.Meta{Method: consent.MethodAccept, Region: "FR"}); err != nil {
		log.Fatal(err)
	}
	if _, err := m.Withdraw(ctx, "u_2", consent.Analytics, consent.Meta{Method: consent.MethodReject, Region: "FR"}); err != nil {
		log.Fatal(err)
	}
	for _, id := range []string{"u_1", "u_2", "u_3"} {
		if err := gate.Capture(ctx, consent.Capture{DistinctID: id, Event: "file_uploaded"}); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("dropped:", gate.Dropped())
	// Output:
	// sent file_uploaded for u_1
	// dropped: 2
}

// Configure the page's tags from the server's answer: Google Consent Mode v2
// and PostHog.
func ExampleManager_BrowserState() {
	ctx := context.Background()
	m, err := consent.New(consent.NewMemoryStore(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Grant(ctx, "u_1", consent.Analytics, consent.Meta{Method: consent.MethodSettings, Region: "NL"}); err != nil {
		log.Fatal(err)
	}
	bs, err := m.BrowserState(ctx, "u_1")
	if err != nil {
		log.Fatal(err)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(bs.ConsentMode); err != nil {
		log.Fatal(err)
	}
	if err := enc.Encode(bs.PostHog); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {"ad_storage":"denied","analytics_storage":"granted","ad_user_data":"denied","ad_personalization":"denied"}
	// {"opt_out_capturing_by_default":false}
}
