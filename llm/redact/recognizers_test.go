package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// found renders findings as "KIND:value" for readable comparisons.
func found(text string, fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, string(f.Kind)+":"+text[f.Start:f.End])
	}
	return out
}

type recCase struct {
	name, text string
	want       []string
	reason     string
}

func runRecCases(t *testing.T, cases []recCase) {
	t.Helper()
	r := New(nil)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, found(tt.text, r.Find(tt.text)), tt.reason)
			checkPrefilter(t, tt.text)
		})
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	runRecCases(t, []recCase{
		{"plain", "write to jane.doe@example.com today", []string{"EMAIL:jane.doe@example.com"}, "ordinary address"},
		{"plus and subdomain", "<j+tag@mail.corp.example.co.uk>", []string{"EMAIL:j+tag@mail.corp.example.co.uk"}, "angle brackets are not part of it"},
		{"sentence end", "Contact a@b.io.", []string{"EMAIL:a@b.io"}, "final dot trimmed"},
		{"mailto", "mailto:x_y@ex-ample.org", []string{"EMAIL:x_y@ex-ample.org"}, "scheme is not part of the local part"},
		{"uppercase", "BOB@EXAMPLE.COM", []string{"EMAIL:BOB@EXAMPLE.COM"}, "case-insensitive"},
		{"idn tld", "a@b.xn--p1ai", []string{"EMAIL:a@b.xn--p1ai"}, "punycode TLD"},
		{"no tld", "user@localhost", nil, "a single label is not a public address"},
		{"numeric tld", "a@1.2.3.4", []string{"IP_ADDRESS:1.2.3.4"}, "TLD must be letters; the IP is still found"},
		{"at alone", "meet @ 5pm, @handle", nil, "no local part"},
		{"double dot local", "a..b@example.com", []string{"EMAIL:b@example.com"}, "a local part has no '..'; the part after it is the address"},
		{"leading hyphen label", "a@-x.com", nil, "label may not start with '-'"},
		{"decorator", "@Override public", nil, "Java annotation"},
		{"unicode quotes", "„jane@example.com“ and jane@example.com…", []string{"EMAIL:jane@example.com", "EMAIL:jane@example.com"}, "quote and ellipsis runes are boundaries"},
		{"idn", "Mail an jürgen.groß@müller-straße.de!", []string{"EMAIL:jürgen.groß@müller-straße.de"}, "internationalized address"},
		{"letter rune before", "Zoë.x@ex.com", []string{"EMAIL:Zoë.x@ex.com"}, "non-ASCII letters belong to the local part"},
		{"cjk around", "请联系jane@example.com。谢谢", []string{"EMAIL:jane@example.com"}, "Han characters bound the address"},
		{"two in a row", "a@b.co,c@d.co", []string{"EMAIL:a@b.co", "EMAIL:c@d.co"}, "CSV"},
		{"long local", strings.Repeat("a", 65) + "@x.com", nil, "local part over 64 bytes"},
	})
}

