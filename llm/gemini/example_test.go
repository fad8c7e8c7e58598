package gemini_test

import (
	"fmt"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/gemini"
)

// The paid and free tiers of the Gemini API meet different requirements;
// without Options.Paid the provider carries the free tier's facts.
func ExampleNew() {
	noTraining := llm.Requirements{NoTraining: true}
	free := gemini.New("key", nil)
	paid := gemini.New("key", &gemini.Options{Paid: true})
	fmt.Println("free:", noTraining.Unmet(free.Facts()))
	fmt.Println("paid:", noTraining.Unmet(paid.Facts()))
	fmt.Println("paid, 30 days:", llm.Requirements{MaxRetentionDays: 30}.Unmet(paid.Facts()))
	// Output:
	// free: [no training: provider trains on data: yes]
	// paid: []
	// paid, 30 days: [max retention 30 days: provider retains 55 days]
}
