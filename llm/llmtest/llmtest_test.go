package llmtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/llmtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestScriptedProviderConforms(t *testing.T) {
	t.Parallel()
	llmtest.TestProvider(t, &llmtest.Provider{ProviderName: "scripted", ProviderFacts: llm.UnknownFacts("scripted")})
}

func TestCollect(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	p := &llmtest.Provider{ProviderName: "s", StreamChunks: func(*llm.Request) ([]llm.Chunk, error) {
		return []llm.Chunk{{Text: "Hel"}, {Text: "lo"}}, boom
	}}
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
	text, chunks, err := llmtest.Collect(context.Background(), p, req)
	if text != "Hello" || len(chunks) != 2 || !errors.Is(err, boom) {
		t.Fatalf("Collect = %q, %d chunks, %v; want \"Hello\", 2, boom", text, len(chunks), err)
	}
	text, chunks, err = llmtest.Collect(context.Background(), &llmtest.Provider{ProviderName: "echo"}, req)
	if text != "hi" || len(chunks) != 2 || err != nil {
		t.Fatalf("Collect = %q, %d chunks, %v; want \"hi\", 2 chunks (text, finish), nil", text, len(chunks), err)
	}
}

// failTB records whether a check failed instead of failing the test.
type failTB struct {
	testing.TB
	failed bool
}

func (f *failTB) Helper()               {}
func (f *failTB) Fatal(...any)          { f.failed = true }
func (f *failTB) Fatalf(string, ...any) { f.failed = true }

func TestChecks(t *testing.T) {
	t.Parallel()
	malformed := fmt.Errorf("%w: bad", llm.ErrMalformed)
	api := fmt.Errorf("wrapped: %w", &llm.APIError{StatusCode: 500})
	for _, tc := range []struct {
		name      string
		resp      *llm.Response
		err       error
		apiErrors bool
		fails     bool
	}{
		{"response", &llm.Response{}, nil, false, false},
		{"nothing", nil, nil, false, true},
		{"malformed", nil, malformed, false, false},
		{"untyped", nil, errors.New("x"), false, true},
		{"api error where none may be", nil, api, false, true},
		{"api error", nil, api, true, false},
	} {
		f := &failTB{TB: t}
		llmtest.CheckParsed(f, tc.resp, tc.err, tc.apiErrors)
		if f.failed != tc.fails {
			t.Errorf("CheckParsed %s: failed = %v, want %v", tc.name, f.failed, tc.fails)
		}
	}
	for _, tc := range []struct {
		err   error
		fails bool
	}{
		{nil, false},
		{malformed, false},
		{api, false},
		{fmt.Errorf("%w", llm.ErrTruncated), false},
		{fmt.Errorf("%w", llm.ErrTooLarge), false},
		{errors.New("x"), true},
		{context.Canceled, true},
	} {
		f := &failTB{TB: t}
		llmtest.CheckStreamError(f, tc.err)
		if f.failed != tc.fails {
			t.Errorf("CheckStreamError(%v): failed = %v, want %v", tc.err, f.failed, tc.fails)
		}
	}
}
