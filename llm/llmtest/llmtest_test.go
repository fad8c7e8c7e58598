package llmtest_test

import (
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
