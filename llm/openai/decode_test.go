package openai

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// sameAsStd checks that whenever the fast decoder accepts body, encoding/json
// accepts it too and ParseResponse's reference gives the same result.
func sameAsStd(t *testing.T, body []byte) (fast bool) {
	t.Helper()
	got, ok := parseResponseFast(body)
	if !ok {
		return false
	}
	var cr chatResponse
	if err := json.Unmarshal(body, &cr); err != nil {
		t.Fatalf("fast decoder accepted what encoding/json refuses (%v):\n%q", err, body)
	}
	want, err := parseResponseStd(body)
	if got == nil {
		if err == nil {
			t.Fatalf("fast decoder found no choice where encoding/json found %#v:\n%q", want, body)
		}
		return true
	}
	if err != nil {
		t.Fatalf("fast decoder gave %#v where encoding/json gave %v:\n%q", got, err, body)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoders differ on %q:\nfast %#v\nstd  %#v", body, got, want)
	}
	return true
}

// decodeSeeds are bodies of the shapes providers send, and edge cases where
// the fast decoder must agree with encoding/json or give up.
var decodeSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hi [EMAIL_1]!","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":18,"total_tokens":138,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1","service_tier":"default"}`,
	`{"model":"m","choices":[{"message":{"content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"email\":\"[EMAIL_1]\"}"}}]},"finish_reason":"tool_calls"}]}`,
	`{"model":"m","choices":[{"index":1,"delta":{"content":"a"},"finish_reason":null}],"usage":null}`,
	` {"model" : "esc \u00e9\ud83d\ude00 \ud800 x\n\t\"\\\/" , "choices" : [ ] } `,
	"{\"model\":\"bad utf8 \xff\xfe caf\xc3\xa9\"}",
	`{"model":"m","error":{"message":"x","type":"t","code":429}}`,
	`{"model":"m","error":{"message":"x","code":"rate_limit_exceeded"}}`,
	`{"model":"m","error":{"code":null}}`,
	`{"model":null,"choices":null}`,
	`{"x":[1,-0,2.5e-3,true,false,null,{"y":{}}],"choices":[{"message":{"tool_calls":[{"index":3,"function":{}}]}}]}`,
	`{"Model":"case-folded"}`,
	`{"model":"a","model":"b"}`,
	`{"choices":[{"message":{"content":"a"},"message":{"role":"b"}}]}`,
	`{"choices":[{"index":1.0}]}`,
	`{"choices":[{"index":99999999999999999999}]}`,
	`{"choices":[{"index":-0}],"usage":{"prompt_tokens":999999999999999999,"completion_tokens":-999999999999999999}}`,
	`{"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":-9223372036854775808}}`,
	`{"usage":{"prompt_tokens":9223372036854775808}}`,
	`{"choices":[{"message":{"content":"eight by eight: \"quotes\", \\ and \u00e9 past the first words"}}]}`,
	`{"usage":{"prompt_tokens":"3"}}`,
	`{"model":"m"} x`,
	`{"model":"m",}`,
	`{"model":01}`,
	`{"x":"\'"}`,
	`{"x":"tab	in string"}`,
	`{"choices":[{"message":{"content":"a"}},{"index":"x"}]}`,
	`{"choices":[{"message":null,"finish_reason":"stop"}]}`,
	`{"choices":[{"delta":{"content":"x"},"message":{"content":"y","tool_calls":[]}},{"message":{"content":"second"}}]}`,
	`{"choices":[{"finish_reason":"content_filter","message":{"role":"assistant","content":null,"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}},{"id":"b","function":{"name":"g","arguments":""}}]}}],"usage":{}}`,
	`[]`,
	`null`,
	``,
}

func TestParseResponseFastMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	accepted := 0
	for _, s := range decodeSeeds {
		if sameAsStd(t, []byte(s)) {
			accepted++
		}
	}
	for _, f := range []string{"openai_chat_response_spec_example.json"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if !sameAsStd(t, b) {
			t.Errorf("%s: the fast decoder gave up on a provider's own example", f)
		}
	}
	if accepted < 9 {
		t.Errorf("the fast decoder accepted only %d of the well-formed seeds", accepted)
	}
}

func FuzzParseResponseFast(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsStd(t, body)
	})
}
