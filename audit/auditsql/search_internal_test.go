package auditsql

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/audittest"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
)

// fill appends n events from 8 goroutines (so batches hold several
// entries), with times that are not monotone in the index.
func fill(t *testing.T, l *audit.Log, from, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < from+n; i += 8 {
				e := audittest.Event(i)
				e.Time = audittest.T0.Add(time.Duration((i*7919)%n) * time.Minute)
				if _, err := l.Append(context.Background(), e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// want filters the store's records the slow way.
func want(t *testing.T, s *Store, f audit.Filter) []uint64 {
	t.Helper()
	n, err := s.Size(context.Background())
	require.NoError(t, err)
	recs, err := s.ReadRecords(context.Background(), 0, n)
	require.NoError(t, err)
	var out []uint64
	for _, r := range recs {
		if r.Index < f.Start || r.Data == nil ||
			f.Subject != "" && r.Subject != f.Subject || f.Actor != "" && r.Actor != f.Actor ||
			f.Resource != "" && r.Resource != f.Resource || f.Action != "" && r.Action != f.Action ||
			!f.Since.IsZero() && r.Time.Before(f.Since) || !f.Until.IsZero() && !r.Time.Before(f.Until) {
			continue
		}
		if len(out) < max(f.Limit, 1) {
			out = append(out, r.Index)
		}
	}
	return out
}

func checkSearches(t *testing.T, s *Store) {
	t.Helper()
	at := func(m int) time.Time { return audittest.T0.Add(time.Duration(m) * time.Minute) }
	filters := []audit.Filter{
		{Subject: "user:u_1"},
		{Subject: "user:u_3", Start: 37},
		{Actor: "employee:e_2", Limit: 7},
		{Actor: "employee:e_0", Since: at(40), Until: at(120)},
		{Resource: "workspace/ws_1/file/99"},
		{Resource: "workspace/ws_0/file/7", Subject: "user:u_2"},
		{Subject: "user:u_4", Actor: "employee:e_1", Limit: 3, Start: 10},
		{Since: at(100)},
		{Until: at(30), Start: 50},
		{Since: at(10), Until: at(20)},
		{Action: "workspace.file.read", Start: 150},
		{Subject: "user:nobody"},
		{Since: at(1 << 20)},
		{},
	}
	for i, f := range filters {
		f.Limit = max(f.Limit, 1000)
		if i%3 == 0 {
			f.Limit = 5
		}
		recs, err := s.Search(context.Background(), f)
		require.NoError(t, err)
		var got []uint64
		for _, r := range recs {
			got = append(got, r.Index)
		}
		require.Equal(t, want(t, s, f), got, "filter %d %+v", i, f)
	}
}

// TestSearchMatchesScan checks every kind of search against a scan, before
// and after a strip that leaves some batches partly stripped.
func TestSearchMatchesScan(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := New(ctx, db.DB)
		require.NoError(t, err)
		s.stripPerTx = 3 // several strip transactions
		k := audittest.NewKeys(t, "audit.example.com/search")
		fake := clock.NewFake(audittest.T0.Add(300 * time.Minute))
		l, err := audit.Open(ctx, s, k.Signer, &audit.Options{Now: fake.Now, Retention: 200 * time.Minute})
		require.NoError(t, err)
		defer l.Close()
		fill(t, l, 0, 200)
		checkSearches(t, s)
		n, err := l.ApplyRetention(ctx) // strips the events of minutes 0–99
		require.NoError(t, err)
		require.Equal(t, 100, n)
		checkSearches(t, s)
		fill(t, l, 200, 40)
		checkSearches(t, s)
		_, err = audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.Verifier})
		require.NoError(t, err)
	})
}

// TestMigrateFromV1 opens a database written with the first schema (per-entry
// indexes) and checks that searches, retention and verification work on it
// after the upgrade.
func TestMigrateFromV1(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// A log written by the current code, copied row by row into a
		// database at schema version 1.
		src, err := New(ctx, sqldbtest.SQLite(t).DB)
		require.NoError(t, err)
		k := audittest.NewKeys(t, "audit.example.com/migrate")
		fake := clock.NewFake(audittest.T0.Add(300 * time.Minute))
		opts := &audit.Options{Now: fake.Now, Retention: 250 * time.Minute}
		l, err := audit.Open(ctx, src, k.Signer, opts)
		require.NoError(t, err)
		fill(t, l, 0, 120)
		_, err = l.ApplyRetention(ctx)
		require.NoError(t, err)
		require.NoError(t, l.Close())

		require.NoError(t, sqldb.Migrate(ctx, db, "audit", migrations[:1]))
		n, err := src.Size(ctx)
		require.NoError(t, err)
		rs, err := src.db.Query(ctx, "SELECT "+recordColumns+" FROM audit_entries ORDER BY seq")
		require.NoError(t, err)
		for rs.Next() {
			var seq, ns int64
			var data, hashes []byte
			require.NoError(t, rs.Scan(&seq, &data, &hashes, &ns))
			var id [4]any // the version 1 identity columns, NULL once stripped
			if data != nil {
				actor, action, resource, subject := leafIdentity(data)
				for i, v := range [4]string{actor, subject, resource, action} {
					if v != "" {
						id[i] = v
					}
				}
			}
			_, err := db.Exec(ctx, "INSERT INTO audit_entries (seq, data, hashes, time_ns, actor, subject, resource, action) VALUES (?,?,?,?,?,?,?,?)",
				seq, data, hashes, ns, id[0], id[1], id[2], id[3])
			require.NoError(t, err)
		}
		require.NoError(t, rs.Err())
		rs.Close()
		_, err = db.Exec(ctx, "UPDATE audit_head SET size = ?", int64(n))
		require.NoError(t, err)

		s, err := New(ctx, db.DB)
		require.NoError(t, err)
		checkSearches(t, s)
		_, err = audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.Verifier})
		require.NoError(t, err)
		l, err = audit.Open(ctx, s, k.Signer, opts)
		require.NoError(t, err)
		defer l.Close()
		fill(t, l, 120, 40)
		fake.Advance(30 * time.Minute)
		stripped, err := l.ApplyRetention(ctx)
		require.NoError(t, err)
		require.Positive(t, stripped, "old and new entries strip")
		checkSearches(t, s)
		_, err = audit.Verify(ctx, s, &audit.VerifyOptions{Verifier: k.Verifier})
		require.NoError(t, err)
	})
}

// FuzzDecodePosting checks that any stored posting bytes decode to an
// increasing list or an error, never a panic, and that encoding round-trips.
func FuzzDecodePosting(f *testing.F) {
	f.Add(int64(0), []byte{0})
	f.Add(int64(64), []byte{0, 1, 5, 0x80, 0x01})
	f.Add(int64(7), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, first int64, b []byte) {
		seqs, err := decodePosting(first, b)
		if err != nil {
			return
		}
		p := postings{first: first}
		for i, q := range seqs {
			if q < first || (i > 0 && q <= seqs[i-1]) {
				t.Fatalf("posting decodes to a non-increasing list %v", seqs)
			}
			p.add(q, "user:u", "", "")
		}
		if len(seqs) > 0 {
			again, err := decodePosting(first, p.lists["s:user:u"])
			require.NoError(t, err)
			require.Equal(t, seqs, again)
		}
	})
}
