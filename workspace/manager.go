package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inferlabs/privkit/internal/clock"
)

// Manager owns the workspaces under one root directory: it opens and
// creates them, enforces their plans, and runs the janitor that deletes
// them on time. It is safe for concurrent use. Use [New].
type Manager struct {
	wsDir, trashDir string
	cipher          Cipher
	store           Store
	plans           map[string]Plan
	resolver        func(ctx context.Context, user string) (string, error)
	defaultPlan     string
	now             func() time.Time
	log             *slog.Logger
	auditor         Auditor
	onEvent         func(Event)
	node            string
	activity        time.Duration
	archive         ArchiveLimits

	// users serialises creating, loading and deleting each user's
	// workspace (lockUser). Lock order: a user's lock, then a Workspace's
	// mu, then mu.
	users keyedMutex

	mu     sync.Mutex
	ws     map[string]*Workspace // loaded workspaces by user
	warned map[string]time.Time  // workspace ID -> deadline already warned of
	closed bool

	stopJanitor context.CancelFunc
	janitorDone chan struct{}
	closeOnce   sync.Once
}

// New returns a Manager over the directory root, creating it (mode 0700)
// if needed. Workspaces live in root/ws/<ID>; root/trash holds directories
// being deleted; root/node records the node that owns the root. cipher encrypts every file and the metadata; store keeps
// the workspace records.
//
// New first finishes what a previous process left: it empties the trash,
// completes interrupted deletions, removes directories no record claims,
// and deletes every workspace and file that expired while no process ran.
// Then, unless Options.JanitorInterval is negative, it starts the janitor
// goroutine, which [Manager.Close] stops.
func New(ctx context.Context, root string, cipher Cipher, store Store, opts *Options) (*Manager, error) {
	if cipher == nil || store == nil {
		return nil, errors.New("workspace: New needs a cipher and a store")
	}
	if opts == nil {
		opts = &Options{}
	}
	m := &Manager{
		cipher:      cipher,
		store:       store,
		plans:       opts.Plans,
		resolver:    opts.PlanResolver,
		defaultPlan: opts.DefaultPlan,
		now:         clock.NowFunc(opts.Now),
		log:         opts.Logger,
		auditor:     opts.Auditor,
		onEvent:     opts.OnEvent,
		node:        opts.Node,
		activity:    opts.ActivityInterval,
		archive:     opts.Archive.withDefaults(),
		ws:          map[string]*Workspace{},
		warned:      map[string]time.Time{},
	}
	if m.plans == nil {
		m.plans = DefaultPlans()
	}
	for name, p := range m.plans {
		if p.IdleTTL <= 0 || p.MaxFileAge < 0 || p.MaxBytes < 0 || p.MaxFiles < 0 || p.WarnBefore < 0 {
			return nil, fmt.Errorf("workspace: plan %q: IdleTTL must be positive and limits not negative", name)
		}
	}
	if m.defaultPlan == "" {
		m.defaultPlan = PlanFree
	}
	if _, ok := m.plans[m.defaultPlan]; !ok && m.resolver == nil {
		return nil, fmt.Errorf("workspace: default plan %q is not among the plans", m.defaultPlan)
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.activity <= 0 {
		m.activity = time.Minute
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("workspace: create root: %w", err)
	}
	// The root path is the host's configuration and may go through
	// symlinks; everything below it must be real directories.
	abs, err := filepath.Abs(root)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("workspace: root: %w", err)
	}
	m.wsDir, m.trashDir = filepath.Join(abs, "ws"), filepath.Join(abs, "trash")
	for _, d := range []string{abs, m.wsDir, m.trashDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("workspace: create root: %w", err)
		}
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("workspace: root: %s is not a directory", filepath.Base(d))
		}
	}
	if m.node, err = nodeName(abs, opts.Node); err != nil {
		return nil, err
	}
	if err := m.recover(ctx); err != nil {
		return nil, err
	}
	// A failed pass (a plan service down, a broken workspace) must not
	// keep the host from starting: log it; the janitor tries again.
	if _, err := m.Sweep(ctx); err != nil {
		m.log.Warn("workspace: first sweep after start failed", "err", err)
	}
	interval := opts.JanitorInterval
	if interval == 0 {
		interval = time.Minute
	}
	if interval > 0 {
		jctx, cancel := context.WithCancel(context.Background())
		m.stopJanitor = cancel
		m.janitorDone = make(chan struct{})
		go m.janitor(jctx, interval)
	}
	return m, nil
}

