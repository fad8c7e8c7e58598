package llm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/llmtest"
)

func decodeAny(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// FuzzToolArgumentsRoundTrip: tool-call arguments are redacted on the way
// out (the provider sees valid JSON without the e-mail address) and the
// provider's echo of them is restored to JSON equal to the original.
func FuzzToolArgumentsRoundTrip(f *testing.F) {
	f.Add(`{"to":"alice.smith@example.com","n":1.50,"tags":["a","bob@example.org"]}`)
	f.Add(`{"s":"\u003c[EMAIL_1]\u003e","x":null,"y":true}`)
	f.Add(`["x@example.com", {"k": "+44 20 7946 0958"}]`)
	f.Add(`{"a":"é\"\\\n"}`)
	f.Add(`not json alice.smith@example.com`)
	f.Fuzz(func(t *testing.T, args string) {
		var seen *llm.Request
		p := &llmtest.Provider{ProviderName: "p", Reply: func(req *llm.Request) (*llm.Response, error) {
			seen = req
			tc := req.Messages[0].ToolCalls[0]
			return &llm.Response{ToolCalls: []llm.ToolCall{tc}, FinishReason: llm.FinishToolCalls}, nil
		}}
		c, err := llm.New([]llm.Provider{p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		conv := c.Conversation("s")
		defer conv.Close()
		resp, err := conv.Chat(context.Background(), &llm.Request{Messages: []llm.Message{
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "1", Name: "f", Arguments: json.RawMessage(args)}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		sent := seen.Messages[0].ToolCalls[0].Arguments
		orig, valid := decodeAny([]byte(args))
		if !valid {
			if got := string(resp.ToolCalls[0].Arguments); got != args {
				t.Fatalf("non-JSON arguments did not round-trip: %q -> %q -> %q", args, sent, got)
			}
			return
		}
		if !json.Valid(sent) {
			t.Fatalf("redaction broke the JSON: %q -> %q", args, sent)
		}
		if strings.Contains(string(sent), "alice.smith@example.com") {
			t.Fatalf("an e-mail address reached the provider: %q", sent)
		}
		back, ok := decodeAny(resp.ToolCalls[0].Arguments)
		if !ok {
			t.Fatalf("restored arguments are not JSON: %q", resp.ToolCalls[0].Arguments)
		}
		if !reflect.DeepEqual(orig, back) {
			t.Fatalf("round trip changed the arguments: %q -> %q -> %q", args, sent, resp.ToolCalls[0].Arguments)
		}
	})
}

// FuzzStreamRestoration: however the provider splits its answer into
// chunks, the caller receives the answer with every placeholder restored
// and none, whole or partial, left.
func FuzzStreamRestoration(f *testing.F) {
	f.Add("Write to [EMAIL_1] or call [PHONE_1]. [EMAIL_", []byte{3, 1, 7, 2})
	f.Add("[[EMAIL_1]][PHONE_1", []byte{1, 1, 1, 1, 1})
	f.Add("plain text", []byte{})
	f.Fuzz(func(t *testing.T, reply string, cuts []byte) {
		const mail, phone = "alice.smith@example.com", "+44 20 7946 0958"
		var chunks []llm.Chunk
		rest := reply
		for _, c := range cuts {
			n := int(c) % (len(rest) + 1)
			chunks = append(chunks, llm.Chunk{Text: rest[:n]})
			rest = rest[n:]
		}
		chunks = append(chunks, llm.Chunk{Text: rest}, llm.Chunk{FinishReason: llm.FinishStop})
		p := &llmtest.Provider{ProviderName: "p", StreamChunks: func(*llm.Request) ([]llm.Chunk, error) { return chunks, nil }}
		c, err := llm.New([]llm.Provider{p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		conv := c.Conversation("s")
		defer conv.Close()
		var got strings.Builder
		for ch, err := range conv.Stream(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "mail " + mail + " phone " + phone}}}) {
			if err != nil {
				t.Fatal(err)
			}
			got.WriteString(ch.Text)
		}
		want := strings.NewReplacer("[EMAIL_1]", mail, "[PHONE_1]", phone).Replace(reply)
		if got.String() != want {
			t.Fatalf("chunks %+v: got %q, want %q", chunks, got.String(), want)
		}
	})
}

func TestUsageMidStreamDoesNotFlush(t *testing.T) {
	t.Parallel()
	u := &llm.Usage{InputTokens: 1}
	p := &llmtest.Provider{ProviderName: "p", StreamChunks: func(*llm.Request) ([]llm.Chunk, error) {
		return []llm.Chunk{{Text: "to [EMA", Usage: u}, {Text: "IL_1] now", Usage: u}, {FinishReason: llm.FinishStop, Usage: u}}, nil
	}}
	c, err := llm.New([]llm.Provider{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for ch, err := range c.Conversation("s").Stream(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "alice.smith@example.com"}}}) {
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(ch.Text)
	}
	if got.String() != "to alice.smith@example.com now" {
		t.Fatalf("got %q: a usage report mid-stream must not release a partial placeholder", got.String())
	}
}
