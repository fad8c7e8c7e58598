// Package gemini is an [llm.Provider] for the Google Gemini API
// (generativelanguage.googleapis.com), over plain net/http: generateContent
// for whole answers and streamGenerateContent?alt=sse for streams, with the
// key in the x-goog-api-key header.
//
// Most users call [New]; say whether the key's project is on the paid tier,
// because the data policy differs:
//
//	p := gemini.New(os.Getenv("GEMINI_API_KEY"), &gemini.Options{Paid: true})
//
// Without Paid the provider carries [FreeFacts] (Google may train on and
// have people read the content), so requests that require no training
// never reach it.
//
// Errors become *llm.APIError with Google's RetryInfo.retryDelay as
// RetryAfter; a QuotaFailure naming a per-day quota is not retryable (it
// resets at midnight Pacific time). Thought parts are not part of the
// answer's text.
//
// # Non-goals
//
// Vertex AI endpoints, files, caching, images and audio, safety settings and
// multiple candidates are not covered.
package gemini
