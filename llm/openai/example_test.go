package openai_test

import (
	"context"
	"fmt"
	"log"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

// An OpenAI-compatible server at another base URL. Its data policy is
// unknown to privkit, so the host states the facts it can attest.
func ExampleNew() {
	fake := openaifake.NewServer(nil) // stands in for vLLM, Ollama, a gateway…
	defer fake.Close()
	facts := fake.Facts()
	p := openai.New("", &openai.Options{BaseURL: fake.URL, Name: "local", Model: "llama-3.1-8b", Facts: &facts})

	resp, err := p.Chat(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "ping"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text)
	fmt.Println("model asked for:", fake.Requests()[0].Model)
	fmt.Println("store:", *fake.Requests()[0].Store)
	// Output:
	// You said: ping
	// model asked for: llama-3.1-8b
	// store: false
}

// The shipped facts of the OpenAI API against common requirements.
func ExampleDefaultFacts() {
	f := openai.DefaultFacts()
	fmt.Println(f.Provider, "as of", f.AsOf.Format("2006-01-02"))
	fmt.Println(llm.Requirements{NoTraining: true, MaxRetentionDays: 30}.Unmet(f))
	fmt.Println(llm.Requirements{ZeroDataRetention: true}.Unmet(f))
	// Output:
	// OpenAI API as of 2026-11-28
	// []
	// [zero data retention: provider zdr: unknown]
}
