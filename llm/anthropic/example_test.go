package anthropic_test

import (
	"fmt"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/anthropic"
)

// A host with a zero-data-retention agreement attests it by passing its own
// facts; privkit does not assume it.
func ExampleDefaultFacts() {
	zdr := llm.Requirements{ZeroDataRetention: true}
	standard := anthropic.New("key", nil)
	fmt.Println("standard:", zdr.Unmet(standard.Facts()))

	facts := anthropic.DefaultFacts()
	facts.ZeroDataRetention = llm.Yes // our contract with Anthropic says so
	facts.RetentionDays = 0
	facts.Version += "+zdr-agreement"
	withZDR := anthropic.New("key", &anthropic.Options{Facts: &facts})
	fmt.Println("with agreement:", zdr.Unmet(withZDR.Facts()))
	// Output:
	// standard: [zero data retention: provider zdr: unknown]
	// with agreement: []
}
