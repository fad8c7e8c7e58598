// Package llm is a provider-neutral LLM client that keeps personal data in:
// it sends content only to providers whose data policy fits the request,
// redacts personal data before it leaves and restores it in the answer, asks
// for the subject's consent first, and accounts for every call in the audit
// log without storing content.
//
// # Use
//
// Build providers (llm/openai, llm/gemini, llm/anthropic, or your own
// [Provider]), hand them to [New] in order of preference, and talk through a
// [Conversation], one per conversation with a person:
//
//	client, err := llm.New([]llm.Provider{
//		openai.New(os.Getenv("OPENAI_API_KEY"), nil),
//		anthropic.New(os.Getenv("ANTHROPIC_API_KEY"), nil),
//	}, &llm.Options{Consent: consentManager, Auditor: auditLog})
//	conv := client.Conversation("user:u_3f9c")
//	defer conv.Close() // wipes the redaction vault
//	resp, err := conv.Chat(ctx, &llm.Request{
//		Messages:     []llm.Message{{Role: llm.RoleUser, Content: text}},
//		Requirements: llm.Requirements{NoTraining: true, MaxRetentionDays: 30},
//	})
//
// [Conversation.Stream] returns the answer as a range-over-func iterator of
// chunks and errors.
//
// # What a call does
//
//  1. Checks the request, then asks Options.Consent whether the subject
//     allows [PurposeLLMProcessing]; a refusal or a failed check returns
//     [ErrConsent].
//  2. Keeps the providers whose [Facts] meet the [Requirements] of the
//     client and of the request. Facts nobody attested count as the worst
//     case. If none is left, the call returns a [*PolicyError] listing each
//     unmet requirement per provider — before any network I/O.
//  3. Redacts every message and tool-call argument through the
//     conversation's vault (llm/redact): values become placeholders such as
//     [EMAIL_1], stable across the conversation's turns.
//  4. Sends to the first eligible provider, retrying with exponential
//     backoff and jitter and honouring the server's hints (retry-after-ms,
//     Retry-After, x-should-retry, Gemini's RetryInfo), capped by
//     RetryPolicy.MaxServerDelay and never past the context's deadline.
//     Quota exhaustion is not retried. A provider that keeps failing is put
//     in a cooldown and the call falls back to the next one. A stream is
//     never retried once part of the answer reached the caller
//     ([ErrInterrupted]).
//  5. Restores placeholders in the answer: in text, inside JSON tool-call
//     arguments, and in streams with a hold-back no longer than one
//     placeholder.
//  6. Records one audit event (action "llm.chat" or "llm.stream", purpose
//     "llm_processing", the conversation's subject, outcome success, denied
//     or error) whose attributes are never content: provider, model,
//     input_tokens, output_tokens, latency_ms, attempts, consent (allowed,
//     denied, error, unchecked), policy (none, met, refused),
//     policy_excluded, redactions and redactions.<KIND>, prompt_sha256 (of
//     the redacted prompt), finish_reason, error (a class such as
//     "consent", "policy", "api:insufficient_quota", "stalled"), and for
//     streams first_chunk_ms and stopped_early.
//
// Timeouts bound the whole call, each attempt, the first byte of a stream
// and a stalled stream (Options.Timeout, AttemptTimeout, FirstByteTimeout,
// IdleTimeout). The client starts no goroutines: every connection belongs
// to the call that opened it.
//
// # Non-goals
//
// The client keeps no conversation history (pass the messages each time),
// does not count tokens or cost, and does not rewrite prompts. Redaction
// lowers what a provider sees; it is not anonymisation, and names or free
// text the recognizers do not know pass through. The shipped [Facts] are
// read from vendors' public terms on their AsOf date; check them against
// your contract.
package llm
