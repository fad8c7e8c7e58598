package openai

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/inferlabs/privkit/llm"
)

func sameJSON(t *testing.T, req *llm.Request, stream, legacy bool) {
	t.Helper()
	got, err := encodeRequest(req, "default-model", stream, legacy)
	want, werr := encodeRequestStd(req, "default-model", stream, legacy)
	if (err != nil) != (werr != nil) {
		t.Fatalf("errors differ: hand %v, encoding/json %v", err, werr)
	}
	if err != nil {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("hand-encoded JSON is invalid: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("values differ:\nhand %s\nstd  %s", got, want)
	}
}

func TestEncodeRequestMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	temp := 0.7
	tests := map[string]*llm.Request{
		"minimal":  {Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}},
		"escapes":  {Model: "m\"x", Messages: []llm.Message{{Role: llm.RoleUser, Content: "q\"b\\s\n\r\t\x00\x1f<>&\u2028\u2029é😀\xff\xfe"}}},
		"all":      {Model: "m", MaxTokens: 5, Temperature: &temp, StopSequences: []string{"a", "\n"}, Messages: []llm.Message{{Role: llm.RoleSystem, Content: "s"}, {Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: json.RawMessage(`{"a":"\"x\""}`)}, {Name: "g"}}}, {Role: llm.RoleAssistant, Content: "text", ToolCalls: []llm.ToolCall{{ID: "d"}}}, {Role: llm.RoleTool, ToolCallID: "c", Content: "r"}}, Tools: []llm.Tool{{Name: "f", Description: "d", Parameters: json.RawMessage(` {"type": "object"} `)}, {Name: "g"}}},
		"bad tool": {Messages: []llm.Message{{Role: llm.RoleUser}}, Tools: []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{`)}}},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				for _, legacy := range []bool{false, true} {
					sameJSON(t, req, stream, legacy)
				}
			}
		})
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		_, err := encodeRequest(&llm.Request{Temperature: &bad}, "m", false, false)
		if err == nil {
			t.Errorf("temperature %v encoded", bad)
		}
	}
}

// TestAppendStringEveryOffset puts each kind of byte that needs escaping
// (and non-ASCII bytes, and plain ones; none that encoding/json escapes
// for HTML) at every offset of the eight-byte words appendString
// skips at once, and checks the result against encoding/json.
func TestAppendStringEveryOffset(t *testing.T) {
	t.Parallel()
	specials := []string{"\"", "\\", "\x00", "\n", "\x1f", "\x7f", "é", "\u2028", "\xff", " ", "~"}
	for _, sp := range specials {
		for pre := 0; pre < 20; pre++ {
			s := strings.Repeat("a", pre) + sp + strings.Repeat("b", 19-pre)
			want, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendString(nil, s); !bytes.Equal(got, want) {
				t.Errorf("appendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

func FuzzEncodeRequest(f *testing.F) {
	f.Add("m", "hello \"world\"\n", "{\"a\":1}", "stop", 0.5, 10)
	f.Add("", "\xff\u2028<", "", "", 1e-7, 0)
	f.Fuzz(func(t *testing.T, model, content, args, stop string, temp float64, max int) {
		if math.IsNaN(temp) || math.IsInf(temp, 0) {
			return
		}
		req := &llm.Request{Model: model, MaxTokens: max, Temperature: &temp, StopSequences: []string{stop},
			Messages: []llm.Message{{Role: llm.RoleUser, Content: content}, {Role: llm.RoleAssistant, Content: content, ToolCalls: []llm.ToolCall{{ID: stop, Name: model, Arguments: json.RawMessage(args)}}}, {Role: llm.RoleTool, ToolCallID: stop, Content: args}}}
		sameJSON(t, req, max%2 == 0, max%3 == 0)
	})
}
