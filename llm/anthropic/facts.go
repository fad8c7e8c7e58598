package anthropic

import (
	"time"

	"github.com/inferlabs/privkit/llm"
)

// DefaultFacts returns the data-policy facts of the Anthropic API under its
// commercial terms, as privkit read Anthropic's privacy center on the AsOf
// date:
//
//   - API inputs and outputs are not used for training unless the customer
//     agrees otherwise;
//   - they are deleted from Anthropic's backend within 30 days, except
//     content flagged for usage-policy violations (kept up to 2 years) or
//     where the law requires;
//   - Trust & Safety may review flagged content;
//   - zero data retention exists only by agreement with Anthropic: Unknown
//     here, attested by the host through its own Facts;
//   - SOC 2 Type 2 and ISO 27001; no region attested.
func DefaultFacts() llm.Facts {
	return llm.Facts{
		Provider:          "Anthropic API",
		Version:           "anthropic-api/2026-11-28",
		AsOf:              time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		Source:            "https://privacy.anthropic.com/en/articles/7996866-how-long-do-you-store-my-organization-s-data",
		RetentionDays:     30,
		TrainsOnData:      llm.No,
		HumanReview:       llm.Yes,
		ZeroDataRetention: llm.Unknown,
		Certifications:    []string{"SOC 2 Type 2", "ISO 27001"},
		Notes:             "flagged content kept up to 2 years, classifier scores up to 7 years; ZDR by agreement only",
	}
}
