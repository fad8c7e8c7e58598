package workspace_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/workspacetest"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// env is a manager on a fake clock, a memory store and a real (Tink)
// cipher, with its events and audit records captured.
type env struct {
	m      *workspace.Manager
	root   string
	clock  *clock.Fake
	store  workspace.Store
	cipher *workspacetest.Cipher
	opts   *workspace.Options

	mu     sync.Mutex
	events []workspace.Event
	audits []audit.Event
}

func newEnv(t testing.TB, opts *workspace.Options) *env {
	t.Helper()
	e := &env{root: t.TempDir(), clock: clock.NewFake(t0), store: workspace.NewMemoryStore(), cipher: workspacetest.NewCipher()}
	if opts == nil {
		opts = &workspace.Options{}
	}
	opts.Now = e.clock.Now
	if opts.JanitorInterval == 0 {
		opts.JanitorInterval = -1
	}
	if opts.Node == "" {
		opts.Node = "node-a"
	}
	opts.OnEvent = func(ev workspace.Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, ev)
	}
	opts.Auditor = workspace.AuditorFunc(func(ctx context.Context, ev audit.Event) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.audits = append(e.audits, ev)
		return nil
	})
	e.opts = opts
	e.start(t)
	return e
}

// start (re)creates the manager on the same root, store and cipher, as a
// restarted process would.
func (e *env) start(t testing.TB) {
	t.Helper()
	m, err := workspace.New(context.Background(), e.root, e.cipher, e.store, e.opts)
	require.NoError(t, err)
	e.m = m
	t.Cleanup(func() { _ = m.Close() })
}

func (e *env) eventsOf(kind workspace.EventKind) []workspace.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []workspace.Event
	for _, ev := range e.events {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) auditsOf(action string) []audit.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []audit.Event
	for _, ev := range e.audits {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

func readAll(t *testing.T, ws *workspace.Workspace, name string) string {
	t.Helper()
	rc, err := ws.Open(context.Background(), name)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

// diskBytes returns the contents of every regular file under dir.
func diskBytes(t *testing.T, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out = append(out, b)
		return err
	}))
	return out
}

func TestCreateOpenListRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_alice")
	require.NoError(t, err)
	assert.Equal(t, "u_alice", ws.User())

	fi, err := ws.Create(ctx, "sales.csv", strings.NewReader("region,total\nnorth,12\n"))
	require.NoError(t, err)
	assert.Equal(t, "sales.csv", fi.Name())
	assert.EqualValues(t, len("region,total\nnorth,12\n"), fi.Size(), "size is the plaintext size")
	assert.Equal(t, t0, fi.ModTime(), "ModTime is the upload time on the injected clock")
	_, err = ws.Create(ctx, "b.csv", strings.NewReader("x"))
	require.NoError(t, err)

	assert.Equal(t, "region,total\nnorth,12\n", readAll(t, ws, "sales.csv"))
	list, err := ws.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "b.csv", list[0].Name(), "List is sorted by name")
	assert.Equal(t, "sales.csv", list[1].Name())

	st, err := ws.Stat(ctx, "sales.csv")
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), st.Size())
	_, err = ws.Stat(ctx, "missing.csv")
	assert.ErrorIs(t, err, workspace.ErrNotFound)
	_, err = ws.Open(ctx, "missing.csv")
	assert.ErrorIs(t, err, workspace.ErrNotFound)

	again, err := e.m.Open(ctx, "u_alice")
	require.NoError(t, err)
	assert.Same(t, ws, again, "a live workspace is shared")
	bob, err := e.m.Open(ctx, "u_bob")
	require.NoError(t, err)
	_, err = bob.Stat(ctx, "sales.csv")
	assert.ErrorIs(t, err, workspace.ErrNotFound, "one user never sees another's files")
	assert.NotEqual(t, ws.Dir(), bob.Dir())
}

func TestLargeStreamRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_big")
	require.NoError(t, err)
	data := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+7) // > 3 Tink segments
	_, err = ws.Create(ctx, "big.bin", bytes.NewReader(data))
	require.NoError(t, err)
	rc, err := ws.Open(ctx, "big.bin")
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.True(t, bytes.Equal(data, got), "multi-segment stream reads back intact")
}

func TestNothingPlaintextOnDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_carol")
	require.NoError(t, err)
	secret := "carol@example.com,4111111111111111,SECRET-ROW"
	_, err = ws.Create(ctx, "patients-secret-name.csv", strings.NewReader(strings.Repeat(secret+"\n", 50)))
	require.NoError(t, err)
	require.NoError(t, e.m.Close())

	files := diskBytes(t, e.root)
	require.NotEmpty(t, files)
	for _, b := range files {
		assert.NotContains(t, string(b), "SECRET-ROW", "file content is encrypted")
		assert.NotContains(t, string(b), "patients-secret-name", "file names are encrypted")
	}
	require.NoError(t, filepath.WalkDir(e.root, func(p string, d fs.DirEntry, err error) error {
		assert.NotContains(t, p, "patients", "no file name on disk")
		assert.NotContains(t, p, "u_carol", "no user pseudonym on disk")
		return err
	}))
}

