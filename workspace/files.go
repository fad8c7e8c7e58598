package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// Workspace is one user's set of files. It is safe for concurrent use.
// Get one from [Manager.Open]; it stays valid until the workspace expires
// or is deleted (calls then return [ErrExpired]) or the manager closes
// ([ErrClosed]).
//
// Every call counts as activity and first checks the plan: a workspace
// idle past its TTL is deleted and the call returns ErrExpired; files past
// their maximum age are deleted before the call looks at them.
//
// Names are validated and normalised by [ValidName]. On disk a file is a
// ciphertext named by a random ID; its name and upload time are encrypted
// inside it and in the workspace's encrypted manifest.
type Workspace struct {
	m                *Manager
	user, id, source string
	dir              string

	mu           sync.Mutex
	rec          Record // as last persisted
	root         *os.Root
	files        map[string]*entry // by name; replaced wholesale on commit
	used         int64             // bytes of committed files
	pendingBytes int64             // bytes reserved by writes in flight
	pendingFiles int               // writes in flight
	rootUsers    int               // users of root outside mu; no parking while > 0
	dirty        bool              // files holds uploads the manifest on disk lacks
	lastActive   time.Time         // in memory
	persisted    time.Time         // LastActive last written to the store
	gone         error             // ErrExpired or ErrClosed once unusable
}

// User returns the pseudonym of the workspace's user.
func (w *Workspace) User() string { return w.user }

// ID returns the workspace's random ID.
func (w *Workspace) ID() string { return w.id }

// Dir returns the workspace's directory on disk. It holds only
// ciphertext under random names; it is exposed for tests and
// demonstrations, never for reading files around the API.
func (w *Workspace) Dir() string { return w.dir }

func (w *Workspace) alive() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gone == nil
}

func (w *Workspace) markGoneLocked(err error) {
	if w.gone == nil {
		w.gone = err
		if w.root != nil {
			w.root.Close()
			w.root = nil
		}
	}
}

// rootLocked returns the workspace's directory handle, reopening it if the
// janitor parked the workspace (closed the handle of an idle workspace so
// that idle workspaces hold no file descriptor).
func (w *Workspace) rootLocked() (*os.Root, error) {
	if w.gone != nil {
		return nil, w.gone
	}
	if w.root == nil {
		root, err := openDir(w.dir)
		if err != nil {
			return nil, err
		}
		w.root = root
	}
	return w.root, nil
}

// acquireRootLocked returns the directory handle for use outside the lock;
// the janitor does not park the workspace until releaseRoot.
func (w *Workspace) acquireRootLocked() (*os.Root, error) {
	root, err := w.rootLocked()
	if err == nil {
		w.rootUsers++
	}
	return root, err
}

func (w *Workspace) releaseRoot() {
	w.mu.Lock()
	w.rootUsers--
	w.mu.Unlock()
}

// parkLocked persists the activity and closes the directory handle of a
// workspace idle for at least idle with no write in flight.
func (w *Workspace) parkLocked(ctx context.Context, now time.Time, idle time.Duration) {
	if w.gone != nil || w.root == nil || w.rootUsers > 0 || w.pendingFiles > 0 || now.Sub(w.lastActive) < idle {
		return
	}
	if err := w.flushLocked(ctx); err != nil {
		return
	}
	if err := w.persistLocked(ctx, true); err != nil {
		return
	}
	w.root.Close()
	w.root = nil
}

func (w *Workspace) oldestLocked() time.Time {
	var t time.Time
	for _, e := range w.files {
		if t.IsZero() || e.uploaded.Before(t) {
			t = e.uploaded
		}
	}
	return t
}

// begin checks the manager, the plan and expiry, deletes expired files and
// records activity. Every operation starts with it.
func (w *Workspace) begin(ctx context.Context) (Plan, error) {
	if w.m.isClosed() {
		return Plan{}, ErrClosed
	}
	plan, err := w.m.plan(ctx, w.user)
	if err != nil {
		return Plan{}, err
	}
	for attempt := 0; ; attempt++ {
		now := w.m.now()
		w.mu.Lock()
		if w.gone != nil {
			err := w.gone
			w.mu.Unlock()
			return Plan{}, err
		}
		if !now.Before(w.lastActive.Add(plan.IdleTTL)) {
			rec := w.rec
			w.mu.Unlock()
			unlock := w.m.lockUser(w.user)
			ok, err := w.m.expireLocked(ctx, rec, plan, now, "idle")
			unlock()
			if err != nil {
				w.m.log.Warn("workspace: deleting expired workspace failed", "workspace", w.id, "err", err)
			}
			if ok || attempt == 2 {
				return Plan{}, ErrExpired
			}
			continue // used meanwhile: check again
		}
		_, evs, err := w.expireFilesLocked(ctx, plan, now)
		if err == nil {
			w.lastActive = latest(w.lastActive, now)
			// A store outage must not stop the user's work: the activity
			// stays in memory and is persisted at a later check.
			if err = w.persistLocked(ctx, false); err != nil && !errors.Is(err, ErrExpired) {
				w.m.log.Warn("workspace: saving activity failed", "workspace", w.id, "err", err)
				err = nil
			}
		}
		w.mu.Unlock()
		w.m.emit(evs...)
		return plan, err
	}
}