func TestPhone(t *testing.T) {
	t.Parallel()
	runRecCases(t, []recCase{
		{"us parens", "call (415) 555-0132 now", []string{"PHONE:(415) 555-0132"}, "NANP with area code in parentheses"},
		{"us dashes", "415-555-0132", []string{"PHONE:415-555-0132"}, "NANP dashes"},
		{"us dots", "415.555.0132", []string{"PHONE:415.555.0132"}, "NANP dots"},
		{"us with 1", "1-800-555-0199", []string{"PHONE:1-800-555-0199"}, "NANP with country prefix"},
		{"us e164", "+14155550132", []string{"PHONE:+14155550132"}, "E.164 compact"},
		{"us intl spaced", "+1 415 555 0132", []string{"PHONE:+1 415 555 0132"}, "E.164 spaced"},
		{"us intl parens", "+1 (415) 555-0132", []string{"PHONE:+1 (415) 555-0132"}, "E.164 with parenthesised area code"},
		{"us bad exchange", "415-155-0132", nil, "exchange cannot start with 1"},
		{"uk london", "020 7946 0958", []string{"PHONE:020 7946 0958"}, "UK national 3-4-4"},
		{"uk mobile", "07700 900123", []string{"PHONE:07700 900123"}, "UK national 5-6"},
		{"uk intl trunk", "+44 (0)20 7946 0958", []string{"PHONE:+44 (0)20 7946 0958"}, "UK international with (0)"},
		{"uk 00", "0044 20 7946 0958", []string{"PHONE:0044 20 7946 0958"}, "00 international prefix"},
		{"de slash", "Tel. 089/12345678", []string{"PHONE:089/12345678"}, "German area code with slash"},
		{"de spaced", "030 1234567", []string{"PHONE:030 1234567"}, "German national"},
		{"de mobile intl", "+49 151 23456789", []string{"PHONE:+49 151 23456789"}, "German mobile"},
		{"de parens", "(030) 1234567", []string{"PHONE:(030) 1234567"}, "German area code in parentheses"},
		{"fr spaces", "01 23 45 67 89", []string{"PHONE:01 23 45 67 89"}, "French pairs"},
		{"fr dots", "06.12.34.56.78", []string{"PHONE:06.12.34.56.78"}, "French pairs with dots"},
		{"fr intl", "+33 6 12 34 56 78", []string{"PHONE:+33 6 12 34 56 78"}, "French international"},
		{"in mobile", "98765 43210", []string{"PHONE:98765 43210"}, "Indian mobile 5-5"},
		{"in intl", "+91 98765 43210", []string{"PHONE:+91 98765 43210"}, "Indian international"},
		{"in landline", "011 2345 6789", []string{"PHONE:011 2345 6789"}, "Delhi landline"},
		{"after year", "in 2024 (555) 234-5678 called", []string{"PHONE:(555) 234-5678"}, "retry at a parenthesised group"},
		{"date", "on 2024-03-15 and 03/04/2025 at 14:03", nil, "dates and times"},
		{"order", "Order 4412-9981-77 shipped", nil, "4-4-2 is no phone shape"},
		{"version", "v2.3.1 and 1.2.3", nil, "versions"},
		{"money", "$1,234.56 and 12.5%", nil, "amounts"},
		{"bad cc", "+999 1234 5678", nil, "999 is not a country code"},
		{"signed decimal", "Decimal('+35236450.6')", nil, "a signed decimal number"},
		{"too long", "+49 30 1234 5678 9012 345", nil, "over 15 digits"},
		{"bare digits", "4155550132", nil, "no separator and no +: ambiguous"},
		{"in word", "ID415-555-0132", nil, "part of an identifier"},
		{"grouped code", "NL87 BZBM 0765 0997 74", nil, "continues an IBAN-like grouped code"},
		{"card groups", "5216 0307 2898 0309", nil, "card-like groups are not a phone"},
		{"nbsp", "tél. 01\u00a023\u00a045\u00a067\u00a089.", []string{"PHONE:01\u00a023\u00a045\u00a067\u00a089"}, "French typography: no-break spaces"},
		{"en dash", "+1 415\u2013555\u20130132", []string{"PHONE:+1 415\u2013555\u20130132"}, "en dashes from a word processor"},
		{"after han", "电话+86 138 1234 5678", []string{"PHONE:+86 138 1234 5678"}, "Han characters are not a word to glue to"},
		{"guillemets", "«+33 1 23 45 67 89»", []string{"PHONE:+33 1 23 45 67 89"}, "punctuation runes are boundaries"},
		{"after letter rune", "Zoë0123 456789", nil, "a letter rune glues the number to a word"},
		{"zip+4", "Boston, MA 02110-1301, USA", nil, "US ZIP+4 code"},
		{"clause", "DFARS 252.227-7013 (c) (1)", nil, "mixed separators without parentheses"},
		{"mac-like", "01:02-03-04-05-06", nil, "continues a number after a colon"},
		{"uk freephone", "0800-89-1131", []string{"PHONE:0800-89-1131"}, "UK national with dashes"},
	})
}

