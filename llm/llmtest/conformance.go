package llmtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/inferlabs/privkit/llm"
)

// TestProvider checks the contract of [llm.Provider] on p, which must be
// connected to a server that answers every request successfully (a fake or
// a replay): a name, answers with a finish reason, streams that end with
// one, prompt returns on a canceled context, leaving a stream early, and
// concurrent use. Run it with -race; pair it with goleak to check that no
// goroutine outlives a call.
func TestProvider(t *testing.T, p llm.Provider) {
	t.Helper()
	req := func() *llm.Request {
		return &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Hello"}}, MaxTokens: 16}
	}
	t.Run("Name", func(t *testing.T) {
		if p.Name() == "" {
			t.Error("Name is empty")
		}
	})
	t.Run("Chat", func(t *testing.T) {
		resp, err := p.Chat(context.Background(), req())
		if err != nil {
			t.Fatalf("Chat: %v", err)
		}
		if resp == nil || resp.FinishReason == "" {
			t.Fatalf("Chat returned %+v: want a response with a finish reason", resp)
		}
	})
	t.Run("Stream", func(t *testing.T) {
		var last llm.Chunk
		n := 0
		for ch, err := range p.Stream(context.Background(), req()) {
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			last = ch
			n++
		}
		if n == 0 || last.FinishReason == "" {
			t.Fatalf("Stream yielded %d chunks, last %+v: want a finish reason at the end", n, last)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		if _, err := p.Chat(ctx, req()); !errors.Is(err, context.Canceled) {
			t.Errorf("Chat on a canceled context: %v, want context.Canceled", err)
		}
		var serr error
		for _, err := range p.Stream(ctx, req()) {
			serr = err
		}
		if !errors.Is(serr, context.Canceled) {
			t.Errorf("Stream on a canceled context ended with %v, want context.Canceled", serr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("canceled calls took %v", d)
		}
	})
	t.Run("BreakEarly", func(t *testing.T) {
		for _, err := range p.Stream(context.Background(), req()) {
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			break
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := p.Chat(context.Background(), req()); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent Chat: %v", err)
		}
	})
}
