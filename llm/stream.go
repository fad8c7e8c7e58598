package llm

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Stream sends req like [Conversation.Chat] and yields the answer as it
// arrives, with personal data restored. The restorer holds back only the
// text that could be the start of a placeholder, so a placeholder split
// across chunks is restored whole and the first token is not delayed by the
// rest of the answer.
//
// Failures before the first chunk reached the caller are retried and fall
// back like Chat; a failure after that ends the sequence with an error
// wrapping [ErrInterrupted] and the cause. Breaking out of the loop stops the
// call and releases the connection. The call starts when iteration starts;
// its audit event is recorded when iteration ends.
func (cv *Conversation) Stream(ctx context.Context, req *Request) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
		st := cv.c.newState(cv.subject, "llm.stream")
		err := cv.stream(ctx, req, st, yield)
		if errors.Is(err, errStop) {
			st.stopped = true
			err = nil
		}
		cv.c.record(ctx, st, err)
		if err != nil {
			yield(Chunk{}, err)
		}
	}
}

func (cv *Conversation) stream(ctx context.Context, req *Request, st *callState, yield func(Chunk, error) bool) error {
	cands, red, err := cv.prepare(ctx, req, st)
	if err != nil {
		return err
	}
	delivered := false
	return cv.c.run(ctx, true, cands, st, func(ctx context.Context, p Provider) error {
		cv.mu.Lock()
		if cv.closed {
			cv.mu.Unlock()
			return ErrClosed
		}
		rs := cv.vault.NewRestorer()
		cv.mu.Unlock()
		// emit restores and yields one chunk; it reports false when the
		// caller stopped or the conversation was closed.
		emit := func(ch Chunk) error {
			cv.mu.Lock()
			if cv.closed {
				cv.mu.Unlock()
				return ErrClosed
			}
			ch.Text = rs.Write(ch.Text)
			if ch.FinishReason != "" {
				// The answer is complete: release what was held back.
				ch.Text += rs.Flush()
			}
			ch.ToolCalls = cv.restoreToolCalls(ch.ToolCalls)
			cv.mu.Unlock()
			if ch.Usage != nil {
				st.usage = *ch.Usage
			}
			if ch.FinishReason != "" {
				st.finish = ch.FinishReason
			}
			if ch.Model != "" {
				st.model = ch.Model
			}
			if ch.Text == "" && len(ch.ToolCalls) == 0 && ch.FinishReason == "" && ch.Usage == nil {
				return nil
			}
			if !delivered {
				st.firstChunk = cv.c.now().Sub(st.start)
				delivered = true
			}
			ch.Provider = p.Name()
			if !yield(ch, nil) {
				return errStop
			}
			return nil
		}
		for ch, err := range p.Stream(ctx, red) {
			if err != nil {
				if delivered {
					return fmt.Errorf("%w: %w", ErrInterrupted, err)
				}
				return err
			}
			if err := emit(ch); err != nil {
				return err
			}
		}
		cv.mu.Lock()
		if cv.closed {
			cv.mu.Unlock()
			return ErrClosed
		}
		rest := rs.Flush()
		cv.mu.Unlock()
		if rest != "" {
			delivered = true
			if !yield(Chunk{Text: rest, Provider: p.Name()}, nil) {
				return errStop
			}
		}
		return nil
	})
}
