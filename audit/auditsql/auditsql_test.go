package auditsql_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/auditsql"
	"github.com/inferlabs/privkit/audit/audittest"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		audittest.Run(t, func(t *testing.T) audit.Store {
			s, err := auditsql.New(context.Background(), sqldbtest.SQLite(t).DB)
			require.NoError(t, err)
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		sqldbtest.PostgresDSN(t) // skips, saying why, without a database
		audittest.Run(t, func(t *testing.T) audit.Store {
			s, err := auditsql.New(context.Background(), sqldbtest.Postgres(t).DB)
			require.NoError(t, err)
			return s
		})
	})
}

// TestPostgresSharedSequencer appends through two logs on two database
// handles, as two service instances would, and checks that they built one
// valid chain and tree with every acknowledged entry in it.
func TestPostgresSharedSequencer(t *testing.T) {
	t.Parallel()
	dsn := sqldbtest.PostgresDSN(t)
	ctx := context.Background()
	k := audittest.NewKeys(t, "audit.example.com/shared")
	var logs []*audit.Log
	var stores []*auditsql.Store
	for range 2 {
		s, err := auditsql.New(ctx, sqldbtest.Open(t, dsn).DB)
		require.NoError(t, err)
		l, err := audit.Open(ctx, s, k.Signer, nil)
		require.NoError(t, err)
		t.Cleanup(func() { l.Close() })
		logs = append(logs, l)
		stores = append(stores, s)
	}
	const writers, each = 8, 25
	var mu sync.Mutex
	acked := map[uint64]string{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := logs[w%2]
			for j := range each {
				ev := audittest.Event(w*each + j)
				idx, err := l.Append(ctx, ev)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				_, dup := acked[idx]
				assert.False(t, dup, "index %d handed out twice", idx)
				acked[idx] = ev.Resource
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	_, err := logs[0].Checkpoint(ctx)
	require.NoError(t, err)
	_, err = logs[1].Checkpoint(ctx)
	require.NoError(t, err)
	res, err := audit.Verify(ctx, stores[1], &audit.VerifyOptions{Verifier: k.Verifier})
	require.NoError(t, err, "two instances built one valid log")
	require.EqualValues(t, writers*each, res.Size)
	for idx, resource := range acked {
		e, err := logs[1].Entry(ctx, idx)
		require.NoError(t, err)
		require.Equal(t, resource, e.Event.Resource)
	}
}

// TestTamperedRows edits the SQL rows directly, as an attacker with
// database access would, and expects Verify to name the first bad entry,
// and readers to return clear errors for corrupt rows.
func TestTamperedRows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		sql       string
		wantIndex uint64
	}{
		{"payload edited", "UPDATE audit_entries SET data = ? WHERE seq = 4", 4},
		{"row deleted", "DELETE FROM audit_entries WHERE seq = 3", 3},
		{"rows reordered", "UPDATE audit_entries SET seq = -1 WHERE seq = 2; UPDATE audit_entries SET seq = 2 WHERE seq = 5; UPDATE audit_entries SET seq = 5 WHERE seq = -1", 2},
		{"tail truncated", "DELETE FROM audit_entries WHERE seq >= 6", 6},
		{"entry stripped early and its hash replaced", "UPDATE audit_entries SET data = NULL, hashes = ? WHERE seq = 7", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := sqldbtest.SQLite(t)
			s, err := auditsql.New(ctx, db.DB)
			require.NoError(t, err)
			k := audittest.NewKeys(t, "audit.example.com/tamper")
			l, err := audit.Open(ctx, s, k.Signer, nil)
			require.NoError(t, err)
			defer l.Close()
			for i := range 10 {
				_, err := l.Append(ctx, audittest.Event(i))
				require.NoError(t, err)
			}
			_, err = l.Checkpoint(ctx)
			require.NoError(t, err)
			recs, err := s.ReadRecords(ctx, 4, 5)
			require.NoError(t, err)
			var args []any
			switch {
			case tc.name == "payload edited":
				d := append([]byte(nil), recs[0].Data...)
				d[len(d)-3] ^= 0x20
				args = []any{d}
			case tc.wantIndex == 7:
				args = []any{make([]byte, 32)}
			}
			for _, q := range strings.Split(tc.sql, "; ") {
				_, err = db.Exec(ctx, q, args...)
				require.NoError(t, err)
			}
			_, err = audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.Verifier})
			var ve *audit.VerifyError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.wantIndex, ve.Index, "%v", err)
		})
	}
}

func TestCorruptRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	s, err := auditsql.New(ctx, db.DB)
	require.NoError(t, err)
	k := audittest.NewKeys(t, "audit.example.com/corrupt")
	l, err := audit.Open(ctx, s, k.Signer, nil)
	require.NoError(t, err)
	defer l.Close()
	for i := range 4 {
		_, err := l.Append(ctx, audittest.Event(i))
		require.NoError(t, err)
	}
	_, err = db.Exec(ctx, "UPDATE audit_entries SET hashes = x'0102' WHERE seq = 1")
	require.NoError(t, err)
	_, err = l.Entry(ctx, 1)
	require.ErrorContains(t, err, "corrupt hashes column", "a corrupt row is a clear error")
	_, err = l.InclusionProof(ctx, 0, 4)
	require.Error(t, err, "a proof that needs the corrupt row fails")
	_, err = db.Exec(ctx, "UPDATE audit_entries SET hashes = ?, data = x'00' WHERE seq = 1", make([]byte, 32))
	require.NoError(t, err)
	_, err = l.Entry(ctx, 1)
	require.ErrorIs(t, err, audit.ErrTampered, "an undecodable leaf is reported as tampering")
	_, err = l.Append(ctx, audittest.Event(9))
	require.NoError(t, err, "appends continue: they do not depend on the damaged row")
}

// TestStripLeavesNoTrace checks that retention removes stripped payloads
// from every file of the SQLite database, indexes and WAL included.
func TestStripLeavesNoTrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := sqldbtest.SQLitePath(t)
	s, err := auditsql.New(ctx, db.DB)
	require.NoError(t, err)
	k := audittest.NewKeys(t, "audit.example.com/strip")
	now := audittest.T0
	l, err := audit.Open(ctx, s, k.Signer, &audit.Options{Now: func() time.Time { return now }})
	require.NoError(t, err)
	defer l.Close()
	const marker = "zq7-secret-resource-marker"
	for i := range 50 {
		_, err := l.Append(ctx, audit.Event{Actor: "employee:" + marker, Action: "workspace.file.read",
			Resource: fmt.Sprintf("workspace/%s/%d", marker, i), Subject: "user:" + marker})
		require.NoError(t, err)
	}
	present := func() bool {
		found := false
		for _, f := range []string{path, path + "-wal"} {
			if data, err := os.ReadFile(f); err == nil && bytes.Contains(data, []byte(marker)) {
				found = true
			}
		}
		return found
	}
	require.True(t, present(), "precondition: the payload is in the database files")
	now = now.Add(400 * 24 * time.Hour)
	_, err = l.Append(ctx, audittest.Event(1))
	require.NoError(t, err)
	n, err := l.ApplyRetention(ctx)
	require.NoError(t, err)
	require.Equal(t, 50, n)
	assert.False(t, present(), "no file of the database still holds stripped bytes")
	_, err = audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.Verifier})
	require.NoError(t, err)
}
