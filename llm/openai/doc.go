// Package openai is an [llm.Provider] for the OpenAI Chat Completions API
// and the many servers that speak it (vLLM, Ollama, OpenRouter, LiteLLM),
// over plain net/http.
//
// Most users call [New] and hand the provider to llm.New:
//
//	p := openai.New(os.Getenv("OPENAI_API_KEY"), nil)
//	client, err := llm.New([]llm.Provider{p}, nil)
//
// Every request sends "store": false, so OpenAI keeps no stored completion,
// and streams ask for usage ("stream_options": {"include_usage": true}).
// Errors carry the retry hints OpenAI sends (retry-after-ms, Retry-After,
// x-should-retry) in an *llm.APIError; quota exhaustion
// ("insufficient_quota") is never retryable.
//
// [DefaultFacts] are the API's data-policy facts. A server at another
// BaseURL gets llm.UnknownFacts unless Options.Facts says more.
//
// # Non-goals
//
// The Responses API, the Assistants API, audio, images, embeddings and
// multiple choices (n > 1) are not covered; the provider makes one attempt
// per call and leaves retries to the llm client.
package openai
