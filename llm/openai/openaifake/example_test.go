package openaifake_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

// A scripted reply, and the record of what the server received.
func ExampleNewServer() {
	fake := openaifake.NewServer(&openaifake.Options{
		Reply: func(r openaifake.Request) string {
			return strings.ToUpper(r.Messages[len(r.Messages)-1].Content)
		},
	})
	defer fake.Close()
	p := openai.New("", &openai.Options{BaseURL: fake.URL})
	resp, err := p.Chat(context.Background(), &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "quiet please"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Text)
	fmt.Println(len(fake.Requests()), "request(s) received")
	// Output:
	// QUIET PLEASE
	// 1 request(s) received
}
