package wire

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNewBase(t *testing.T) {
	t.Parallel()
	official := func() string { return "official" }
	other := func(name string) string { return "other:" + name }
	explicit := "explicit"
	hc := &http.Client{}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		cfg     Config[string]
		wantURL string
		wantNm  string
		wantMdl string
		facts   string
	}{
		{"all defaults: official facts", Config[string]{DefaultBaseURL: "https://api/v1", DefaultName: "p", DefaultModel: "m", OfficialFacts: official, OtherFacts: other},
			"https://api/v1", "p", "m", "official"},
		{"trailing slashes trimmed, still official", Config[string]{BaseURL: "https://api/v1//", DefaultBaseURL: "https://api/v1", DefaultName: "p", OfficialFacts: official, OtherFacts: other},
			"https://api/v1", "p", "", "official"},
		{"other server: other facts with the configured name", Config[string]{BaseURL: "http://local", DefaultBaseURL: "https://api/v1", Name: "loc", DefaultName: "p", Model: "x", DefaultModel: "m", OfficialFacts: official, OtherFacts: other},
			"http://local", "loc", "x", "other:loc"},
		{"explicit facts win", Config[string]{BaseURL: "http://local", DefaultBaseURL: "https://api/v1", Facts: &explicit, OfficialFacts: official, OtherFacts: other},
			"http://local", "", "", "explicit"},
		{"no OtherFacts: official facts for any server", Config[string]{BaseURL: "http://local", DefaultBaseURL: "https://api/v1", OfficialFacts: official},
			"http://local", "", "", "official"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := NewBase(tt.cfg)
			assert.Equal(t, tt.wantURL, b.BaseURL)
			assert.Equal(t, tt.wantNm, b.Name)
			assert.Equal(t, tt.wantMdl, b.Model)
			assert.Equal(t, tt.facts, b.Facts)
			assert.Same(t, http.DefaultClient, b.HC, "nil client means http.DefaultClient")
			assert.NotNil(t, b.Now)
		})
	}
	b := NewBase(Config[string]{Label: "x.Provider", Key: "sk-secret", Name: "n", BaseURL: "http://h", HTTPClient: hc, Now: func() time.Time { return fixed }})
	assert.Same(t, hc, b.HC)
	assert.Equal(t, fixed, b.Now())
	assert.Equal(t, "x.Provider{n http://h}", b.String())
	assert.False(t, strings.Contains(b.String(), "sk-secret"), "String never prints the key")
}
