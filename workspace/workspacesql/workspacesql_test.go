package workspacesql_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/internal/sqldb/sqldbtest"
	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/workspacesql"
	"github.com/inferlabs/privkit/workspace/workspacetest"
)

func newStore(t *testing.T, db *sqldb.DB) *workspacesql.Store {
	t.Helper()
	s, err := workspacesql.New(context.Background(), db.DB)
	require.NoError(t, err)
	return s
}

func TestConformanceSQLite(t *testing.T) {
	t.Parallel()
	workspacetest.Run(t, func(t *testing.T) workspace.Store { return newStore(t, sqldbtest.SQLite(t)) })
}

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	workspacetest.Run(t, func(t *testing.T) workspace.Store { return newStore(t, sqldbtest.Postgres(t)) })
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		newStore(t, db)
		newStore(t, db) // a second open finds the table and applies nothing
	})
}

// TestManagerRestart runs a manager on each SQL store, restarts it after
// one workspace expired and another did not, and checks the expired one is
// gone (on SQLite: from every file of the database) and the live one
// intact.
func TestManagerRestart(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, db *sqldb.DB, files []string) {
		ctx := context.Background()
		store := newStore(t, db)
		fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		root, cipher := t.TempDir(), workspacetest.NewCipher()
		opts := &workspace.Options{Now: fake.Now, JanitorInterval: -1, Node: "n1",
			PlanResolver: func(ctx context.Context, user string) (string, error) {
				if user == "u_paid" {
					return workspace.PlanPaid, nil
				}
				return workspace.PlanFree, nil
			}}
		m, err := workspace.New(ctx, root, cipher, store, opts)
		require.NoError(t, err)
		ws, err := m.Open(ctx, "u_sqlite_pseudonym_7f3a")
		require.NoError(t, err)
		_, err = ws.Create(ctx, "a.csv", strings.NewReader("a,b\n1,2\n"))
		require.NoError(t, err)
		paid, err := m.Open(ctx, "u_paid")
		require.NoError(t, err)
		_, err = paid.Create(ctx, "p.csv", strings.NewReader("paid"))
		require.NoError(t, err)
		require.NoError(t, m.Close())

		fake.Advance(2 * time.Hour)
		m, err = workspace.New(ctx, root, cipher, store, opts)
		require.NoError(t, err)
		defer m.Close()
		_, err = store.Get(ctx, "u_sqlite_pseudonym_7f3a")
		assert.ErrorIs(t, err, workspace.ErrNotFound, "restart deleted the expired workspace's record")
		_, err = os.Stat(ws.Dir())
		assert.True(t, os.IsNotExist(err), "and its directory")
		paid, err = m.Open(ctx, "u_paid")
		require.NoError(t, err)
		rc, err := paid.Open(ctx, "p.csv")
		require.NoError(t, err, "the live workspace is intact")
		rc.Close()
		for _, p := range files {
			b, err := os.ReadFile(p)
			if os.IsNotExist(err) {
				continue
			}
			require.NoError(t, err)
			assert.NotContains(t, string(b), "u_sqlite_pseudonym_7f3a", "secure_delete and the WAL checkpoint leave no copy in %s", p)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		db, path := sqldbtest.SQLitePath(t)
		run(t, db, []string{path, path + "-wal"})
	})
	t.Run("postgres", func(t *testing.T) { run(t, sqldbtest.Postgres(t), nil) })
}

// TestFleetOnPostgres runs two managers (two nodes) on one PostgreSQL
// schema: each keeps its users on its own disk, refuses the other's users
// naming the right node, and deletes only its own directories.
func TestFleetOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := sqldbtest.PostgresDSN(t)
	storeA, storeB := newStore(t, sqldbtest.Open(t, dsn)), newStore(t, sqldbtest.Open(t, dsn))
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cipher := workspacetest.NewCipher() // one key store shared by the fleet
	a, err := workspace.New(ctx, t.TempDir(), cipher, storeA, &workspace.Options{Now: fake.Now, JanitorInterval: -1, Node: "node-a"})
	require.NoError(t, err)
	defer a.Close()
	b, err := workspace.New(ctx, t.TempDir(), cipher, storeB, &workspace.Options{Now: fake.Now, JanitorInterval: -1, Node: "node-b"})
	require.NoError(t, err)
	defer b.Close()

	wa, err := a.Open(ctx, "u_1")
	require.NoError(t, err)
	_, err = wa.Create(ctx, "x.csv", strings.NewReader("x"))
	require.NoError(t, err)
	wb, err := b.Open(ctx, "u_2")
	require.NoError(t, err)

	_, err = b.Open(ctx, "u_1")
	var wrong *workspace.WrongNodeError
	require.ErrorAs(t, err, &wrong, "node-b does not serve node-a's user")
	assert.Equal(t, "node-a", wrong.Node)
	assert.ErrorIs(t, err, workspace.ErrWrongNode)
	node, err := b.Locate(ctx, "u_1")
	require.NoError(t, err)
	assert.Equal(t, "node-a", node, "a router learns where to send the user")

	fake.Advance(2 * time.Hour)
	n, err := b.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "node-b's janitor deletes only node-b's workspace")
	_, err = os.Stat(wb.Dir())
	assert.True(t, os.IsNotExist(err))
	_, err = os.Stat(wa.Dir())
	assert.NoError(t, err, "node-a's directory is not node-b's to delete")
	n, err = a.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = os.Stat(wa.Dir())
	assert.True(t, os.IsNotExist(err))
}