// nodeName returns the node that owns the root directory at abs, recorded
// in abs/node at the first start: a root must keep its node name, or its
// workspaces would look like orphans (a container's host name changes at
// every restart). want, if set, must match the recorded name.
func nodeName(abs, want string) (string, error) {
	path := filepath.Join(abs, "node")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		have := strings.TrimSpace(string(b))
		if have == "" {
			return "", errors.New("workspace: root's node file is empty")
		}
		if want != "" && want != have {
			return "", fmt.Errorf("workspace: root belongs to node %q, not %q", have, want)
		}
		return have, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("workspace: read node name: %w", err)
	}
	if want == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "local"
		}
		want = h
	}
	if strings.ContainsAny(want, "\n\r\x00") || len(want) > 255 {
		return "", errors.New("workspace: invalid node name")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(want+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("workspace: write node name: %w", err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(abs)
	}
	if err != nil {
		return "", fmt.Errorf("workspace: write node name: %w", err)
	}
	return want, nil
}

// Node returns the name of this manager's node.
func (m *Manager) Node() string { return m.node }

func (m *Manager) janitor(ctx context.Context, interval time.Duration) {
	defer close(m.janitorDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := m.Sweep(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("workspace: janitor pass failed", "err", err)
			}
		}
	}
}

// Close stops the janitor and waits for it, persists the activity of
// loaded workspaces, and closes them. Later calls on the manager and its
// workspaces return [ErrClosed]. Close may be called more than once.
func (m *Manager) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		if m.stopJanitor != nil {
			m.stopJanitor()
			<-m.janitorDone
		}
		m.mu.Lock()
		ws := make([]*Workspace, 0, len(m.ws))
		for _, w := range m.ws {
			ws = append(ws, w)
		}
		m.ws = map[string]*Workspace{}
		m.mu.Unlock()
		ctx := context.Background()
		for _, w := range ws {
			w.mu.Lock()
			if w.gone == nil {
				err = errors.Join(err, w.flushLocked(ctx), w.persistLocked(ctx, true))
			}
			w.markGoneLocked(ErrClosed)
			w.mu.Unlock()
		}
	})
	return err
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// plan resolves user's current plan.
func (m *Manager) plan(ctx context.Context, user string) (Plan, error) {
	name := m.defaultPlan
	if m.resolver != nil {
		var err error
		if name, err = m.resolver(ctx, user); err != nil {
			return Plan{}, fmt.Errorf("workspace: resolve plan: %w", err)
		}
	}
	p, ok := m.plans[name]
	if !ok {
		return Plan{}, fmt.Errorf("workspace: unknown plan %q", name)
	}
	return p, nil
}

func validUser(user string) error {
	if user == "" || len(user) > 256 || !utf8.ValidString(user) {
		return ErrInvalidUser
	}
	for _, r := range user {
		if unicode.IsControl(r) {
			return ErrInvalidUser
		}
	}
	return nil
}

// Open returns user's workspace, creating an empty one if the user has
// none or theirs has expired. user must be a pseudonym, never an e-mail
// address or name; it is stored in the metadata store, never on disk.
// Opening counts as activity. If the workspace lives on another node of a
// fleet, Open returns a [*WrongNodeError].
func (m *Manager) Open(ctx context.Context, user string) (*Workspace, error) {
	if err := validUser(user); err != nil {
		return nil, err
	}
	if m.isClosed() {
		return nil, ErrClosed
	}
	if w := m.loadedUser(user); w != nil {
		_, err := w.begin(ctx)
		switch {
		case err == nil:
			return w, nil
		case !errors.Is(err, ErrExpired):
			return nil, err
		}
	}
	plan, err := m.plan(ctx, user)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		unlock := m.lockUser(user)
		w, err := m.openLocked(ctx, user, plan)
		unlock()
		if err != nil {
			return nil, err
		}
		// The workspace may expire between the load and its first use
		// (when time jumps); then open again, which creates a new one.
		if _, err := w.begin(ctx); err == nil || !errors.Is(err, ErrExpired) || attempt == 2 {
			if err != nil {
				return nil, err
			}
			return w, nil
		}
	}
}