func TestCreditCard(t *testing.T) {
	t.Parallel()
	runRecCases(t, []recCase{
		{"visa", "4111 1111 1111 1111", []string{"CREDIT_CARD:4111 1111 1111 1111"}, "Visa test number, spaces"},
		{"visa compact", "4111111111111111", []string{"CREDIT_CARD:4111111111111111"}, "compact"},
		{"visa dashes", "4111-1111-1111-1111.", []string{"CREDIT_CARD:4111-1111-1111-1111"}, "dashes, sentence end"},
		{"mastercard", "5555555555554444", []string{"CREDIT_CARD:5555555555554444"}, "Mastercard 5-series"},
		{"mastercard 2", "2223003122003222", []string{"CREDIT_CARD:2223003122003222"}, "Mastercard 2-series"},
		{"amex", "3782 822463 10005", []string{"CREDIT_CARD:3782 822463 10005"}, "Amex 4-6-5"},
		{"amex compact", "371449635398431", []string{"CREDIT_CARD:371449635398431"}, "Amex compact"},
		{"discover", "6011 1111 1111 1117", []string{"CREDIT_CARD:6011 1111 1111 1117"}, "Discover 6011"},
		{"discover 65", "6500000000000002", []string{"CREDIT_CARD:6500000000000002"}, "Discover 65"},
		{"jcb", "3530111333300000", []string{"CREDIT_CARD:3530111333300000"}, "JCB"},
		{"diners", "3056 930902 5904", []string{"CREDIT_CARD:3056 930902 5904"}, "Diners 4-6-4"},
		{"luhn fail", "4111 1111 1111 1112", nil, "bad check digit"},
		{"mc 2-series out of range", "2721000000000004", nil, "2721 is beyond the 2-series"},
		{"unknown network", "9111111111111111", nil, "no network starts with 9"},
		{"mixed separators", "4111 1111-1111 1111", nil, "separators must agree"},
		{"longer run", "4111 1111 1111 1111 1111", nil, "runs on into more digits"},
		{"in word", "X4111111111111111", nil, "part of an identifier"},
		{"odd grouping", "41111 11111 111111", nil, "not a printed grouping"},
	})
}

func TestIBAN(t *testing.T) {
	t.Parallel()
	runRecCases(t, []recCase{
		{"de compact", "IBAN DE89370400440532013000.", []string{"IBAN:DE89370400440532013000"}, "German IBAN, ECBS example"},
		{"de grouped", "DE89 3704 0044 0532 0130 00", []string{"IBAN:DE89 3704 0044 0532 0130 00"}, "grouped by four"},
		{"gb", "GB29 NWBK 6016 1331 9268 19", []string{"IBAN:GB29 NWBK 6016 1331 9268 19"}, "UK with bank code letters"},
		{"fr", "FR1420041010050500013M02606", []string{"IBAN:FR1420041010050500013M02606"}, "French with a letter in the BBAN"},
		{"no", "NO9386011117947", []string{"IBAN:NO9386011117947"}, "shortest SEPA IBAN"},
		{"mt", "MT84MALT011000012345MTLCAST001S", []string{"IBAN:MT84MALT011000012345MTLCAST001S"}, "longest SEPA IBAN"},
		{"bad check", "DE89370400440532013001", nil, "mod-97 fails"},
		{"wrong length", "DE8937040044053201300", nil, "too short for DE"},
		{"too long", "DE893704004405320130000", nil, "runs on"},
		{"non sepa", "BR1800360305000010009795493C1", nil, "Brazil is not a SEPA country"},
		{"lowercase", "de89370400440532013000", nil, "capitals only"},
		{"bad group", "DE89 37040 044 0532 0130 00", nil, "groups of four"},
	})
}

