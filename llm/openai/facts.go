package openai

import (
	"time"

	"github.com/inferlabs/privkit/llm"
)

// DefaultFacts returns the data-policy facts of the OpenAI API under its
// standard terms, as privkit read them on the AsOf date:
//
//   - API inputs and outputs are not used to train models (since 1 March
//     2023) unless the organisation opts in;
//   - they are kept up to 30 days in abuse-monitoring logs;
//   - authorised OpenAI staff may review flagged content;
//   - zero data retention exists only for approved organisations, so it is
//     Unknown here: a host with an approved ZDR or data-residency project
//     passes its own Facts and attests them;
//   - SOC 2 Type 2;
//   - no region is attested: without an approved data-residency project,
//     OpenAI may process requests anywhere, so Regions is empty (unknown).
func DefaultFacts() llm.Facts {
	return llm.Facts{
		Provider:          "OpenAI API",
		Version:           "openai-api/2026-11-28",
		AsOf:              time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		Source:            "https://platform.openai.com/docs/guides/your-data",
		RetentionDays:     30,
		TrainsOnData:      llm.No,
		HumanReview:       llm.Yes,
		ZeroDataRetention: llm.Unknown,
		Certifications:    []string{"SOC 2 Type 2"},
		Notes:             "abuse monitoring logs up to 30 days; ZDR and EU data residency need OpenAI's approval per project; see also https://openai.com/enterprise-privacy/",
	}
}
