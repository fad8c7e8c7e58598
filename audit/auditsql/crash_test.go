package auditsql_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/auditsql"
	"github.com/inferlabs/privkit/internal/sqldb"
)

// The crash test's key is public and for tests only.
const (
	crashSKey = "PRIVATE+KEY+example.com/audit-test+b256ea33+Af+HsTdy3teJi4VmhIWzNvqsLB1dpcEVLLCA847cKs38"
	crashVKey = "example.com/audit-test+b256ea33+AYAQOlK+NMeNuYKMpP12fU/pbLAyaVdBu2P13xDH0mRN"
	crashEnv  = "AUDITSQL_CRASH_CHILD_DB"
)

// TestCrashRecovery runs a child process that appends from many goroutines
// to a SQLite log and prints every acknowledged index, kills it with
// SIGKILL at a random moment, reopens the database and verifies the whole
// log and that every acknowledged entry is there, many times over.
func TestCrashRecovery(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	kills := 12
	if s := os.Getenv("AUDITSQL_CRASH_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	path := filepath.Join(t.TempDir(), "audit.db")
	v, err := note.NewVerifier(crashVKey)
	require.NoError(t, err)
	type ack struct{ run, g, seq int }
	acked := map[uint64]ack{}
	for run := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, "AUDITSQL_CRASH_RUN="+strconv.Itoa(run))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Kill at a random moment after the child is appending.
		first, ok := <-lines
		require.True(t, ok, "child started appending")
		kill := time.After(time.Duration(20+rand.IntN(200)) * time.Millisecond)
		got := []string{first}
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				got = append(got, l)
			case <-kill:
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				kill = nil
			}
		}
		_ = cmd.Wait()
		for _, l := range got {
			var idx uint64
			var a ack
			if _, err := fmt.Sscanf(l, "ack %d %d %d %d", &idx, &a.run, &a.g, &a.seq); err != nil {
				continue // the last line may be cut by the kill
			}
			require.Equal(t, run, a.run)
			_, dup := acked[idx]
			require.False(t, dup, "index %d acknowledged twice", idx)
			acked[idx] = a
		}

		// Reopen as a restarted host would, and check everything.
		ctx := context.Background()
		db, err := sqldb.OpenSQLite(ctx, path)
		require.NoError(t, err)
		store, err := auditsql.New(ctx, db.DB)
		require.NoError(t, err)
		res, err := audit.Verify(ctx, store, &audit.VerifyOptions{Verifier: v})
		require.NoError(t, err, "after kill %d the log verifies", run)
		recs, err := store.ReadRecords(ctx, 0, res.Size)
		require.NoError(t, err)
		for idx, a := range acked {
			require.Less(t, idx, res.Size, "acknowledged entry %d survived kill %d", idx, run)
			e, err := audit.ParseEntry(recs[idx].Data)
			require.NoError(t, err)
			want := fmt.Sprintf("workspace/run_%d/g_%d/%d", a.run, a.g, a.seq)
			require.Equal(t, want, e.Event.Resource, "entry %d holds what was acknowledged", idx)
		}
		require.NoError(t, db.Close())
		t.Logf("kill %d: %d entries, %d acknowledged in all", run, res.Size, len(acked))
	}
	assert.NotEmpty(t, acked)
}

// crashChild appends until killed, printing "ack <index> <run> <goroutine>
// <seq>" for every acknowledged append.
func crashChild(path string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	run, _ := strconv.Atoi(os.Getenv("AUDITSQL_CRASH_RUN"))
	db, err := sqldb.OpenSQLite(ctx, path)
	if err != nil {
		fail(err)
	}
	store, err := auditsql.New(ctx, db.DB)
	if err != nil {
		fail(err)
	}
	signer, err := note.NewSigner(crashSKey)
	if err != nil {
		fail(err)
	}
	l, err := audit.Open(ctx, store, signer, &audit.Options{CheckpointInterval: 15 * time.Millisecond})
	if err != nil {
		fail(err)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(20 * time.Second) // never outlive a lost parent
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; time.Now().Before(deadline); seq++ {
				idx, err := l.Append(ctx, audit.Event{
					Actor: "service:crash", Action: "crash.append",
					Resource: fmt.Sprintf("workspace/run_%d/g_%d/%d", run, g, seq),
				})
				if err != nil {
					fail(err)
				}
				mu.Lock()
				fmt.Fprintf(w, "ack %d %d %d %d\n", idx, run, g, seq)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}