func TestSSN(t *testing.T) {
	t.Parallel()
	runRecCases(t, []recCase{
		{"dashes", "SSN 078-05-1121", []string{"US_SSN:078-05-1121"}, "valid ranges"},
		{"spaces", "123 45 6789", []string{"US_SSN:123 45 6789"}, "space separated"},
		{"area 000", "000-12-3456", nil, "area 000 never issued"},
		{"area 666", "666-12-3456", nil, "area 666 never issued"},
		{"area 9xx", "912-12-3456", nil, "areas 900-999 never issued"},
		{"group 00", "123-00-4567", nil, "group 00 never issued"},
		{"serial 0000", "123-45-0000", nil, "serial 0000 never issued"},
		{"mixed", "123-45 6789", nil, "separators must agree"},
		{"compact", "123456789", nil, "no separators and no label: not recognized"},
		{"compact labelled", "SSN: 123456789", []string{"US_SSN:123456789"}, "labelled compact form"},
		{"compact labelled long", "Social Security Number 123456789", []string{"US_SSN:123456789"}, "labelled compact form"},
		{"compact labelled invalid", "ssn=666456789", nil, "label does not excuse never-issued ranges"},
		{"longer", "123-45-67890", nil, "runs on"},
	})
}

func TestIPAddress(t *testing.T) {
	t.Parallel()
	runRecCases(t, []recCase{
		{"v4", "from 192.168.1.20.", []string{"IP_ADDRESS:192.168.1.20"}, "dotted quad, sentence end"},
		{"v4 port", "10.0.0.1:8080", []string{"IP_ADDRESS:10.0.0.1"}, "port is not part of it"},
		{"v4 label", "ip:8.8.8.8", []string{"IP_ADDRESS:8.8.8.8"}, "after a colon"},
		{"v4 arrows", "IP→10.0.0.1←", []string{"IP_ADDRESS:10.0.0.1"}, "symbol runes are boundaries"},
		{"v4 octet", "256.1.1.1", nil, "octet over 255"},
		{"v4 leading zero", "01.2.3.4", nil, "leading zeros are ambiguous"},
		{"v4 five parts", "1.2.3.4.5", nil, "longer dotted sequence"},
		{"version", "v1.2.3.4", nil, "version string"},
		{"version word", "version 1.3.0.1 and Rev. 2.0.1.4 and strftime.c,v 1.10.2.3", nil, "announced as versions"},
		{"not version", "server 10.1.2.3", []string{"IP_ADDRESS:10.1.2.3"}, "an ordinary word before the address"},
		{"v6 full", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", []string{"IP_ADDRESS:2001:0db8:85a3:0000:0000:8a2e:0370:7334"}, "full form"},
		{"v6 compressed", "[2001:db8::1]:443", []string{"IP_ADDRESS:2001:db8::1"}, "compressed, in brackets with port"},
		{"v6 one group", "bind ::1 only, s[::2], 2001::/32", nil, "one group is too little to tell from code, and is not personal"},
		{"v6 slice", "s[1::2] and s[10::20]", nil, "two decimal groups around :: is a Python slice"},
		{"v6 two groups", "fe80::1 and 2001::db8", []string{"IP_ADDRESS:fe80::1", "IP_ADDRESS:2001::db8"}, "two groups with hex letters"},
		{"v6 trailing ::", "prefix 2001:db8:: is", []string{"IP_ADDRESS:2001:db8::"}, "trailing ::"},
		{"v6 mapped", "::ffff:192.0.2.128", []string{"IP_ADDRESS:::ffff:192.0.2.128"}, "IPv4-mapped"},
		{"v6 nat64", "64:ff9b::192.0.2.33", []string{"IP_ADDRESS:64:ff9b::192.0.2.33"}, "embedded IPv4"},
		{"v6 zone", "fe80::1%eth0 up", []string{"IP_ADDRESS:fe80::1%eth0"}, "with zone"},
		{"v6 upper", "FE80::ABCD:1", []string{"IP_ADDRESS:FE80::ABCD:1"}, "upper case"},
		{"v6 sentence", "Blocked 2001:db8::46c5.", []string{"IP_ADDRESS:2001:db8::46c5"}, "final dot trimmed"},
		{"time", "at 14:03:22 UTC", nil, "a time"},
		{"mac", "00:1a:2b:3c:4d:5e", nil, "MAC address is not an IP"},
		{"cpp", "std::vector and Foo::bar", nil, "scope operator"},
		{"bad v6", "2001:db8:::1", nil, "triple colon"},
		{"bare ::", "a :: b", nil, "the unspecified address alone is punctuation, not data"},
	})
}

func TestSecret(t *testing.T) {
	t.Parallel()
	b := strings.Repeat
	openai := "sk-proj-" + b("Ab1_", 16)
	anthropic := "sk-ant-api03-" + b("xY9-", 22)
	legacy := "sk-" + b("a1B2", 12)
	ghp := "ghp_" + b("aB3", 12)
	pat := "github_pat_11ABCDEFG0" + b("x", 12) + "_" + b("Yz9", 20)
	aws := "AKIAIOSFODNN7EXAMPLE"
	awsSecret := "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	stripe := "sk_live_" + b("4eC39HqLyjWDarjtT1zdp7dc", 1)
	slack := "xoxb-123456789012-1234567890123-" + b("a", 24)
	google := "AIza" + b("SyD-9tSrke72PouQMnMX7Kz_a1b2c3d4e5f", 1)
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----"
	runRecCases(t, []recCase{
		{"openai project", "key=" + openai + "\n", []string{"SECRET:" + openai}, "sk-proj-"},
		{"openai legacy", "'" + legacy + "'", []string{"SECRET:" + legacy}, "sk- and 48 characters"},
		{"anthropic", "x-api-key: " + anthropic, []string{"SECRET:" + anthropic}, "sk-ant-"},
		{"github classic", ghp, []string{"SECRET:" + ghp}, "ghp_ and 36"},
		{"github fine", pat, []string{"SECRET:" + pat}, "github_pat_"},
		{"aws id", "aws_access_key_id=" + aws, []string{"SECRET:" + aws}, "AKIA and 16"},
		{"aws secret labelled", "aws_secret_access_key = " + awsSecret, []string{"SECRET:" + awsSecret}, "labelled secret key"},
		{"aws secret json", `"SecretAccessKey": "` + awsSecret + `"`, []string{"SECRET:" + awsSecret}, "JSON label"},
		{"aws secret unlabelled", "token " + awsSecret, nil, "40 base64 characters alone are not enough"},
		{"stripe", stripe, []string{"SECRET:" + stripe}, "sk_live_"},
		{"slack", slack, []string{"SECRET:" + slack}, "xoxb-"},
		{"google", "key=" + google + "&q=1", []string{"SECRET:" + google}, "AIza and 35"},
		{"jwt", "Bearer " + jwt, []string{"SECRET:" + jwt}, "three segments"},
		{"pem", "key:\n" + pem + "\nend", []string{"SECRET:" + pem}, "whole PEM block"},
		{"pem cut off", "-----BEGIN PRIVATE KEY-----\nMIIE", []string{"SECRET:-----BEGIN PRIVATE KEY-----\nMIIE"}, "truncated block runs to the end"},
		{"public key", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", nil, "public keys are not secret"},
		{"sk word", "task-force and sk-learn", nil, "words with sk-"},
		{"short aws", "AKIA1234", nil, "too short"},
		{"ghp short", "ghp_abc", nil, "too short"},
		{"eyJ alone", "eyJhbGciOiJIUzI1NiJ9", nil, "one segment"},
	})
}
