// Package redact finds personal data and secrets in text, replaces them by
// placeholders before the text leaves for an LLM provider, and puts the
// values back into the answer.
//
// # Usage
//
// Most users want a [Vault] per conversation:
//
//	v := redact.NewVault(redact.New(nil))
//	defer v.Close()
//	prompt, findings := v.Redact("Mail jane@example.com about it")
//	// prompt == "Mail [EMAIL_1] about it"; send prompt to the model.
//	answer := v.Restore(modelAnswer)          // whole texts
//	args, err := v.RestoreJSON(toolCallArgs)  // JSON tool-call arguments
//	s := v.NewRestorer()                      // streams
//	for chunk := range stream { emit(s.Write(chunk)) }
//	emit(s.Flush())
//
// A [Redactor] alone ([New], [Redactor.Find]) reports findings without
// replacing anything.
//
// # Placeholders
//
// A value is replaced by `[KIND_n]`, for example `[EMAIL_1]` or
// `[CREDIT_CARD_2]`: the kind, an underscore and a number counted per kind
// from 1 within the vault. The same value gets the same placeholder in every
// turn of the conversation, and a number is never reused for another value.
//
// # Offsets
//
// A [Finding] is a byte span [Start, End) of the UTF-8 input, end exclusive,
// like a Go slice expression.
//
// # Non-goals
//
// The built-in recognizers find data with a recognisable shape or checksum.
// They do not find names of people, postal addresses, dates of birth or free
// text about health and the like: host services add a [Recognizer] for what
// they know (customer names from their own records, say). Redaction lowers
// what reaches a provider; it is not a proof that nothing personal does.
package redact
