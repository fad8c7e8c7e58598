// Package workspacetest holds the conformance suite every
// [workspace.Store] passes, and a test [Cipher], in the manner of
// testing/fstest. Only tests import it.
package workspacetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace"
)

// Run runs the conformance suite against stores made by newStore, which
// returns a new, empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) workspace.Store) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	rec := func(user, id, node string) workspace.Record {
		return workspace.Record{User: user, ID: id, Node: node, Created: t0, LastActive: t0}
	}
	ctx := context.Background()

	t.Run("GetMissing", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(ctx, "u_nobody")
		assert.ErrorIs(t, err, workspace.ErrNotFound, "a missing record is ErrNotFound")
	})

	t.Run("InsertAndGet", func(t *testing.T) {
		s := newStore(t)
		in := rec("u_a", "id_a", "n1")
		in.OldestFile = t0.Add(time.Minute)
		got, err := s.Put(ctx, in)
		require.NoError(t, err)
		assertRecord(t, in, got, "Put returns the inserted record")
		got, err = s.Get(ctx, "u_a")
		require.NoError(t, err)
		assertRecord(t, in, got, "Get returns it with nanosecond times")
		assert.True(t, got.LastActive.Equal(t0))
	})

	t.Run("ZeroTimesRoundTrip", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Put(ctx, rec("u_z", "id_z", "n1"))
		require.NoError(t, err)
		got, err := s.Get(ctx, "u_z")
		require.NoError(t, err)
		assert.True(t, got.OldestFile.IsZero(), "a zero OldestFile (no files) stays zero")
		assert.False(t, got.Deleting)
	})

	t.Run("UpdateMergesFields", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Put(ctx, rec("u_m", "id_m", "n1"))
		require.NoError(t, err)
		up := workspace.Record{User: "u_m", ID: "id_m", Node: "n2", Created: t0.Add(time.Hour),
			LastActive: t0.Add(10 * time.Minute), OldestFile: t0.Add(5 * time.Minute)}
		got, err := s.Put(ctx, up)
		require.NoError(t, err)
		assert.Equal(t, "n2", got.Node, "Node is replaced")
		assert.True(t, got.Created.Equal(t0), "Created never changes")
		assert.True(t, got.LastActive.Equal(t0.Add(10*time.Minute)), "LastActive moves forward")
		assert.True(t, got.OldestFile.Equal(t0.Add(5*time.Minute)), "OldestFile is replaced")

		back := up
		back.LastActive = t0.Add(time.Minute)
		back.OldestFile = time.Time{}
		back.Deleting = true
		got, err = s.Put(ctx, back)
		require.NoError(t, err)
		assert.True(t, got.LastActive.Equal(t0.Add(10*time.Minute)), "LastActive never moves backwards")
		assert.True(t, got.OldestFile.IsZero(), "OldestFile may be cleared")
		assert.True(t, got.Deleting, "Deleting is set")

		back.Deleting = false
		back.LastActive = t0.Add(time.Hour)
		got, err = s.Put(ctx, back)
		require.NoError(t, err)
		assert.True(t, got.Deleting, "Deleting is never cleared")
		stored, err := s.Get(ctx, "u_m")
		require.NoError(t, err)
		assertRecord(t, got, stored, "Put returns what Get then reads")
	})

	t.Run("PutOtherIDLosesToStored", func(t *testing.T) {
		s := newStore(t)
		first := rec("u_r", "id_first", "n1")
		_, err := s.Put(ctx, first)
		require.NoError(t, err)
		other := rec("u_r", "id_second", "n2")
		other.LastActive = t0.Add(time.Hour)
		got, err := s.Put(ctx, other)
		require.NoError(t, err)
		assertRecord(t, first, got, "a Put with another ID returns the stored record")
		stored, err := s.Get(ctx, "u_r")
		require.NoError(t, err)
		assertRecord(t, first, stored, "and leaves it alone")
	})

	t.Run("RacingCreatorsAgree", func(t *testing.T) {
		s := newStore(t)
		const n = 8
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.Put(ctx, rec("u_race", fmt.Sprintf("id_%d", i), "n1"))
				if assert.NoError(t, err) {
					ids[i] = got.ID
				}
			}()
		}
		wg.Wait()
		for i := 1; i < n; i++ {
			assert.Equal(t, ids[0], ids[i], "every creator learns the one winner")
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Put(ctx, rec("u_d", "id_d", "n1"))
		require.NoError(t, err)
		require.NoError(t, s.Delete(ctx, "u_d", "id_other"), "a Delete with another ID is no error")
		_, err = s.Get(ctx, "u_d")
		require.NoError(t, err, "and deletes nothing")
		require.NoError(t, s.Delete(ctx, "u_d", "id_d"))
		_, err = s.Get(ctx, "u_d")
		assert.ErrorIs(t, err, workspace.ErrNotFound)
		require.NoError(t, s.Delete(ctx, "u_d", "id_d"), "deleting twice is no error")
		_, err = s.Put(ctx, rec("u_d", "id_d2", "n1"))
		require.NoError(t, err, "the user may get a new workspace")
	})

	t.Run("ListByNode", func(t *testing.T) {
		s := newStore(t)
		for _, r := range []workspace.Record{rec("u_1", "id_1", "n1"), rec("u_2", "id_2", "n2"), rec("u_3", "id_3", "n1")} {
			_, err := s.Put(ctx, r)
			require.NoError(t, err)
		}
		got, err := s.List(ctx, "n1")
		require.NoError(t, err)
		ids := map[string]bool{}
		for _, r := range got {
			ids[r.ID] = true
			assert.Equal(t, "n1", r.Node)
		}
		assert.Equal(t, map[string]bool{"id_1": true, "id_3": true}, ids, "List returns exactly the node's records")
		got, err = s.List(ctx, "n3")
		require.NoError(t, err)
		assert.Empty(t, got)
	})
}

func assertRecord(t *testing.T, want, got workspace.Record, msg string) {
	t.Helper()
	assert.Equal(t, want.User, got.User, msg)
	assert.Equal(t, want.ID, got.ID, msg)
	assert.Equal(t, want.Node, got.Node, msg)
	assert.Equal(t, want.Deleting, got.Deleting, msg)
	for _, p := range []struct {
		field     string
		want, got time.Time
	}{{"Created", want.Created, got.Created}, {"LastActive", want.LastActive, got.LastActive}, {"OldestFile", want.OldestFile, got.OldestFile}} {
		assert.True(t, p.want.Equal(p.got), "%s: %s: want %v, got %v", msg, p.field, p.want, p.got)
	}
}
