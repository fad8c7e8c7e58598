// Package redact finds personal data and secrets in text, replaces them by
// placeholders before the text leaves for an LLM provider, and puts the
// values back into the answer: reversible redaction for one conversation.
//
// # Usage
//
// Most users want a [Vault] per conversation, over a [Redactor] shared by
// the whole service:
//
//	r := redact.New(nil) // all built-in recognizers; safe for concurrent use
//	v := redact.NewVault(r)
//	defer v.Close()
//
//	prompt, findings := v.Redact("Mail jane@example.com about it")
//	// prompt == "Mail [EMAIL_1] about it"; only prompt goes to the model.
//
//	answer := v.Restore(modelAnswer)         // whole texts
//	args, err := v.RestoreJSON(toolCallArgs) // JSON tool-call arguments
//	s := v.NewRestorer()                     // streams
//	for chunk := range stream {
//		emit(s.Write(chunk))
//	}
//	emit(s.Flush())
//
// [Redactor.Find] alone reports findings without replacing anything, and
// [Vault.Counts] gives the redactions by kind for an audit record.
//
// # Placeholders
//
// A value is replaced by `[KIND_n]`, for example `[EMAIL_1]` or
// `[CREDIT_CARD_2]`: the kind, an underscore and a number counted per kind
// from 1 within the vault. The same value of the same kind gets the same
// placeholder in every turn of the conversation, and a number is never
// reused for another value. Text in the input that already looks like a
// placeholder is handled so that Restore(Redact(x)) == x unless x holds
// placeholders the vault had already issued, which stand for their values
// (see [Vault.Redact]). Restoring replaces only placeholders the vault issued;
// anything else in brackets is left alone.
//
// Streams are restored with a bounded hold-back: a [Restorer] keeps back
// only a tail that could still become a known placeholder ("[EMA"), never
// more than [MaxPlaceholderLen] bytes, and passes everything else through
// at once, so the first token is not delayed.
//
// # Offsets
//
// A [Finding] is a byte span [Start, End) of the UTF-8 input, end exclusive,
// like a Go slice expression: text[f.Start:f.End] is the value.
//
// # Recognizers
//
// The built-in recognizers are hand-written scanners, linear in the input,
// with the rules documented beside each: [Email], [Phone] (international
// E.164 forms and national forms of the US and Canada, the UK, Germany,
// France and India), [CreditCard] (Visa, Mastercard including the
// 2-series, American Express, Discover, JCB, Diners; issuer prefix, length
// and Luhn), [IBAN] (SEPA countries; length per country and mod-97),
// [USSSN] (never-issued ranges excluded), [IPAddress] (IPv4 and every IPv6
// form) and [Secret] (OpenAI, Anthropic, AWS, GitHub, Stripe, Slack and
// Google API keys, JWTs, PEM private keys). Overlapping findings are
// resolved in favour of the longest, then the most specific kind. One
// cheap pass over the text first counts digits, dots, colons and capitals
// and notes a few telling bytes ('@', '-', '_', a digit before a dot), so
// that a scanner runs only where its kind can occur: prose with a year in
// it skips the phone, card and SSN scanners, prose without '@' the e-mail
// one, prose without a secret's characters the secret one.
//
// A host adds its own [Recognizer] in [Options] for data it knows about.
//
// # Non-goals
//
// The built-in recognizers find data with a recognisable shape or checksum.
// They do not find names of people, postal addresses, dates of birth, or
// free text about health, beliefs and the like; they do not guess at
// numbers written without any structure (a bare run of ten digits), and
// they find secrets by their documented shapes, not passwords or tokens of
// unknown shape after a label ("password: hunter2"). Host
// services add a [Recognizer] for what they know (customer names from their
// own records, say) or run a named-entity model in one. Redaction lowers
// what reaches a provider; it does not prove that nothing personal does.
//
// A [Vault] lives in memory only. [Vault.Close] zeroes the values it holds,
// but copies the host made (the input text, restored answers) are the
// host's to drop.
package redact
