package consentsql_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/consent/consentsql"
	"github.com/inferlabs/privkit/consent/consenttest"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
)

func newSQL(t *testing.T, db *sqldb.DB) *consentsql.Store {
	t.Helper()
	s, err := consentsql.New(context.Background(), db.DB)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	consenttest.Run(t, func(t *testing.T) (consent.Store, func(t *testing.T) consent.Store) {
		db, path := sqldbtest.SQLitePath(t)
		return newSQL(t, db), func(t *testing.T) consent.Store {
			// A second handle on the same file, as a second process opens it.
			db2, err := sqldb.OpenSQLite(context.Background(), path)
			require.NoError(t, err)
			t.Cleanup(func() { db2.Close() })
			return newSQL(t, db2)
		}
	})
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	consenttest.Run(t, func(t *testing.T) (consent.Store, func(t *testing.T) consent.Store) {
		dsn := sqldbtest.PostgresDSN(t)
		return newSQL(t, sqldbtest.Open(t, dsn)), func(t *testing.T) consent.Store {
			return newSQL(t, sqldbtest.Open(t, dsn))
		}
	})
}

// TestPostgresNotifyTwoManagers shows the push path: B's Manager, with the
// default staleness bound and a clock that never moves, honours A's
// withdrawal on its next check once PostgreSQL's notification has arrived.
// The test waits for the notification on a channel (a watcher registered
// after B's, so B's cache is already cleared when it fires), not a sleep.
func TestPostgresNotifyTwoManagers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := sqldbtest.PostgresDSN(t)
	sa, sb := newSQL(t, sqldbtest.Open(t, dsn)), newSQL(t, sqldbtest.Open(t, dsn))
	fake := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	a, err := consent.New(sa, &consent.Options{Now: fake.Now})
	require.NoError(t, err)
	defer a.Close()
	b, err := consent.New(sb, &consent.Options{Now: fake.Now})
	require.NoError(t, err)
	defer b.Close()
	seen := make(chan string, 16)
	stop, complete := sb.Watch(func(s string) { seen <- s })
	defer stop()
	assert.False(t, complete, "a SQL store cannot vouch for writers in other processes")
	require.NoError(t, sb.WaitListening(ctx))

	_, err = a.Grant(ctx, "x", consent.Advertising, consent.Meta{Method: consent.MethodAccept, Region: "DE"})
	require.NoError(t, err)
	waitFor(t, seen, "x")
	ok, err := b.Allowed(ctx, "x", consent.Advertising)
	require.NoError(t, err)
	require.True(t, ok, "B loads A's grant")

	fake.Advance(time.Millisecond)
	_, err = a.Withdraw(ctx, "x", consent.Advertising, consent.Meta{Method: consent.MethodSettings})
	require.NoError(t, err)
	waitFor(t, seen, "x")
	ok, err = b.Allowed(ctx, "x", consent.Advertising)
	require.NoError(t, err)
	assert.False(t, ok, "B honours A's withdrawal on its next check, without its staleness bound passing")
}

func waitFor(t *testing.T, ch <-chan string, subject string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-ch:
			if s == subject {
				return
			}
		case <-timeout:
			t.Fatal("no notification within 10 s")
		}
	}
}

func TestCurrentView(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newSQL(t, db)
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, d := range []consent.Decision{
			{Subject: "v", Purpose: "analytics", Granted: true, Method: consent.MethodAccept, Time: at},
			{Subject: "v", Purpose: "analytics", Granted: false, Method: consent.MethodReject, Time: at.Add(-time.Minute)},
			{Subject: "v", Purpose: "advertising", Granted: false, Method: consent.MethodReject, Time: at},
			{Subject: "v", Purpose: "advertising", Granted: true, Method: consent.MethodSettings, Time: at},
			{Subject: "w", Purpose: "analytics", Granted: false, Method: consent.MethodReject, Time: at},
		} {
			_, err := s.Append(ctx, d)
			require.NoError(t, err)
		}
		cur, err := s.Current(ctx, "v")
		require.NoError(t, err)
		require.Len(t, cur, 2, "one row per purpose")
		assert.Equal(t, "advertising", cur[0].Purpose)
		assert.True(t, cur[0].Granted, "equal times: the higher sequence number wins")
		assert.Equal(t, "analytics", cur[1].Purpose)
		assert.True(t, cur[1].Granted, "an older decision arriving late does not replace the current one")
	})
}

func TestNewRejectsBadHandles(t *testing.T) {
	t.Parallel()
	_, err := consentsql.New(context.Background(), nil)
	require.Error(t, err)
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s := newSQL(t, sqldbtest.SQLite(t))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	_, err := s.Append(context.Background(), consent.Decision{Subject: "a", Purpose: "analytics", Method: consent.MethodReject, Time: time.Now()})
	require.ErrorIs(t, err, consentsql.ErrClosed)
	_, err = s.History(context.Background(), "a")
	require.ErrorIs(t, err, consentsql.ErrClosed)
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPostgresListenerReconnects kills the listening connection and checks
// that watchers hear "something may have changed" and that notifications
// flow again once the listener has reconnected.
func TestPostgresListenerReconnects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := sqldbtest.PostgresDSN(t)
	const app = "privkit_consent_reconnect_test"
	sep := "&"
	if !strings.Contains(dsn, "?") {
		sep = "?"
	}
	admin := sqldbtest.Open(t, dsn)
	s := newSQL(t, sqldbtest.Open(t, dsn+sep+"application_name="+app))
	seen := make(chan string, 64)
	stop, _ := s.Watch(func(subject string) {
		select {
		case seen <- subject:
		default:
		}
	})
	defer stop()
	require.NoError(t, s.WaitListening(ctx))

	var killed int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ? AND query LIKE 'LISTEN%'", app).Scan(&killed))
	require.Equal(t, 1, killed, "one listening connection")
	waitFor(t, seen, "")

	other := newSQL(t, sqldbtest.Open(t, dsn))
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// The listener reconnects after a short backoff; notifications sent
	// before it has re-subscribed are covered by the Manager's staleness
	// bound, so keep appending until one arrives.
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 50, "notifications never resumed")
		subject := "r" + strconv.Itoa(attempt)
		_, err := other.Append(ctx, consent.Decision{Subject: subject, Purpose: "analytics", Method: consent.MethodReject, Time: at})
		require.NoError(t, err)
		if waitForWithin(seen, subject, 500*time.Millisecond) {
			break
		}
	}
}

func waitForWithin(ch <-chan string, subject string, d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case s := <-ch:
			if s == subject {
				return true
			}
		case <-timeout:
			return false
		}
	}
}
