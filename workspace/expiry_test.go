package workspace_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/inferlabs/privkit/workspace"
)

const day = 24 * time.Hour

// planSwitch is a PlanResolver whose answers a test changes.
type planSwitch struct {
	mu    sync.Mutex
	plans map[string]string
	err   error
}

func (p *planSwitch) set(user, plan string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plans[user] = plan
}

func (p *planSwitch) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func (p *planSwitch) resolve(ctx context.Context, user string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return "", p.err
	}
	if n, ok := p.plans[user]; ok {
		return n, nil
	}
	return workspace.PlanFree, nil
}

func newPlans() *planSwitch { return &planSwitch{plans: map[string]string{}} }

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestFreeWorkspaceIdleExpiryByJanitor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_free")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	dir, id := ws.Dir(), ws.ID()

	e.clock.Advance(49 * time.Minute)
	n, err := e.m.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Empty(t, e.eventsOf(workspace.EventWarning), "no warning before WarnBefore (10 min) ahead of expiry")

	e.clock.Advance(2 * time.Minute) // 51 min idle: 9 min left
	_, err = e.m.Sweep(ctx)
	require.NoError(t, err)
	_, err = e.m.Sweep(ctx)
	require.NoError(t, err)
	warnings := e.eventsOf(workspace.EventWarning)
	require.Len(t, warnings, 2, "one warning per deadline, however many sweeps: the workspace's and the file's")
	for _, w := range warnings {
		assert.Equal(t, t0.Add(time.Hour), w.Deadline)
		assert.Equal(t, id, w.Workspace)
	}
	assert.ElementsMatch(t, []bool{true, false}, []bool{warnings[0].File == "", warnings[1].File == ""},
		"one warning is for the workspace, one for its file")

	e.clock.Advance(9 * time.Minute) // exactly 1 h idle
	n, err = e.m.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the idle workspace is deleted at its TTL")
	assert.False(t, exists(dir), "the directory is removed")
	assert.False(t, e.cipher.HasKey("workspace/"+id), "the workspace key is shredded")
	assert.True(t, e.cipher.Shredded("workspace/"+id))
	_, err = e.store.Get(ctx, "u_free")
	assert.ErrorIs(t, err, workspace.ErrNotFound, "the record is dropped")
	require.Len(t, e.eventsOf(workspace.EventExpired), 1)
	del := e.eventsOf(workspace.EventDeleted)
	require.Len(t, del, 1)
	assert.Equal(t, "idle", del[0].Reason)
	audits := e.auditsOf("workspace.delete")
	require.Len(t, audits, 1, "each deletion is an audit event")
	assert.Equal(t, "u_free", audits[0].Subject)
	assert.Equal(t, "workspace/"+id, audits[0].Resource)

	_, err = ws.List(ctx)
	assert.ErrorIs(t, err, workspace.ErrExpired, "an old handle reports expiry")
	fresh, err := e.m.Open(ctx, "u_free")
	require.NoError(t, err)
	assert.NotEqual(t, id, fresh.ID(), "the user starts again with a new workspace")
	list, err := fresh.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestExpiryEnforcedOnAccessWithoutJanitor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_lazy")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	dir := ws.Dir()
	e.clock.Advance(time.Hour + time.Second)
	_, err = ws.Stat(ctx, "a.csv")
	assert.ErrorIs(t, err, workspace.ErrExpired, "expired when touched, though no janitor ran")
	assert.False(t, exists(dir), "and deleted then and there")
	assert.Len(t, e.eventsOf(workspace.EventDeleted), 1)

	// Manager.Open of an expired workspace deletes it and gives a new one.
	ws2, err := e.m.Open(ctx, "u_lazy")
	require.NoError(t, err)
	_, err = ws2.Create(ctx, "b.csv", strings.NewReader("b"))
	require.NoError(t, err)
	dir2 := ws2.Dir()
	e.clock.Advance(2 * time.Hour)
	ws3, err := e.m.Open(ctx, "u_lazy")
	require.NoError(t, err)
	assert.NotEqual(t, ws2.ID(), ws3.ID())
	assert.False(t, exists(dir2))
	_, err = ws3.Stat(ctx, "b.csv")
	assert.ErrorIs(t, err, workspace.ErrNotFound)
}

func TestFreeFileMaxAgeDespiteActivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_busy")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "old.csv", strings.NewReader("old"))
	require.NoError(t, err)
	for range 5 { // active every 10 minutes
		e.clock.Advance(10 * time.Minute)
		_, err := ws.List(ctx)
		require.NoError(t, err)
	}
	_, err = ws.Create(ctx, "new.csv", strings.NewReader("new")) // at 50 min
	require.NoError(t, err)
	require.NoError(t, ws.Rename(ctx, "old.csv", "renamed.csv"), "renaming must not reset the age")
	e.clock.Advance(10 * time.Minute) // 60 min: old file's hard cap
	list, err := ws.List(ctx)
	require.NoError(t, err, "the workspace is alive: it was used")
	require.Len(t, list, 1, "the file uploaded an hour ago is gone on access")
	assert.Equal(t, "new.csv", list[0].Name())
	del := e.eventsOf(workspace.EventDeleted)
	require.Len(t, del, 1)
	assert.Equal(t, "max_age", del[0].Reason)
	assert.NotEmpty(t, del[0].File)
	assert.Len(t, dataFiles(t, ws.Dir()), 1, "its ciphertext is removed")
}

func TestPaidSevenDaysHardCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plans := newPlans()
	plans.set("u_paid", workspace.PlanPaid)
	start := time.Now()
	e := newEnv(t, &workspace.Options{PlanResolver: plans.resolve})
	ws, err := e.m.Open(ctx, "u_paid")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "week.csv", strings.NewReader("w"))
	require.NoError(t, err)

	// Used every 6 hours for a week: the janitor keeps the workspace, and
	// deletes the file exactly at 7 days, though the workspace is busy.
	for i := 1; i <= 28; i++ {
		e.clock.Advance(6 * time.Hour)
		_, err := e.m.Sweep(ctx)
		require.NoError(t, err)
		st, err := ws.Stat(ctx, "week.csv")
		if i < 28 {
			require.NoError(t, err, "file alive at %v", time.Duration(i)*6*time.Hour)
			assert.Equal(t, t0, st.ModTime())
		} else {
			assert.ErrorIs(t, err, workspace.ErrNotFound, "file gone at 7 days")
		}
	}
	require.Len(t, e.eventsOf(workspace.EventDeleted), 1)

	// Idle for 7 days: the janitor deletes the workspace.
	dir := ws.Dir()
	e.clock.Advance(7*day - time.Minute)
	n, err := e.m.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	warnings := e.eventsOf(workspace.EventWarning)
	require.Len(t, warnings, 2, "warned a day ahead of the file's cap and of the idle expiry")
	assert.NotEmpty(t, warnings[0].File)
	assert.Equal(t, t0.Add(6*day), warnings[0].Time, "the file warning comes one day before its 7-day cap")
	assert.Empty(t, warnings[1].File)
	e.clock.Advance(time.Minute)
	n, err = e.m.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.False(t, exists(dir))
	assert.Less(t, time.Since(start), 5*time.Second, "14 simulated days run on the fake clock")
}

func TestJanitorDeletesExpiredFilesOfUnloadedWorkspace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plans := newPlans()
	plans.set("u_p", workspace.PlanPaid)
	e := newEnv(t, &workspace.Options{PlanResolver: plans.resolve})
	ws, err := e.m.Open(ctx, "u_p")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "f.csv", strings.NewReader("f"))
	require.NoError(t, err)
	require.NoError(t, e.m.Close())
	e.clock.Advance(3 * day)
	e.start(t) // nothing loaded now
	e.clock.Advance(3 * day)
	_, err = e.m.Open(ctx, "u_p") // activity at day 6
	require.NoError(t, err)
	require.NoError(t, e.m.Close())
	e.start(t)
	e.clock.Advance(day)
	n, err := e.m.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the janitor loads the workspace to delete the 7-day-old file")
	rec, err := e.store.Get(ctx, "u_p")
	require.NoError(t, err)
	assert.True(t, rec.OldestFile.IsZero(), "the record no longer points at an old file")
	ws, err = e.m.Open(ctx, "u_p")
	require.NoError(t, err)
	list, err := ws.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestDowngradeAppliesAtNextCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plans := newPlans()
	plans.set("u_down", workspace.PlanPaid)
	plans.set("u_idle", workspace.PlanPaid)
	e := newEnv(t, &workspace.Options{PlanResolver: plans.resolve})
	busy, err := e.m.Open(ctx, "u_down")
	require.NoError(t, err)
	_, err = busy.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	idle, err := e.m.Open(ctx, "u_idle")
	require.NoError(t, err)
	idleDir := idle.Dir()

	e.clock.Advance(90 * time.Minute)
	_, err = busy.List(ctx) // activity; under paid the file lives on
	require.NoError(t, err)
	_, err = busy.Stat(ctx, "a.csv")
	require.NoError(t, err)

	plans.set("u_down", workspace.PlanFree)
	plans.set("u_idle", workspace.PlanFree)
	_, err = busy.Stat(ctx, "a.csv")
	assert.ErrorIs(t, err, workspace.ErrNotFound, "after the downgrade the 1-hour file cap applies at the next check")
	n, err := e.m.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the workspace idle for 90 min goes at the next sweep under the free plan")
	assert.False(t, exists(idleDir))
}

func TestPlanResolverFailureDeletesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plans := newPlans()
	plans.set("u_x", workspace.PlanPaid)
	e := newEnv(t, &workspace.Options{PlanResolver: plans.resolve})
	ws, err := e.m.Open(ctx, "u_x")
	require.NoError(t, err)
	e.clock.Advance(2 * time.Hour)
	plans.fail(errors.New("plan service down"))
	n, err := e.m.Sweep(ctx)
	assert.Error(t, err)
	assert.Zero(t, n, "without a plan the janitor deletes nothing")
	assert.True(t, exists(ws.Dir()))
	_, err = ws.List(ctx)
	assert.Error(t, err)
	assert.NotErrorIs(t, err, workspace.ErrExpired)
}

func TestRestartDeletesWhatExpiredWhileDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plans := newPlans()
	plans.set("u_live", workspace.PlanPaid)
	e := newEnv(t, &workspace.Options{PlanResolver: plans.resolve})
	gone, err := e.m.Open(ctx, "u_gone")
	require.NoError(t, err)
	_, err = gone.Create(ctx, "g.csv", strings.NewReader("gone"))
	require.NoError(t, err)
	live, err := e.m.Open(ctx, "u_live")
	require.NoError(t, err)
	_, err = live.Create(ctx, "l.csv", strings.NewReader("live data"))
	require.NoError(t, err)
	goneDir, goneID, liveDir := gone.Dir(), gone.ID(), live.Dir()
	require.NoError(t, e.m.Close())

	e.clock.Advance(2 * time.Hour) // the process is down
	e.start(t)
	assert.False(t, exists(goneDir), "the free workspace that expired while down is deleted at start")
	assert.False(t, e.cipher.HasKey("workspace/"+goneID))
	_, err = e.store.Get(ctx, "u_gone")
	assert.ErrorIs(t, err, workspace.ErrNotFound)
	assert.True(t, exists(liveDir), "the paid workspace is intact")
	live2, err := e.m.Open(ctx, "u_live")
	require.NoError(t, err)
	assert.Equal(t, liveDir, live2.Dir())
	assert.Equal(t, "live data", readAll(t, live2, "l.csv"))
}

func TestRestartFinishesInterruptedDeletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	a, err := e.m.Open(ctx, "u_a")
	require.NoError(t, err)
	_, err = a.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	b, err := e.m.Open(ctx, "u_b")
	require.NoError(t, err)
	aDir, aID, bDir := a.Dir(), a.ID(), b.Dir()
	require.NoError(t, e.m.Close())

	// Crash states: a's deletion began (record marked) but stopped before
	// the directory went; a directory sits in the trash; a directory has no
	// record at all.
	rec, err := e.store.Get(ctx, "u_a")
	require.NoError(t, err)
	rec.Deleting = true
	_, err = e.store.Put(ctx, rec)
	require.NoError(t, err)
	trashed := filepath.Join(e.root, "trash", "0123456789abcdef0123456789abcdef")
	require.NoError(t, os.MkdirAll(trashed, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(trashed, "x"), []byte("x"), 0o600))
	orphan := filepath.Join(e.root, "ws", "fedcba9876543210fedcba9876543210")
	require.NoError(t, os.MkdirAll(orphan, 0o700))

	e.start(t)
	assert.False(t, exists(aDir), "the interrupted deletion is finished")
	assert.False(t, e.cipher.HasKey("workspace/"+aID))
	_, err = e.store.Get(ctx, "u_a")
	assert.ErrorIs(t, err, workspace.ErrNotFound)
	assert.False(t, exists(trashed), "the trash is emptied")
	assert.False(t, exists(orphan), "a directory no record claims is removed")
	assert.True(t, exists(bDir), "a live workspace is untouched")
}

func TestDeleteNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_erase")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	dir, id := ws.Dir(), ws.ID()
	require.NoError(t, e.m.Delete(ctx, "u_erase"))
	assert.False(t, exists(dir))
	assert.False(t, e.cipher.HasKey("workspace/"+id))
	_, err = ws.Open(ctx, "a.csv")
	assert.ErrorIs(t, err, workspace.ErrExpired)
	require.NoError(t, e.m.Delete(ctx, "u_erase"), "deleting again is not an error")
	require.NoError(t, e.m.Delete(ctx, "u_never"), "nor deleting a user without a workspace")
	audits := e.auditsOf("workspace.delete")
	require.Len(t, audits, 1)
	assert.Equal(t, "reason", audits[0].Attrs[0].Key)
	assert.Equal(t, "delete", audits[0].Attrs[0].Str)
}

func TestActivityPersistedAtBoundedInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, &workspace.Options{ActivityInterval: 5 * time.Minute})
	ws, err := e.m.Open(ctx, "u_act")
	require.NoError(t, err)
	for range 4 {
		e.clock.Advance(time.Minute)
		_, err := ws.List(ctx)
		require.NoError(t, err)
	}
	rec, err := e.store.Get(ctx, "u_act")
	require.NoError(t, err)
	assert.Equal(t, t0, rec.LastActive, "activity within the interval stays in memory")
	e.clock.Advance(time.Minute)
	_, err = ws.List(ctx)
	require.NoError(t, err)
	rec, err = e.store.Get(ctx, "u_act")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(5*time.Minute), rec.LastActive, "and is persisted once the interval has passed")

	// In-memory activity counts for the janitor even before it is persisted.
	e.clock.Advance(3 * time.Minute)
	_, err = ws.List(ctx)
	require.NoError(t, err)
	e.clock.Advance(58 * time.Minute) // 63 min after the persisted time, 58 after the last use
	n, err := e.m.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, e.m.Close())
	rec, err = e.store.Get(ctx, "u_act")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(8*time.Minute), rec.LastActive, "Close persists the last activity")
}

func TestJanitorGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := context.Background()
	e := newEnv(t, &workspace.Options{JanitorInterval: 5 * time.Millisecond})
	ws, err := e.m.Open(ctx, "u_j")
	require.NoError(t, err)
	dir := ws.Dir()
	e.clock.Advance(2 * time.Hour)
	require.Eventually(t, func() bool { return !exists(dir) }, 10*time.Second, 5*time.Millisecond,
		"the janitor goroutine deletes the expired workspace")
	require.NoError(t, e.m.Close(), "Close stops and joins the janitor")
}

func TestParkedWorkspaceReopens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_park")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	e.clock.Advance(5 * time.Minute)
	_, err = e.m.Sweep(ctx) // idle 5 min: the directory handle is closed
	require.NoError(t, err)
	rec, err := e.store.Get(ctx, "u_park")
	require.NoError(t, err)
	assert.Equal(t, t0, rec.LastActive, "parking persists the last activity")
	assert.Equal(t, "a", readAll(t, ws, "a.csv"), "a parked workspace reopens on use")
	_, err = ws.Create(ctx, "b.csv", strings.NewReader("b"))
	require.NoError(t, err)
	require.NoError(t, ws.Remove(ctx, "a.csv"))
	list, err := ws.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestLostDirectoryStartsAfresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_lost")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	id := ws.ID()
	require.NoError(t, e.m.Close())
	require.NoError(t, os.RemoveAll(ws.Dir())) // a disk replaced under the host
	e.start(t)
	ws2, err := e.m.Open(ctx, "u_lost")
	require.NoError(t, err, "a missing directory is not fatal")
	assert.NotEqual(t, id, ws2.ID(), "the user gets a new, empty workspace")
	assert.False(t, e.cipher.HasKey("workspace/"+id), "and the lost one's key is shredded")
}

