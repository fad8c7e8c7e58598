package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"sync"
)

// Create writes the bytes of r, streamed and encrypted, as the file name,
// replacing a file of that name. The write is atomic and durable: until
// Create returns, readers see the old file (or none); when it returns, the
// file survives a crash; if it fails — r errors, ctx is cancelled, the
// quota is reached mid-stream — nothing of it remains. Concurrent Creates
// of one name are all atomic and the last to finish wins. Create returns
// the new file's information; its ModTime is the upload time, from which
// the plan's maximum file age counts.
func (w *Workspace) Create(ctx context.Context, name string, r io.Reader) (fs.FileInfo, error) {
	name, err := ValidName(name)
	if err != nil {
		return nil, err
	}
	plan, err := w.begin(ctx)
	if err != nil {
		return nil, err
	}
	e, ds, err := w.writeData(ctx, name, r, plan, 0, true)
	if err != nil {
		return nil, err
	}
	// The data file carries its own encrypted name and upload time, so once
	// it and its directory entry are durable the upload survives a crash
	// even before the manifest is rewritten (the next load adopts it).
	if err := ds.wait(); err != nil {
		w.removeData(e.id)
		return nil, err
	}
	if err := w.commitNew(ctx, plan, false, e); err != nil {
		w.removeData(e.id)
		return nil, err
	}
	return fileInfo{e}, nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// dataSync syncs and closes a data file, and optionally its directory, in
// goroutines of its own; wait joins them and may be called more than once.
type dataSync struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

// startSync starts the sync of f and, if dir is not nil, of the directory
// (for the new file's directory entry); both are closed when done.
func startSync(f, dir *os.File) *dataSync {
	s := &dataSync{}
	for _, x := range []*os.File{f, dir} {
		if x == nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := x.Sync()
			if cerr := x.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				s.mu.Lock()
				s.err = errors.Join(s.err, fmt.Errorf("workspace: sync: %w", err))
				s.mu.Unlock()
			}
		}()
	}
	return s
}