func TestCiphertextTamperingDetected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_dave")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader(strings.Repeat("a,b\n", 1000)))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "b.csv", strings.NewReader(strings.Repeat("c,d\n", 1000)))
	require.NoError(t, err)
	ids := dataFiles(t, ws.Dir())
	require.Len(t, ids, 2)

	// Flip one bit in one data file: reading it must fail, not return bytes.
	p := filepath.Join(ws.Dir(), ids[0])
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(p, b, 0o600))
	var failed int
	for _, name := range []string{"a.csv", "b.csv"} {
		rc, err := ws.Open(ctx, name)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if err != nil {
			assert.ErrorIs(t, err, workspace.ErrCorrupt)
			failed++
		}
	}
	assert.Equal(t, 1, failed, "exactly the altered file fails authentication")
}

// dataFiles lists the data files of a workspace directory.
func dataFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if e.Name() != "manifest" {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestSwappedCiphertextFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_erin")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("aaaa"))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "b.csv", strings.NewReader("bbbb"))
	require.NoError(t, err)
	ids := dataFiles(t, ws.Dir())
	require.Len(t, ids, 2)
	a, _ := os.ReadFile(filepath.Join(ws.Dir(), ids[0]))
	b, _ := os.ReadFile(filepath.Join(ws.Dir(), ids[1]))
	require.NoError(t, os.WriteFile(filepath.Join(ws.Dir(), ids[0]), b, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(ws.Dir(), ids[1]), a, 0o600))
	for _, name := range []string{"a.csv", "b.csv"} {
		rc, err := ws.Open(ctx, name)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		assert.ErrorIs(t, err, workspace.ErrCorrupt, "associated data binds each ciphertext to its file ID")
	}
}

func TestRenameRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_frank")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("A"))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "b.csv", strings.NewReader("B"))
	require.NoError(t, err)

	assert.ErrorIs(t, ws.Rename(ctx, "a.csv", "b.csv"), workspace.ErrExist, "rename never overwrites")
	assert.ErrorIs(t, ws.Rename(ctx, "zz.csv", "c.csv"), workspace.ErrNotFound)
	assert.ErrorIs(t, ws.Rename(ctx, "a.csv", "../c.csv"), workspace.ErrInvalidName)
	require.NoError(t, ws.Rename(ctx, "a.csv", "c.csv"))
	assert.Equal(t, "A", readAll(t, ws, "c.csv"))
	_, err = ws.Stat(ctx, "a.csv")
	assert.ErrorIs(t, err, workspace.ErrNotFound)

	require.NoError(t, ws.Remove(ctx, "c.csv"))
	assert.ErrorIs(t, ws.Remove(ctx, "c.csv"), workspace.ErrNotFound)
	assert.Len(t, dataFiles(t, ws.Dir()), 1, "the removed file's ciphertext is gone from disk")
	require.Len(t, e.auditsOf("workspace.file.delete"), 1, "each deletion is audited")

	// Replacing a file deletes the old ciphertext too.
	_, err = ws.Create(ctx, "b.csv", strings.NewReader("B2"))
	require.NoError(t, err)
	assert.Equal(t, "B2", readAll(t, ws, "b.csv"))
	assert.Len(t, dataFiles(t, ws.Dir()), 1)
}

func TestFSView(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_gina")
	require.NoError(t, err)
	for _, n := range []string{"a.csv", "b.csv", "notes.txt"} {
		_, err := ws.Create(ctx, n, strings.NewReader("content of "+n))
		require.NoError(t, err)
	}
	require.NoError(t, fstest.TestFS(ws.FS(), "a.csv", "b.csv", "notes.txt"))
	b, err := fs.ReadFile(ws.FS(), "notes.txt")
	require.NoError(t, err)
	assert.Equal(t, "content of notes.txt", string(b))
	_, err = fs.ReadFile(ws.FS(), "../etc/passwd")
	assert.Error(t, err)
}

func TestConcurrentWritersOneName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_henry")
	require.NoError(t, err)
	const writers = 8
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := strings.Repeat(string(rune('a'+i)), 64<<10)
			_, err := ws.Create(ctx, "shared.csv", strings.NewReader(body))
			assert.NoError(t, err)
		}()
	}
	// Readers run alongside: each sees one whole version, never a mix.
	for range 20 {
		rc, err := ws.Open(ctx, "shared.csv")
		if errors.Is(err, workspace.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		require.Len(t, b, 64<<10)
		assert.Equal(t, strings.Repeat(string(b[0]), 64<<10), string(b), "a reader never sees a mix of versions")
	}
	wg.Wait()
	got := readAll(t, ws, "shared.csv")
	assert.Len(t, got, 64<<10)
	assert.Equal(t, strings.Repeat(got[:1], 64<<10), got, "last writer wins with a whole file")
	assert.Len(t, dataFiles(t, ws.Dir()), 1, "replaced versions leave no ciphertext behind")
}

func TestClosedManager(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_ivy")
	require.NoError(t, err)
	require.NoError(t, e.m.Close())
	require.NoError(t, e.m.Close(), "Close may be called again")
	_, err = e.m.Open(ctx, "u_ivy")
	assert.ErrorIs(t, err, workspace.ErrClosed)
	_, err = ws.List(ctx)
	assert.ErrorIs(t, err, workspace.ErrClosed)
	_, err = e.m.Sweep(ctx)
	assert.ErrorIs(t, err, workspace.ErrClosed)
	assert.ErrorIs(t, e.m.Delete(ctx, "u_ivy"), workspace.ErrClosed)
}

func TestInvalidUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, u := range []string{"", "a\x00b", "a\nb", strings.Repeat("x", 300), "\xff"} {
		_, err := e.m.Open(context.Background(), u)
		assert.ErrorIs(t, err, workspace.ErrInvalidUser, "%q", u)
	}
}
