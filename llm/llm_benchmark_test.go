package llm_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/openai"
)

// BenchmarkChat compares one chat call through the full client (consent
// skipped, policy check, redaction, request encoding, response decoding and
// restoration, an audit event to memory) with a plain net/http POST of the
// same JSON to the same httptest server, which answers a fixed completion.
// The call is the second turn of a conversation whose newest message changes
// on every iteration.
func BenchmarkChat(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"I will write to [EMAIL_1] about the quarterly figures and copy the finance team."},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":18,"total_tokens":138}}`)
	}))
	defer srv.Close()
	// The second turn of a conversation: the history is resent, and the
	// newest question differs on every call (so it is redacted afresh,
	// while the history's redactions are remembered by the conversation).
	history := []llm.Message{
		{Role: llm.RoleSystem, Content: "You are a careful data analyst. Answer briefly."},
		{Role: llm.RoleUser, Content: "Here is the summary of the uploaded sales sheet: revenue grew 12% quarter on quarter, " +
			strings.Repeat("with the strongest growth in the north region and flat sales in the south, ", 4) +
			"Please draft a note to alice.smith@example.com explaining the figures."},
		{Role: llm.RoleAssistant, Content: "Here is a draft note to [EMAIL_1] summarising the quarter's figures by region."},
	}
	// The host keeps one message slice and sets the newest question in it
	// (the client does not keep the request).
	msgs := append(append([]llm.Message(nil), history...), llm.Message{Role: llm.RoleUser})
	question := func(i int) *llm.Request {
		msgs[len(msgs)-1].Content = "Thanks. Copy bob.jones@example.org and add the south region's numbers (request " + strconv.Itoa(i) + ")."
		return &llm.Request{Messages: msgs}
	}
	req := question(0)
	body, err := openai.EncodeRequest(req, openai.DefaultModel, false)
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer hc.CloseIdleConnections()

	b.Run("raw-http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hreq, err := http.NewRequest(http.MethodPost, srv.URL+"/chat/completions", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			hreq.Header.Set("Content-Type", "application/json")
			hreq.Header.Set("Authorization", "Bearer k")
			resp, err := hc.Do(hreq)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	})
	b.Run("client", func(b *testing.B) {
		p := openai.New("k", &openai.Options{BaseURL: srv.URL, HTTPClient: hc, Facts: trusted("openai")})
		rec := &discardAuditor{}
		c, err := llm.New([]llm.Provider{p}, &llm.Options{Auditor: rec, Requirements: llm.Requirements{NoTraining: true}})
		if err != nil {
			b.Fatal(err)
		}
		conv := c.Conversation("user:bench")
		defer conv.Close()
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			resp, err := conv.Chat(ctx, question(i))
			if err != nil {
				b.Fatal(err)
			}
			if !strings.Contains(resp.Text, "alice.smith@example.com") {
				b.Fatal("not restored")
			}
		}
		if rec.n == 0 {
			b.Fatal("no audit events")
		}
	})
}

// discardAuditor counts events in memory without keeping them, so a long
// benchmark does not grow.
type discardAuditor struct{ n int }

func (d *discardAuditor) Record(context.Context, audit.Event) error {
	d.n++
	return nil
}
