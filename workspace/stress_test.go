package workspace_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace"
)

// TestUseRacingJanitor runs users' operations while the clock jumps and the
// janitor deletes workspaces and files under them. Every operation either
// succeeds or fails with a clear error; nothing panics or half-writes; at
// the end, the disk holds exactly the live workspaces.
func TestUseRacingJanitor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	const users, rounds = 4, 25
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("u_stress_%d", u)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ws, err := e.m.Open(ctx, user)
				if !assert.NoError(t, err) {
					return
				}
				name := fmt.Sprintf("f%d.csv", i%3)
				body := strings.Repeat(name, 1000)
				_, err = ws.Create(ctx, name, strings.NewReader(body))
				if err != nil && !errors.Is(err, workspace.ErrExpired) {
					assert.NoError(t, err)
					return
				}
				rc, err := ws.Open(ctx, name)
				if err == nil {
					b, rerr := io.ReadAll(rc)
					rc.Close()
					if rerr == nil {
						assert.Equal(t, body, string(b), "a read returns a whole file")
					}
				} else if !errors.Is(err, workspace.ErrExpired) && !errors.Is(err, workspace.ErrNotFound) {
					assert.NoError(t, err)
					return
				}
				_, err = ws.List(ctx)
				if err != nil && !errors.Is(err, workspace.ErrExpired) {
					assert.NoError(t, err)
					return
				}
			}
		}()
	}
	for range rounds {
		e.clock.Advance(25 * time.Minute)
		_, err := e.m.Sweep(ctx)
		require.NoError(t, err)
		runtime.Gosched() // let the users run
	}
	close(stop)
	wg.Wait()

	// After everyone is idle past the TTL, the janitor leaves an empty root.
	e.clock.Advance(2 * time.Hour)
	_, err := e.m.Sweep(ctx)
	require.NoError(t, err)
	for _, d := range []string{"ws", "trash"} {
		ents, err := os.ReadDir(filepath.Join(e.root, d))
		require.NoError(t, err)
		assert.Empty(t, ents, "%s is empty once every workspace expired", d)
	}
	recs, err := e.store.List(ctx, "node-a")
	require.NoError(t, err)
	assert.Empty(t, recs)
}
