package llm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/gemini"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

// A chat whose personal data never reaches the provider: the fake
// OpenAI-compatible server echoes what it received, and the answer comes back
// with the address restored.
func Example_redactedChat() {
	fake := openaifake.NewServer(nil) // in-process stand-in for the OpenAI API
	defer fake.Close()

	client, err := llm.New([]llm.Provider{
		openai.New("not-a-real-key", &openai.Options{BaseURL: fake.URL}),
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	conv := client.Conversation("user:u_3f9c")
	defer conv.Close() // wipes the placeholders' values

	resp, err := conv.Chat(context.Background(), &llm.Request{
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Draft a reply to jane.doe@example.org"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("provider saw:", fake.Requests()[0].Messages[0].Content)
	fmt.Println("caller got:  ", resp.Text)
	// Output:
	// provider saw: Draft a reply to [EMAIL_1]
	// caller got:   You said: Draft a reply to jane.doe@example.org
}

// A request that demands no training is refused before any byte leaves when
// the only provider is the Gemini API's free tier.
func Example_policyRefusal() {
	client, err := llm.New([]llm.Provider{
		gemini.New("not-a-real-key", nil), // free tier: Google may train on the content
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Conversation("user:u_3f9c").Chat(context.Background(), &llm.Request{
		Messages:     []llm.Message{{Role: llm.RoleUser, Content: "Summarise my file"}},
		Requirements: llm.Requirements{NoTraining: true, MaxRetentionDays: 30},
	})
	var pe *llm.PolicyError
	if errors.As(err, &pe) {
		for _, r := range pe.Refusals {
			fmt.Println(r.Provider + ":")
			for _, u := range r.Unmet {
				fmt.Println("  " + u)
			}
		}
	}
	fmt.Println(errors.Is(err, llm.ErrPolicy))
	// Output:
	// gemini:
	//   no training: provider trains on data: yes
	//   max retention 30 days: provider retention unknown
	// true
}

// A streamed answer: the fake sends the reply three bytes at a time, so the
// placeholder arrives split across chunks, and the caller still sees the
// number whole.
func Example_stream() {
	fake := openaifake.NewServer(&openaifake.Options{ChunkSize: 3})
	defer fake.Close()
	client, err := llm.New([]llm.Provider{openai.New("", &openai.Options{BaseURL: fake.URL})}, nil)
	if err != nil {
		log.Fatal(err)
	}
	conv := client.Conversation("user:u_3f9c")
	defer conv.Close()

	var answer strings.Builder
	for chunk, err := range conv.Stream(context.Background(), &llm.Request{
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Call me on +44 20 7946 0958"}},
	}) {
		if err != nil {
			log.Fatal(err)
		}
		answer.WriteString(chunk.Text)
	}
	fmt.Println("provider saw:", fake.Requests()[0].Messages[0].Content)
	fmt.Println("caller got:  ", answer.String())
	// Output:
	// provider saw: Call me on [PHONE_1]
	// caller got:   You said: Call me on +44 20 7946 0958
}

// Consent is asked before any call, and every call — allowed or refused —
// leaves one audit event without content. Hosts pass *consent.Manager and
// *audit.Log; small functions stand in for them here.
func Example_consentAndAudit() {
	fake := openaifake.NewServer(nil)
	defer fake.Close()
	optedOut := map[string]bool{"user:u_7": true}
	client, err := llm.New([]llm.Provider{openai.New("", &openai.Options{BaseURL: fake.URL})}, &llm.Options{
		Consent: llm.ConsentFunc(func(_ context.Context, subject, purpose string) (bool, error) {
			return !optedOut[subject], nil
		}),
		Auditor: llm.AuditorFunc(func(_ context.Context, e audit.Event) error {
			attrs := map[string]string{}
			for _, a := range e.Attrs {
				attrs[a.Key] = a.Value()
			}
			fmt.Println(e.Action, e.Subject, e.Outcome, "consent="+attrs["consent"], "emails="+attrs["redactions.EMAIL"], "error="+attrs["error"])
			return nil
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Reply to sam@example.net"}}}
	if _, err := client.Conversation("user:u_3").Chat(context.Background(), req); err != nil {
		log.Fatal(err)
	}
	_, err = client.Conversation("user:u_7").Chat(context.Background(), req)
	fmt.Println(errors.Is(err, llm.ErrConsent), len(fake.Requests()), "request(s) reached the provider")
	// Output:
	// llm.chat user:u_3 success consent=allowed emails=1 error=
	// llm.chat user:u_7 denied consent=denied emails= error=consent
	// true 1 request(s) reached the provider
}
