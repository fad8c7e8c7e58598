package redact_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/inferlabs/privkit/llm/redact"
)

// Redact a prompt before it leaves, then restore the model's answer.
func Example() {
	v := redact.NewVault(redact.New(nil)) // one vault per conversation
	defer v.Close()

	prompt, findings := v.Redact("Email jane@example.com and call +44 20 7946 0958 about card 4111 1111 1111 1111.")
	fmt.Println(prompt)
	for _, f := range findings {
		fmt.Println(f.Kind, f.Start, f.End)
	}

	// The model only ever saw the placeholders.
	answer := "I will write to [EMAIL_1] and call [PHONE_1]."
	fmt.Println(v.Restore(answer))
	fmt.Println(v.Counts())
	// Output:
	// Email [EMAIL_1] and call [PHONE_1] about card [CREDIT_CARD_1].
	// EMAIL 6 22
	// PHONE 32 48
	// CREDIT_CARD 60 79
	// I will write to jane@example.com and call +44 20 7946 0958.
	// map[CREDIT_CARD:1 EMAIL:1 PHONE:1]
}

// Restore a streamed answer: a placeholder split across chunks is restored
// whole, and text that cannot start a placeholder is emitted at once.
func ExampleRestorer() {
	v := redact.NewVault(nil)
	defer v.Close()
	v.Redact("My address is jane@example.com")

	s := v.NewRestorer()
	for _, chunk := range []string{"Sure, I'll ", "write to [EM", "AIL_1", "] today."} {
		fmt.Printf("%q\n", s.Write(chunk))
	}
	fmt.Printf("%q\n", s.Flush())
	// Output:
	// "Sure, I'll "
	// "write to "
	// ""
	// "jane@example.com today."
	// ""
}

// Restore the arguments of a tool call the model asked for.
func ExampleVault_RestoreJSON() {
	v := redact.NewVault(nil)
	defer v.Close()
	v.Redact(`Send the report to "Jane" <jane@example.com>`)

	args, err := v.RestoreJSON([]byte(`{"to": "[EMAIL_1]", "subject": "Q3 report"}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(args))
	// Output:
	// {"to": "jane@example.com", "subject": "Q3 report"}
}

// Add a host recognizer for data the built-in ones cannot see, here
// customer numbers of the form "CUST-" and six digits.
func ExampleRecognizerFunc() {
	customers := redact.RecognizerFunc(func(text string, dst []redact.Finding) []redact.Finding {
		for off := 0; ; {
			i := strings.Index(text[off:], "CUST-")
			if i < 0 {
				return dst
			}
			start := off + i
			end := start + len("CUST-")
			for end < len(text) && end-start < 11 && text[end] >= '0' && text[end] <= '9' {
				end++
			}
			if end-start == 11 {
				dst = append(dst, redact.Finding{Kind: "CUSTOMER_ID", Start: start, End: end})
			}
			off = end
		}
	})
	v := redact.NewVault(redact.New(&redact.Options{Recognizers: []redact.Recognizer{customers}}))
	defer v.Close()
	out, _ := v.Redact("Refund CUST-004211 (a@b.co) and CUST-004211 again.")
	fmt.Println(out)
	// Output:
	// Refund [CUSTOMER_ID_1] ([EMAIL_1]) and [CUSTOMER_ID_1] again.
}
