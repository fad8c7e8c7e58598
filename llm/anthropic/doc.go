// Package anthropic is an [llm.Provider] for the Anthropic Messages API
// (POST /v1/messages, anthropic-version 2023-06-01), over plain net/http.
//
// Most users call [New] and hand the provider to llm.New:
//
//	p := anthropic.New(os.Getenv("ANTHROPIC_API_KEY"), nil)
//
// Streams handle every event type of the API (message_start,
// content_block_start/delta/stop, message_delta, message_stop, ping, error)
// and skip unknown ones. An error event after HTTP 200 becomes an
// *llm.APIError with InStream set; overloaded_error is retryable, a spend
// cap (enforced_spend_limit_reached) is not. Since the API requires
// max_tokens, a request without MaxTokens sends [DefaultMaxTokens].
//
// # Non-goals
//
// Extended thinking output, prompt caching controls, citations, images,
// batches and the Files API are not covered.
package anthropic