// TestCrashLeftoversRemovedAtLoad simulates a crash in the middle of a
// write: a data file the manifest never named and a temporary manifest.
// The next load removes both and keeps the committed files.
func TestCrashLeftoversRemovedAtLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_crash")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "kept.csv", strings.NewReader("kept"))
	require.NoError(t, err)
	require.NoError(t, e.m.Close())
	half := filepath.Join(ws.Dir(), "00112233445566778899aabbccddeeff")
	require.NoError(t, os.WriteFile(half, []byte("half a ciphertext"), 0o600))
	tmp := filepath.Join(ws.Dir(), "manifest.ffeeddccbbaa99887766554433221100.tmp")
	require.NoError(t, os.WriteFile(tmp, []byte("half a manifest"), 0o600))

	e.start(t)
	ws, err = e.m.Open(ctx, "u_crash")
	require.NoError(t, err)
	assert.False(t, exists(half), "an uncommitted data file is removed")
	assert.False(t, exists(tmp), "a temporary manifest is removed")
	assert.Equal(t, "kept", readAll(t, ws, "kept.csv"), "committed files are intact")
}

// failingStore fails Put on demand, as a database outage would.
type failingStore struct {
	workspace.Store
	mu   sync.Mutex
	fail bool
}

func (s *failingStore) Put(ctx context.Context, rec workspace.Record) (workspace.Record, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return workspace.Record{}, errors.New("database unavailable")
	}
	return s.Store.Put(ctx, rec)
}

func TestStoreOutageDoesNotStopWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	fs := &failingStore{Store: e.store}
	e.store = fs
	require.NoError(t, e.m.Close())
	e.start(t)
	ws, err := e.m.Open(ctx, "u_outage")
	require.NoError(t, err)
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	e.clock.Advance(5 * time.Minute)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err, "activity that cannot be saved stays in memory")
	assert.Equal(t, "a", readAll(t, ws, "a.csv"))
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	e.clock.Advance(5 * time.Minute)
	_, err = ws.List(ctx)
	require.NoError(t, err)
	rec, err := e.store.Get(ctx, "u_outage")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(10*time.Minute), rec.LastActive, "and is saved once the store is back")
	assert.Equal(t, t0.Add(5*time.Minute), rec.OldestFile)
}

// TestCrashAfterUploadKeepsIt: an upload is durable when Create returns,
// though the manifest is rewritten later; after a crash (no Close) the
// next load adopts it, and a replaced version does not come back.
func TestCrashAfterUploadKeepsIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_crash2")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("version 1"))
	require.NoError(t, err)
	v1 := dataFiles(t, ws.Dir())
	require.Len(t, v1, 1)
	v1Bytes, err := os.ReadFile(filepath.Join(ws.Dir(), v1[0]))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "keep.csv", strings.NewReader("keep"))
	require.NoError(t, err)
	require.NoError(t, ws.Rename(ctx, "keep.csv", "kept.csv")) // the manifest is written here
	e.clock.Advance(time.Second)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("version 2"))
	require.NoError(t, err)
	// The unlink of version 1 was not yet durable when the crash came.
	require.NoError(t, os.WriteFile(filepath.Join(ws.Dir(), v1[0]), v1Bytes, 0o600))
	_, err = ws.Create(ctx, "new.csv", strings.NewReader("new"))
	require.NoError(t, err)

	// Crash: a second process starts on the same root and store while the
	// first never closed.
	crashed := e.m
	e.start(t)
	ws2, err := e.m.Open(ctx, "u_crash2")
	require.NoError(t, err)
	assert.Equal(t, ws.ID(), ws2.ID())
	list, err := ws2.List(ctx)
	require.NoError(t, err)
	var names []string
	for _, fi := range list {
		names = append(names, fi.Name())
	}
	assert.Equal(t, []string{"a.csv", "kept.csv", "new.csv"}, names, "uploads committed after the last manifest write are adopted")
	assert.Equal(t, "version 2", readAll(t, ws2, "a.csv"), "the newer version wins")
	assert.Equal(t, "new", readAll(t, ws2, "new.csv"))
	assert.Len(t, dataFiles(t, ws2.Dir()), 3, "no stale version remains")
	_ = crashed
}
