package gemini

import (
	"time"

	"github.com/inferlabs/privkit/llm"
)

var asOf = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// PaidFacts returns the data-policy facts of the Gemini API's paid
// services (a project with billing enabled), as privkit read Google's
// Gemini API Additional Terms of Service and abuse-monitoring policy on the
// AsOf date:
//
//   - prompts and responses are not used to improve Google's products;
//   - they are logged for 55 days to detect policy violations, and
//     authorised Google staff may review flagged content;
//   - no zero-data-retention option on the Gemini API (that is Vertex AI);
//   - no data-residency commitment: regions unknown.
func PaidFacts() llm.Facts {
	return llm.Facts{
		Provider:          "Gemini API (paid services)",
		Version:           "gemini-api-paid/2026-11-28",
		AsOf:              asOf,
		Source:            "https://ai.google.dev/gemini-api/terms",
		RetentionDays:     55,
		TrainsOnData:      llm.No,
		HumanReview:       llm.Yes,
		ZeroDataRetention: llm.No,
		Notes:             "55-day abuse-monitoring log: https://ai.google.dev/gemini-api/docs/usage-policies",
	}
}

// FreeFacts returns the data-policy facts of the Gemini API's unpaid
// services (free quota, Google AI Studio), as privkit read the Gemini API
// Additional Terms of Service on the AsOf date:
//
//   - Google uses prompts and responses to provide, improve and develop its
//     products and machine-learning technologies;
//   - human reviewers may read, annotate and process them (after
//     disconnecting them from the account); the terms say not to submit
//     personal information;
//   - retention is not stated: unknown, the worst case;
//   - unpaid services may not be used for users in the EEA, Switzerland or
//     the UK.
func FreeFacts() llm.Facts {
	return llm.Facts{
		Provider:          "Gemini API (unpaid services)",
		Version:           "gemini-api-free/2026-11-28",
		AsOf:              asOf,
		Source:            "https://ai.google.dev/gemini-api/terms",
		RetentionDays:     -1,
		TrainsOnData:      llm.Yes,
		HumanReview:       llm.Yes,
		ZeroDataRetention: llm.No,
		Notes:             "terms forbid unpaid services for users in the EEA, Switzerland and the UK",
	}
}