// persistLocked writes the activity and oldest upload time to the store
// when they changed enough (or force is set). If the store no longer has
// this workspace (another node deleted or took it over), the workspace is
// gone.
func (w *Workspace) persistLocked(ctx context.Context, force bool) error {
	oldest := w.oldestLocked()
	if !force && w.lastActive.Sub(w.persisted) < w.m.activity && oldest.Equal(w.rec.OldestFile) {
		return nil
	}
	cur, err := w.m.store.Get(ctx, w.user)
	if err == nil && (cur.ID != w.id || cur.Deleting) || errors.Is(err, ErrNotFound) {
		w.removedElsewhereLocked(ctx)
		return ErrExpired
	}
	if err != nil {
		return fmt.Errorf("workspace: save activity: %w", err)
	}
	rec := w.rec
	rec.LastActive, rec.OldestFile = w.lastActive, oldest
	got, err := w.m.store.Put(ctx, rec)
	if err != nil {
		return fmt.Errorf("workspace: save activity: %w", err)
	}
	if got.ID != w.id || got.Deleting {
		w.removedElsewhereLocked(ctx)
		return ErrExpired
	}
	w.rec, w.persisted = got, w.lastActive
	return nil
}

// removedElsewhereLocked handles a workspace whose record another node
// dropped or replaced (Delete or takeover): the key is already shredded;
// the directory, this node's, goes now.
func (w *Workspace) removedElsewhereLocked(ctx context.Context) {
	w.markGoneLocked(ErrExpired)
	w.m.mu.Lock()
	if w.m.ws[w.user] == w {
		delete(w.m.ws, w.user)
	}
	w.m.mu.Unlock()
	if err := w.m.removeDir(w.id); err != nil {
		w.m.log.Warn("workspace: removing directory of a workspace deleted elsewhere failed", "workspace", w.id, "err", err)
	}
}

// commitLocked makes next the workspace's file set: it writes the
// manifest, and only if that succeeds, switches.
func (w *Workspace) commitLocked(ctx context.Context, next map[string]*entry) error {
	root, err := w.rootLocked()
	if err != nil {
		return err
	}
	if err := w.writeManifest(ctx, root, next); err != nil {
		return err
	}
	w.setFilesLocked(next)
	w.dirty = false
	return nil
}

func (w *Workspace) setFilesLocked(next map[string]*entry) {
	w.files = next
	w.used = 0
	for _, e := range next {
		w.used += e.size
	}
}

// flushLocked rewrites the manifest if uploads committed since its last
// write are only in memory (and adoptable from their data files).
func (w *Workspace) flushLocked(ctx context.Context) error {
	if !w.dirty || w.gone != nil {
		return nil
	}
	return w.commitLocked(ctx, w.files)
}

// dropDataLocked removes the data files of entries that left the manifest
// and records each deletion. With sync, the directory is synced now;
// without (a file replaced by a new upload, whose old ciphertext is still
// under the live workspace key), the removal becomes durable at the
// workspace's next directory sync, and a crash before it leaves an orphan
// that the next load removes.
func (w *Workspace) dropDataLocked(ctx context.Context, sync bool, reason string, es ...*entry) {
	if len(es) == 0 {
		return
	}
	root, err := w.rootLocked()
	if err != nil {
		return
	}
	for _, e := range es {
		if err := root.Remove(e.id); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.m.log.Warn("workspace: removing data file failed; removed at next load", "workspace", w.id, "err", err)
		}
	}
	if sync {
		if err := syncRoot(root); err != nil {
			w.m.log.Warn("workspace: sync after removal failed", "workspace", w.id, "err", err)
		}
	}
	for _, e := range es {
		w.m.audit(ctx, "workspace.file.delete", "workspace/"+w.id+"/file/"+e.id, w.user, reason, audit.Success)
	}
}

// expireFilesLocked deletes the files past the plan's maximum age.
func (w *Workspace) expireFilesLocked(ctx context.Context, plan Plan, now time.Time) (int, []Event, error) {
	if plan.MaxFileAge <= 0 {
		return 0, nil, nil
	}
	var expired []*entry
	for _, e := range w.files {
		if !now.Before(e.uploaded.Add(plan.MaxFileAge)) {
			expired = append(expired, e)
		}
	}
	if len(expired) == 0 {
		return 0, nil, nil
	}
	next := maps.Clone(w.files)
	for _, e := range expired {
		delete(next, e.name)
	}
	if err := w.commitLocked(ctx, next); err != nil {
		return 0, nil, err
	}
	w.dropDataLocked(ctx, true, "max_age", expired...)
	evs := make([]Event, 0, 2*len(expired))
	for _, e := range expired {
		dl := e.uploaded.Add(plan.MaxFileAge)
		evs = append(evs,
			Event{Kind: EventExpired, User: w.user, Workspace: w.id, File: e.id, Time: now, Deadline: dl},
			Event{Kind: EventDeleted, User: w.user, Workspace: w.id, File: e.id, Reason: "max_age", Time: now, Deadline: dl})
	}
	if err := w.persistLocked(ctx, false); err != nil {
		return len(expired), evs, err
	}
	return len(expired), evs, nil
}