func (s *dataSync) wait() error {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// writeData streams r into a new encrypted data file, after a header
// holding the name and upload time, and returns its uncommitted entry and
// the sync of the file, already started: the caller must wait for it.
// limit, if positive, caps the file's size. A standalone file (a Create)
// syncs its directory entry too and may be adopted after a crash; the
// files of an archive import may not, since they become visible together
// through the manifest.
func (w *Workspace) writeData(ctx context.Context, name string, r io.Reader, plan Plan, limit int64, standalone bool) (*entry, *dataSync, error) {
	uploaded := w.m.now()
	w.mu.Lock()
	if w.gone != nil {
		err := w.gone
		w.mu.Unlock()
		return nil, nil, err
	}
	if plan.MaxFiles > 0 && w.files[name] == nil && len(w.files)+w.pendingFiles >= plan.MaxFiles {
		w.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: too many files", ErrQuota)
	}
	root, err := w.acquireRootLocked()
	if err != nil {
		w.mu.Unlock()
		return nil, nil, err
	}
	w.pendingFiles++
	w.mu.Unlock()
	qw := &quotaWriter{ctx: ctx, w: w, plan: plan, name: name, limit: limit}
	defer func() {
		w.mu.Lock()
		w.pendingFiles--
		w.pendingBytes -= qw.n
		w.rootUsers--
		w.mu.Unlock()
	}()

	id := newID()
	f, err := root.OpenFile(id, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, w.goneOr(fmt.Errorf("workspace: create data file: %w", err))
	}
	fail := func(err error) (*entry, *dataSync, error) {
		f.Close()
		_ = root.Remove(id)
		return nil, nil, w.goneOr(err)
	}
	ew, err := w.m.cipher.NewEncryptingWriter(ctx, w.source, f, fileAD(id))
	if err != nil {
		return fail(fmt.Errorf("workspace: encrypt: %w", err))
	}
	if _, err := ew.Write(encodeHeader(name, uploaded, standalone)); err != nil {
		return fail(fmt.Errorf("workspace: encrypt: %w", err))
	}
	qw.dst = ew
	bp := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(qw, struct{ io.Reader }{r}, *bp)
	copyBufs.Put(bp)
	if err != nil {
		if errors.Is(err, ErrQuota) || errors.Is(err, ctx.Err()) && ctx.Err() != nil {
			return fail(err)
		}
		return fail(fmt.Errorf("workspace: write: %w", err))
	}
	if err := ew.Close(); err != nil {
		return fail(fmt.Errorf("workspace: encrypt: %w", err))
	}
	var dir *os.File
	if standalone {
		if dir, err = root.Open("."); err != nil {
			return fail(fmt.Errorf("workspace: sync directory: %w", err))
		}
	}
	return &entry{id: id, name: name, size: qw.n, uploaded: uploaded}, startSync(f, dir), nil
}

// goneOr returns the reason the workspace is gone, if it is, else err: an
// I/O error caused by a concurrent deletion reads as ErrExpired.
func (w *Workspace) goneOr(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone != nil {
		return w.gone
	}
	return err
}

func (w *Workspace) removeData(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if root, err := w.rootLocked(); err == nil {
		_ = root.Remove(id)
	}
}

// quotaWriter reserves quota for each chunk before passing it on, so a
// stream that grows past the plan fails at the chunk that crosses it.
type quotaWriter struct {
	ctx   context.Context
	w     *Workspace
	dst   io.Writer
	plan  Plan
	name  string
	limit int64
	n     int64 // bytes written and reserved
}

func (q *quotaWriter) Write(p []byte) (int, error) {
	if err := q.ctx.Err(); err != nil {
		return 0, err
	}
	k := int64(len(p))
	if q.limit > 0 && q.n+k > q.limit {
		return 0, fmt.Errorf("%w: archive entry too large", ErrQuota)
	}
	w := q.w
	w.mu.Lock()
	if q.plan.MaxBytes > 0 {
		free := q.plan.MaxBytes - w.used - w.pendingBytes
		if old := w.files[q.name]; old != nil {
			free += old.size
		}
		if k > free {
			w.mu.Unlock()
			return 0, fmt.Errorf("%w: byte limit", ErrQuota)
		}
	}
	w.pendingBytes += k
	q.n += k
	w.mu.Unlock()
	return q.dst.Write(p)
}

// commitNew adds written entries to the manifest, replacing files of the
// same names, after a final quota check.
// With durable, the manifest is rewritten and synced before commitNew
// returns; without, the data files must be durable and adoptable already,
// and the manifest is rewritten later (see flushLocked).
func (w *Workspace) commitNew(ctx context.Context, plan Plan, durable bool, es ...*entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone != nil {
		return w.gone
	}
	next := maps.Clone(w.files)
	var replaced []*entry
	for _, e := range es {
		if old := next[e.name]; old != nil {
			replaced = append(replaced, old)
		}
		next[e.name] = e
	}
	var total int64
	for _, e := range next {
		total += e.size
	}
	if plan.MaxBytes > 0 && total > plan.MaxBytes {
		return fmt.Errorf("%w: byte limit", ErrQuota)
	}
	if plan.MaxFiles > 0 && len(next) > plan.MaxFiles {
		return fmt.Errorf("%w: too many files", ErrQuota)
	}
	if durable {
		if err := w.commitLocked(ctx, next); err != nil {
			return err
		}
	} else {
		w.setFilesLocked(next)
		w.dirty = true
	}
	w.dropDataLocked(ctx, false, "replaced", replaced...)
	// The files are committed; a failure to record the new oldest upload
	// time only delays the janitor until the next check.
	if err := w.persistLocked(ctx, false); err != nil && !errors.Is(err, ErrExpired) {
		w.m.log.Warn("workspace: save record failed", "workspace", w.id, "err", err)
	}
	return nil
}
