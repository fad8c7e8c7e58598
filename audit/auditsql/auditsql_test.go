package auditsql_test

import (
	"context"
	"testing"

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
