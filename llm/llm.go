package llm

import (
	"context"
	"encoding/json"
	"errors"
	"iter"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/llm/internal/wire"
)

// Role is the author of a [Message].
type Role string

// The roles a message may have.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one turn of a conversation, normalised across providers.
type Message struct {
	// Role is who wrote the message.
	Role Role
	// Content is the text of the message. For a RoleTool message it is the
	// tool's result.
	Content string
	// ToolCalls are the calls an assistant message asked for.
	ToolCalls []ToolCall
	// ToolCallID links a RoleTool message to the [ToolCall] it answers.
	ToolCallID string
	// Name is the tool's name on a RoleTool message (Gemini needs it).
	Name string
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	// ID identifies the call so that a RoleTool message can answer it.
	// Providers that do not number calls (Gemini) get a generated ID.
	ID string
	// Name is the tool's name.
	Name string
	// Arguments is the JSON object of arguments.
	Arguments json.RawMessage
}

// Tool describes a function the model may call.
type Tool struct {
	// Name is the function's name.
	Name string
	// Description tells the model what the tool does. Tool definitions are
	// the host's own text and are sent as is, not redacted.
	Description string
	// Parameters is the JSON Schema of the arguments object; nil means no
	// arguments.
	Parameters json.RawMessage
}

// Request is one chat call.
type Request struct {
	// Model is the provider's model name. Empty means the provider's
	// default (each provider's Options.Model); leave it empty when a call
	// may fall back across vendors whose model names differ.
	Model string
	// Messages is the conversation so far, oldest first.
	Messages []Message
	// MaxTokens caps the output; 0 means the provider's default.
	MaxTokens int
	// Temperature is the sampling temperature; nil means the provider's
	// default.
	Temperature *float64
	// StopSequences end the output when generated.
	StopSequences []string
	// Tools are the functions the model may call.
	Tools []Tool
	// Requirements are the data-policy requirements of this call, added to
	// the client's [Options].Requirements.
	Requirements Requirements
}

// FinishReason says why the model stopped, normalised across providers.
type FinishReason string

// The finish reasons.
const (
	FinishStop          FinishReason = "stop"           // natural end or a stop sequence
	FinishLength        FinishReason = "length"         // MaxTokens reached
	FinishToolCalls     FinishReason = "tool_calls"     // the model asked for tools
	FinishContentFilter FinishReason = "content_filter" // the provider withheld output
	FinishOther         FinishReason = "other"          // anything else
)

// Usage counts tokens as the provider reported them.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Response is the answer to a [Request].
type Response struct {
	// Provider is the name of the provider that answered.
	Provider string
	// Model is the model that answered, as the provider reported it.
	Model string
	// Text is the answer's text.
	Text string
	// ToolCalls are the tools the model asked to call.
	ToolCalls []ToolCall
	// FinishReason says why the model stopped.
	FinishReason FinishReason
	// Usage counts the call's tokens.
	Usage Usage
}

// Chunk is one piece of a streamed answer. Text arrives in order; tool calls
// arrive whole, once their arguments are complete; FinishReason and Usage
// arrive at the end.
type Chunk struct {
	// Text is the next piece of the answer's text.
	Text string
	// ToolCalls are complete tool calls.
	ToolCalls []ToolCall
	// FinishReason is set on the last chunk that carries one.
	FinishReason FinishReason
	// Usage is set when the provider reported token counts.
	Usage *Usage
	// Model is the model that answered, when the provider said.
	Model string
	// Provider is the name of the provider that answered.
	Provider string
}

// Provider is one LLM service reached over the network. The client calls it
// with requests that are already redacted and checked against the policy;
// a Provider makes one attempt per call (the client retries and falls back)
// and reports failures as [*APIError] where it can.
//
// Implementations are safe for concurrent use. Chat and Stream must honour
// ctx: when it is done they return promptly, leaving no goroutine behind.
// The client bounds every attempt through ctx (Options.AttemptTimeout and
// Timeout); the first-byte and idle timers of a stream are enforced by the
// providers of this module, and a custom provider that wants them must
// implement its own. llm/llmtest.TestProvider checks the contract.
type Provider interface {
	// Name identifies the provider in errors, audit events and Response;
	// it is unique within a Client.
	Name() string
	// Facts returns the provider's data-policy facts.
	Facts() Facts
	// Chat sends req and returns the whole answer.
	Chat(ctx context.Context, req *Request) (*Response, error)
	// Stream sends req and yields the answer in chunks. An error ends the
	// sequence. Breaking out of the loop releases the connection.
	Stream(ctx context.Context, req *Request) iter.Seq2[Chunk, error]
}

// ConsentChecker answers whether a subject allows processing for a purpose.
// *consent.Manager satisfies it.
type ConsentChecker interface {
	Allowed(ctx context.Context, subject, purpose string) (bool, error)
}

// Auditor records audit events. *audit.Log satisfies it.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// AuditorFunc adapts a function to [Auditor].
type AuditorFunc func(ctx context.Context, e audit.Event) error

// Record calls f.
func (f AuditorFunc) Record(ctx context.Context, e audit.Event) error { return f(ctx, e) }

// ConsentFunc adapts a function to [ConsentChecker].
type ConsentFunc func(ctx context.Context, subject, purpose string) (bool, error)

// Allowed calls f.
func (f ConsentFunc) Allowed(ctx context.Context, subject, purpose string) (bool, error) {
	return f(ctx, subject, purpose)
}

// PurposeLLMProcessing is the consent purpose the client asks about before
// it sends a subject's data to a provider.
const PurposeLLMProcessing = "llm_processing"

var (
	// ErrConsent means the subject has not allowed LLM processing (or the
	// consent check failed, which counts the same: it fails closed).
	ErrConsent = errors.New("llm: no consent for llm processing")
	// ErrClosed is returned by a closed Client or Conversation.
	ErrClosed = errors.New("llm: closed")
	// ErrPolicy is matched by every [*PolicyError].
	ErrPolicy = errors.New("llm: no provider meets the data policy")
	// ErrInvalidRequest reports a request the client refuses to send.
	ErrInvalidRequest = errors.New("llm: invalid request")
	// ErrInterrupted means a stream failed after part of the answer had
	// reached the caller, so it was not retried. The error also wraps the
	// cause.
	ErrInterrupted = errors.New("llm: stream interrupted after output was delivered")
)

// Stream and body failures, reported by the providers in this module.
var (
	// ErrFirstByteTimeout means no byte of a streamed answer arrived within
	// Options.FirstByteTimeout.
	ErrFirstByteTimeout = wire.ErrFirstByteTimeout
	// ErrStalled means a stream went quiet for longer than
	// Options.IdleTimeout.
	ErrStalled = wire.ErrStalled
	// ErrTooLarge means a response body or stream event exceeded the
	// provider's size limit.
	ErrTooLarge = wire.ErrTooLarge
	// ErrMalformed means the provider sent a response that could not be
	// decoded.
	ErrMalformed = wire.ErrMalformed
	// ErrTruncated means a stream ended before the provider's end marker.
	ErrTruncated = wire.ErrTruncated
)
