package redact

import (
	"regexp"
	"strings"
	"testing"
)

// benchPrompt is a realistic prompt of a data-analysis service, about 4 KB:
// instructions, a CSV excerpt with contact data, a log excerpt, a question.
var benchPrompt = strings.Join([]string{
	"You are a data analyst. The user uploaded sales_q3.csv and server.log and asks about churn.",
	"Answer in plain English, cite the rows you used, and never invent numbers. Round to one decimal.",
	"",
	"sales_q3.csv (first rows):",
	"customer_id,name,email,phone,plan,mrr,signup_date,country",
	"10231,Priya Sharma,priya.sharma@example.com,+44 20 7946 0958,pro,129.00,2024-03-15,GB",
	"10232,Lukas Müller,lukas.mueller@corp.example.de,+49 30 901820,team,349.00,2024-04-02,DE",
	"10233,Chloé Dubois,chloe.dubois@example.fr,+33 1 44 85 27 91,free,0.00,2024-04-09,FR",
	"10234,John Smith,jsmith77@example.org,(415) 555-0132,pro,129.00,2024-05-21,US",
	"10235,Aisha Okafor,aisha.okafor@example.com,+91 98765 43210,enterprise,2400.00,2024-06-30,IN",
	"10236,Wei Chen,wei.chen@example.net,415-555-0199,team,349.00,2024-07-01,US",
	"10237,Maria García,maria.garcia@example.es,+34 912 345 678,pro,129.00,2024-07-14,ES",
	"10238,Søren Nielsen,soren@example.dk,+45 32 12 34 56,free,0.00,2024-08-03,DK",
	"",
	"server.log (excerpt):",
	"2024-09-01T10:15:02Z INFO  request id=7f3a9c path=/api/v2/reports status=200 dur=182ms ip=203.0.113.42",
	"2024-09-01T10:15:07Z WARN  login failed user=jsmith77@example.org ip=198.51.100.23 attempts=3",
	"2024-09-01T10:16:40Z INFO  request id=7f3aa1 path=/api/v2/export status=200 dur=911ms ip=2001:db8::8a2e:370:7334",
	"2024-09-01T10:17:12Z ERROR payment declined order=4412-9981-77 amount=129.00 currency=EUR",
	"2024-09-01T10:18:55Z INFO  request id=7f3ab7 path=/api/v2/reports status=304 dur=12ms ip=203.0.113.42",
	"2024-09-01T10:19:03Z INFO  job churn_model v2.3.1 finished in 14.2s rows=18231 auc=0.871",
	"",
	"Notes from the account manager: refund the payment made with card 4111 1111 1111 1111 yesterday,",
	"and wire the partner commission to IBAN DE89 3704 0044 0532 0130 00 before Friday. Her SSN is",
	"078-05-1121; do not include it in the report. The staging key sk-proj-" + strings.Repeat("Ab1_", 16) + " was rotated.",
	"",
	"Question: which plans lost the most monthly recurring revenue between July and September, and",
	"is there a relation between failed logins, slow exports and churn? Group the answer by country,",
	"show a small table with plan, customers lost, MRR lost and share of total, and suggest two",
	"actions the customer-success team could take next quarter. Revenue is down 12.5% since",
	"2024-03-15; see dashboard v2.3.1 for the definitions. Keep it under 300 words.",
	"",
	"Context on definitions: churn is a customer whose subscription ended in the quarter and who did",
	"not renew within 30 days; MRR is monthly recurring revenue before tax; enterprise contracts are",
	"annual and their MRR is the annual value divided by twelve. Free plans have no revenue but count",
	"toward customer churn. Trials that never converted are excluded. Currency is EUR throughout;",
	"amounts in the CSV were converted at the ECB reference rate of the signup date. When a customer",
	"changed plan during the quarter, count them in the plan they had on the last day of June. If the",
	"data is not enough to answer a part of the question, say so and say what data would be needed.",
	"Write for a non-technical reader: short sentences, no jargon, and explain any statistic you use.",
}, "\n")

var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

func BenchmarkRedact(b *testing.B) {
	text := benchPrompt
	b.Run("email-regexp", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if len(emailRE.FindAllStringIndex(text, -1)) == 0 {
				b.Fatal("no e-mail found")
			}
		}
	})
	b.Run("redact", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		v := NewVault(New(nil))
		for b.Loop() {
			if _, fs := v.Redact(text); len(fs) == 0 {
				b.Fatal("nothing found")
			}
		}
	})
}

// shortTurn is a chat turn: about 90 bytes, one e-mail address the vault
// has seen before, a number that is not personal data.
const shortTurn = "Thanks. Copy bob.jones@example.org and add the south region's numbers (request 123456)."

// BenchmarkRedactShort measures the per-call cost of Vault.Redact on a short
// text, where the fixed costs of Find and Redact dominate, against the same
// baseline as BenchmarkRedact over the same text.
func BenchmarkRedactShort(b *testing.B) {
	b.Run("email-regexp", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(shortTurn)))
		for b.Loop() {
			if len(emailRE.FindAllStringIndex(shortTurn, -1)) != 1 {
				b.Fatal("no e-mail found")
			}
		}
	})
	b.Run("redact", func(b *testing.B) {
		v := NewVault(New(nil))
		v.Redact("Please write to bob.jones@example.org.")
		b.ReportAllocs()
		b.SetBytes(int64(len(shortTurn)))
		for b.Loop() {
			if red, fs := v.Redact(shortTurn); len(fs) != 1 || !strings.Contains(red, "[EMAIL_1]") {
				b.Fatalf("got %q, %v", red, fs)
			}
		}
	})
}

// shortTurns are chat turns of 60-200 bytes with the bytes that wake up
// more scanners: dashes and capitals (secrets), digits (phones, cards),
// colons (IPv6), a phone number.
var shortTurns = []struct{ name, text string }{
	{"prose", "Sure - can you re-check the Q3 numbers for the north-east team? AFAIK the deadline is Friday at 10:30."},
	{"phone", "Call me on +44 20 7946 0958 tomorrow, or e-mail jane_doe@example.co.uk if that's easier."},
	{"code", "Why does `x := m[\"API_KEY\"]` panic in handler.go:42 after the 2024-03-15 deploy of v1.2.3?"},
}

// BenchmarkFindShort measures Redactor.Find on short texts, each against
// the e-mail regexp over the same text (email-regexp/<name>).
func BenchmarkFindShort(b *testing.B) {
	r := New(nil)
	for _, t := range shortTurns {
		b.Run("email-regexp/"+t.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(t.text)))
			for b.Loop() {
				emailRE.FindAllStringIndex(t.text, -1)
			}
		})
		b.Run("find/"+t.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(t.text)))
			for b.Loop() {
				r.Find(t.text)
			}
		})
	}
}