func (m *Manager) openLocked(ctx context.Context, user string, plan Plan) (*Workspace, error) {
	for attempt := 0; attempt < 4; attempt++ {
		if m.isClosed() {
			return nil, ErrClosed
		}
		if w := m.loadedUser(user); w != nil && w.alive() {
			return w, nil
		}
		now := m.now()
		rec, err := m.store.Get(ctx, user)
		switch {
		case errors.Is(err, ErrNotFound):
			rec = Record{User: user, ID: newID(), Node: m.node, Created: now, LastActive: now}
			got, err := m.store.Put(ctx, rec)
			if err != nil {
				return nil, fmt.Errorf("workspace: create: %w", err)
			}
			if got.ID != rec.ID {
				continue // another instance created it first
			}
			if err := os.Mkdir(filepath.Join(m.wsDir, rec.ID), 0o700); err != nil {
				return nil, fmt.Errorf("workspace: create: %w", err)
			}
			if err := syncDir(m.wsDir); err != nil {
				return nil, err
			}
			return m.load(ctx, rec)
		case err != nil:
			return nil, fmt.Errorf("workspace: open: %w", err)
		case rec.Deleting:
			if err := m.finishDeleteLocked(ctx, rec, "recovered"); err != nil {
				return nil, err
			}
		case !now.Before(rec.LastActive.Add(plan.IdleTTL)):
			reason := "idle"
			if rec.Node != m.node {
				reason = "takeover"
			}
			if _, err := m.expireLocked(ctx, rec, plan, now, reason); err != nil {
				return nil, err
			}
		case rec.Node != m.node:
			return nil, &WrongNodeError{Node: rec.Node}
		default:
			w, err := m.load(ctx, rec)
			if errors.Is(err, fs.ErrNotExist) {
				// The directory is gone (a lost disk, a restore without
				// it): the data cannot come back, so start afresh.
				m.log.Warn("workspace: directory missing; replacing workspace", "workspace", rec.ID)
				if err := m.finishDeleteLocked(ctx, rec, "lost"); err != nil {
					return nil, err
				}
				continue
			}
			return w, err
		}
	}
	return nil, errors.New("workspace: open: too much contention on the store")
}

func (m *Manager) loadedUser(user string) *Workspace {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ws[user]
}

// loaded returns the loaded workspace of rec, if any.
func (m *Manager) loaded(rec Record) *Workspace {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.ws[rec.User]; w != nil && w.id == rec.ID {
		return w
	}
	return nil
}

// load opens the directory of rec, decrypts its manifest, removes orphans
// and registers the workspace. An error wrapping fs.ErrNotExist means the
// directory is missing.
func (m *Manager) load(ctx context.Context, rec Record) (*Workspace, error) {
	dir := filepath.Join(m.wsDir, rec.ID)
	root, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	w := &Workspace{m: m, user: rec.User, id: rec.ID, dir: dir, source: "workspace/" + rec.ID, rec: rec, root: root,
		lastActive: rec.LastActive, persisted: rec.LastActive}
	files, err := w.loadManifest(ctx, root)
	if err != nil {
		root.Close()
		return nil, err
	}
	files, changed, err := w.reconcile(ctx, root, files)
	if err != nil {
		root.Close()
		return nil, err
	}
	if changed {
		if err := w.writeManifest(ctx, root, files); err != nil {
			root.Close()
			return nil, err
		}
	}
	w.setFilesLocked(files)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		root.Close()
		return nil, ErrClosed
	}
	m.ws[rec.User] = w
	return w, nil
}

// openDir opens a workspace directory as an [os.Root], refusing a symlink
// or anything else swapped in for the directory. An error wrapping
// fs.ErrNotExist means it is missing.
func openDir(dir string) (*os.Root, error) {
	li, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("workspace: open directory: %w", err)
	}
	if !li.IsDir() {
		return nil, ErrUnsafeFile
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("workspace: open directory: %w", err)
	}
	if fi, err := root.Stat("."); err != nil || !os.SameFile(li, fi) {
		root.Close()
		return nil, ErrUnsafeFile
	}
	return root, nil
}

// Locate returns the node that holds user's workspace, for a fleet's
// router, or an error wrapping [ErrNotFound] if the user has none.
func (m *Manager) Locate(ctx context.Context, user string) (string, error) {
	if err := validUser(user); err != nil {
		return "", err
	}
	rec, err := m.store.Get(ctx, user)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", ErrNotFound
		}
		return "", fmt.Errorf("workspace: locate: %w", err)
	}
	return rec.Node, nil
}

// Delete erases user's workspace now: it shreds the workspace key, moves
// the directory to the trash, removes it and syncs, then drops the record.
// Deleting a user without a workspace is not an error. For a workspace on
// another node, Delete shreds the key and drops the record; that node
// removes the unreadable directory at its next start or activity check.
func (m *Manager) Delete(ctx context.Context, user string) error {
	if err := validUser(user); err != nil {
		return err
	}
	if m.isClosed() {
		return ErrClosed
	}
	defer m.lockUser(user)()
	rec, err := m.store.Get(ctx, user)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("workspace: delete: %w", err)
	}
	if w := m.loaded(rec); w != nil {
		w.mu.Lock()
		w.markGoneLocked(ErrExpired)
		w.mu.Unlock()
	}
	return m.finishDeleteLocked(ctx, rec, "delete")
}