// Open opens the file name for reading. The reader decrypts as it goes
// and returns an error wrapping [ErrCorrupt] if the ciphertext was altered
// or truncated; the caller closes it. A reader keeps reading the version
// it opened even if the file is replaced or removed meanwhile.
func (w *Workspace) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return w.openFile(ctx, name)
}

func (w *Workspace) openFile(ctx context.Context, name string) (*fileReader, error) {
	e, err := w.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	root, err := w.acquireRootLocked()
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	f, _, err := openRegular(root, e.id)
	w.releaseRoot()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, w.goneOr(fmt.Errorf("%w: data file missing", ErrNotFound))
	}
	if err != nil {
		return nil, w.goneOr(err)
	}
	r, err := w.m.cipher.NewDecryptingReader(ctx, w.source, f, fileAD(e.id))
	if err == nil {
		_, err = readHeader(r)
	}
	if err != nil {
		f.Close()
		return nil, w.goneOr(ErrCorrupt)
	}
	return &fileReader{r: r, f: f, e: e}, nil
}

func (w *Workspace) lookup(ctx context.Context, name string) (*entry, error) {
	name, err := ValidName(name)
	if err != nil {
		return nil, err
	}
	if _, err := w.begin(ctx); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone != nil {
		return nil, w.gone
	}
	e := w.files[name]
	if e == nil {
		return nil, ErrNotFound
	}
	return e, nil
}

// fileReader decrypts a data file; it also serves as the fs.File of the
// FS view.
type fileReader struct {
	r io.Reader
	f *os.File
	e *entry
}

func (r *fileReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = ErrCorrupt
	}
	return n, err
}

func (r *fileReader) Close() error               { return r.f.Close() }
func (r *fileReader) Stat() (fs.FileInfo, error) { return fileInfo{r.e}, nil }

// Stat returns information on the file name.
func (w *Workspace) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	e, err := w.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return fileInfo{e}, nil
}

// List returns the workspace's files sorted by name.
func (w *Workspace) List(ctx context.Context) ([]fs.FileInfo, error) {
	if _, err := w.begin(ctx); err != nil {
		return nil, err
	}
	w.mu.Lock()
	out := make([]fs.FileInfo, 0, len(w.files))
	for _, e := range w.files {
		out = append(out, fileInfo{e})
	}
	w.mu.Unlock()
	slices.SortFunc(out, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Rename renames the file from to to. It fails with [ErrExist] if to is
// taken. A rename keeps the file's upload time: it never extends the
// file's maximum age.
func (w *Workspace) Rename(ctx context.Context, from, to string) error {
	from, err := ValidName(from)
	if err != nil {
		return err
	}
	if to, err = ValidName(to); err != nil {
		return err
	}
	if _, err := w.begin(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone != nil {
		return w.gone
	}
	e := w.files[from]
	switch {
	case e == nil:
		return ErrNotFound
	case from == to:
		return nil
	case w.files[to] != nil:
		return ErrExist
	}
	next := maps.Clone(w.files)
	delete(next, from)
	next[to] = &entry{id: e.id, name: to, size: e.size, uploaded: e.uploaded}
	return w.commitLocked(ctx, next)
}

// Remove deletes the file name: it leaves the manifest, then its
// ciphertext is removed and the directory synced. The deletion is
// recorded in the audit log.
func (w *Workspace) Remove(ctx context.Context, name string) error {
	name, err := ValidName(name)
	if err != nil {
		return err
	}
	if _, err := w.begin(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone != nil {
		return w.gone
	}
	e := w.files[name]
	if e == nil {
		return ErrNotFound
	}
	next := maps.Clone(w.files)
	delete(next, name)
	if err := w.commitLocked(ctx, next); err != nil {
		return err
	}
	w.dropDataLocked(ctx, true, "user", e)
	if err := w.persistLocked(ctx, false); err != nil && !errors.Is(err, ErrExpired) {
		w.m.log.Warn("workspace: save record failed", "workspace", w.id, "err", err)
	}
	return nil
}

// fileInfo describes a workspace file. ModTime is the upload time.
type fileInfo struct{ e *entry }

func (fi fileInfo) Name() string       { return fi.e.name }
func (fi fileInfo) Size() int64        { return fi.e.size }
func (fi fileInfo) Mode() fs.FileMode  { return 0o400 }
func (fi fileInfo) ModTime() time.Time { return fi.e.uploaded }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return nil }
