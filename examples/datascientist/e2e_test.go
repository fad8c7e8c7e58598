package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit"
	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/llm/openai"
	"github.com/inferlabs/privkit/llm/openai/openaifake"
)

// TestStorySQLite runs the main example exactly as `go run` does, on the
// embedded default, and fails if any promise breaks.
func TestStorySQLite(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("GEMINI_API_KEY", "")
	var out bytes.Buffer
	err := run(context.Background(), t.TempDir(), &out)
	t.Log(out.String())
	require.NoError(t, err, "every promise of the story must hold")
	assert.Contains(t, out.String(), " 0 broken.")
	assert.NotContains(t, out.String(), "BROKEN")
}

// TestStoryPostgresTwoInstances runs the same story on PostgreSQL with two
// full sets of privkit objects sharing one database: the user's requests
// land on A, and B enforces A's consent, sweeps what A created and completes
// the erasure A received; both append to one verifiable audit log.
func TestStoryPostgresTwoInstances(t *testing.T) {
	dsn := sqldbtest.PostgresDSN(t)
	ctx := context.Background()
	dir := t.TempDir()
	secrets, err := LoadSecrets(filepath.Join(dir, "secrets"))
	require.NoError(t, err)

	srv := openaifake.NewServer(nil)
	defer srv.Close()
	facts := openai.DefaultFacts()
	providers := []llm.Provider{openai.New("", &openai.Options{BaseURL: srv.URL, Facts: &facts})}
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	analytics := &Analytics{}

	newInstance := func(name string) *Service {
		db, err := privkit.OpenPostgres(ctx, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		svc, err := NewService(ctx, Config{Name: name, DB: db, Postgres: true, Dir: filepath.Join(dir, name), Secrets: secrets,
			Now: clk.Now, Providers: providers, Analytics: analytics})
		require.NoError(t, err)
		t.Cleanup(func() { svc.Close() })
		return svc
	}
	a, b := newInstance("node-a"), newInstance("node-b")

	var out bytes.Buffer
	st := &Story{A: a, B: b, Clock: clk, Fake: fakeServer{srv}, Analytics: analytics, Out: &out}
	err = st.Run(ctx)
	t.Log(out.String())
	require.NoError(t, err, "every promise must hold across two instances")
	text := out.String()
	assert.Contains(t, text, "instance node-b refuses analytics for alice", "consent recorded on A is enforced on B")
	assert.Contains(t, text, "retention sweep on node-b", "B's sweeper deletes what A tracked")
	assert.Contains(t, text, "Erasure: started on node-a, completed on node-b")

	// Both instances appended to one log, which verifies as a whole.
	for _, svc := range []*Service{a, b} {
		res, err := audit.Verify(ctx, svc.Log.Store(), &audit.VerifyOptions{Verifier: svc.Verifier})
		require.NoError(t, err, "the shared audit log verifies from %s", svc.cfg.Name)
		assert.Greater(t, res.Size, uint64(20))
	}
	sizeA, err := a.Log.Size(ctx)
	require.NoError(t, err)
	sizeB, err := b.Log.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, sizeA, sizeB, "one log, one size, whichever instance asks")
	assert.True(t, strings.Contains(text, "on node-b"))
}
