// Command gpcsite is a web site that honours Global Privacy Control on the
// server, with privkit's consent package: the GPC middleware records the
// signal as an opt-out, /.well-known/gpc.json says the site honours it, each
// page tells its tags (Google Consent Mode v2, PostHog) what the server
// decided, and the server-side analytics gate drops events of visitors who
// opted out — whatever the browser's tags do.
//
//	go run ./examples/gpcsite            # tells the story against an in-process server
//	go run ./examples/gpcsite -listen :8080   # serves the site; try curl -H 'Sec-GPC: 1' -H 'X-Visitor: v1' localhost:8080/
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/inferlabs/privkit/consent"
)

func main() {
	listen := flag.String("listen", "", "serve the site on this address instead of telling the story")
	flag.Parse()
	log.SetFlags(0)

	// A real site uses consent/consentsql and passes its *audit.Log as
	// the Auditor; the memory store keeps this example self-contained.
	var m *consent.Manager
	m, err := consent.New(consent.NewMemoryStore(), &consent.Options{
		// Whose request is it, and from where? A real site reads its
		// session cookie and a geo-IP lookup; here, two headers.
		SubjectFromRequest: func(r *http.Request) (string, string, bool) {
			v := r.Header.Get("X-Visitor")
			return v, r.Header.Get("X-Region"), v != ""
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	var delivered atomic.Int64
	posthog := consent.SenderFunc(func(ctx context.Context, c consent.Capture) error {
		delivered.Add(1) // a real site calls its PostHog client here
		return nil
	})
	gate, err := m.Gate(consent.Analytics, posthog)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle(consent.WellKnownPath, consent.WellKnownHandler(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		visitor := r.Header.Get("X-Visitor")
		// Server-side analytics: the gate drops the event if the visitor
		// may not be tracked (GPC, a refusal, an opt-in region).
		_ = gate.Capture(r.Context(), consent.Capture{DistinctID: visitor, Event: "$pageview"})
		// The page's tags get the server's answer, never their own guess.
		state, err := m.BrowserState(r.Context(), visitor)
		if err != nil {
			http.Error(w, "consent unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(state)
	})
	site := m.Middleware(mux)

	if *listen != "" {
		log.Printf("serving on %s", *listen)
		log.Fatal(http.ListenAndServe(*listen, site))
	}

	srv := httptest.NewServer(site)
	defer srv.Close()
	get := func(path string, headers ...string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	fmt.Printf("GET %s\n  %s", consent.WellKnownPath, get(consent.WellKnownPath))
	fmt.Printf("\nvisitor v1 from California, no GPC:\n  %s", get("/", "X-Visitor", "v1", "X-Region", "US-CA"))
	fmt.Printf("  analytics events delivered so far: %d\n", delivered.Load())
	fmt.Printf("\nvisitor v1 again, now with Sec-GPC: 1:\n  %s", get("/", "X-Visitor", "v1", "X-Region", "US-CA", "Sec-GPC", "1"))
	fmt.Printf("  analytics events delivered so far: %d (the GPC page view was dropped)\n", delivered.Load())
	fmt.Printf("\nvisitor v1 later, from a browser without GPC:\n  %s", get("/", "X-Visitor", "v1", "X-Region", "US-CA"))
	fmt.Printf("  analytics events delivered so far: %d (the recorded opt-out holds)\n", delivered.Load())
	fmt.Printf("\nvisitor v2 from Germany (opt-in), no decision yet:\n  %s", get("/", "X-Visitor", "v2", "X-Region", "DE"))
	fmt.Printf("  analytics events delivered so far: %d (no consent, no tracking)\n", delivered.Load())

	proof, err := m.Export(context.Background(), "v1")
	if err != nil {
		log.Fatal(err)
	}
	b, _ := json.MarshalIndent(proof, "  ", "  ")
	fmt.Printf("\nv1's proof of consent:\n  %s\n", b)
}
