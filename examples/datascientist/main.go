// Command datascientist is privkit's main example: an AI data-analysis
// service that keeps its privacy policy's promises, told step by step.
//
// It composes every privkit package on the embedded default, one SQLite file
// in a fresh data directory, and checks each promise as it goes: it exits
// with status 1 if any promise breaks.
//
//	go run ./examples/datascientist              # fresh temporary data directory, no network
//	go run ./examples/datascientist -data DIR    # keep the data directory
//
// With no provider key set, an in-process OpenAI-compatible server stands in
// for the LLM provider (with the OpenAI API's data-policy facts), so the
// example needs no network and no keys. With OPENAI_API_KEY or
// GEMINI_API_KEY set (Gemini: GEMINI_PAID=1 if the key's project is billed),
// it talks to the real provider.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/inferlabs/privkit"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/gemini"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

func main() {
	data := flag.String("data", "", "data directory to create and keep (default: a temporary one, removed at exit)")
	flag.Parse()
	log.SetFlags(0)

	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "privkit-datascientist-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	start := time.Now()
	err := run(context.Background(), dir, os.Stdout)
	fmt.Printf("(%.1fs)\n", time.Since(start).Seconds())
	if err != nil {
		fmt.Fprintln(os.Stderr, "datascientist:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, out io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fmt.Fprintf(out, "privkit example: an AI data-analysis service, in %s\n", dir)
	providers, fake, closeProviders := chooseProviders(out)
	defer closeProviders()

	db, err := privkit.OpenSQLite(ctx, filepath.Join(dir, "privkit.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	secrets, err := LoadSecrets(filepath.Join(dir, "secrets"))
	if err != nil {
		return err
	}
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	analytics := &Analytics{}
	svc, err := NewService(ctx, Config{
		Name: "node-a", DB: db, Dir: filepath.Join(dir, "node-a"), Secrets: secrets,
		Now: clk.Now, Providers: providers, Analytics: analytics,
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	fmt.Fprintln(out, "embedded default: one SQLite file (WAL, secure_delete), a KEK file protected by a passphrase (argon2id), simulated time")
	st := &Story{A: svc, B: svc, Clock: clk, Fake: fake, Analytics: analytics, Out: out}
	return st.Run(ctx)
}

// chooseProviders picks real providers when their keys are set, and
// otherwise starts the in-process stand-in.
func chooseProviders(out io.Writer) ([]llm.Provider, FakeProvider, func()) {
	if key := os.Getenv("OPENAI_API_KEY"); key != "" {
		fmt.Fprintln(out, "LLM provider: the OpenAI API (OPENAI_API_KEY is set)")
		return []llm.Provider{openai.New(key, nil)}, nil, func() {}
	}
	if key := os.Getenv("GEMINI_API_KEY"); key != "" {
		fmt.Fprintln(out, "LLM provider: the Gemini API (GEMINI_API_KEY is set)")
		return []llm.Provider{gemini.New(key, &gemini.Options{Paid: os.Getenv("GEMINI_PAID") == "1"})}, nil, func() {}
	}
	srv := openaifake.NewServer(nil)
	facts := openai.DefaultFacts()
	fmt.Fprintf(out, "LLM provider: no OPENAI_API_KEY or GEMINI_API_KEY set, so an in-process OpenAI-compatible server at %s stands in,\n"+
		"  with the OpenAI API's published data-policy facts (as of %s)\n", srv.URL, facts.AsOf.Format("2006-01-02"))
	p := openai.New("", &openai.Options{BaseURL: srv.URL, Facts: &facts})
	return []llm.Provider{p}, fakeServer{srv}, srv.Close
}

// fakeServer reports the last user message of each request the stand-in
// provider received.
type fakeServer struct{ s *openaifake.Server }

func (f fakeServer) Received() []string {
	var out []string
	for _, r := range f.s.Requests() {
		for i := len(r.Messages) - 1; i >= 0; i-- {
			if r.Messages[i].Role == "user" {
				out = append(out, r.Messages[i].Content)
				break
			}
		}
	}
	return out
}
