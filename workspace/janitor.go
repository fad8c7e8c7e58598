package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// Sweep makes one janitor pass over this node's workspaces: it finishes
// interrupted deletions, deletes workspaces idle past their plan's TTL and
// files past their plan's maximum age, and sends warnings. It returns how
// many workspaces and files it deleted. The janitor goroutine calls it;
// hosts that drive a fake clock, and tests, call it directly. A failure on
// one workspace does not stop the pass; the errors are joined.
func (m *Manager) Sweep(ctx context.Context) (deleted int, err error) {
	if m.isClosed() {
		return 0, ErrClosed
	}
	recs, err := m.store.List(ctx, m.node)
	if err != nil {
		return 0, fmt.Errorf("workspace: sweep: %w", err)
	}
	m.pruneWarned(m.now())
	var errs []error
	for _, rec := range recs {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		n, err := m.sweepOne(ctx, rec)
		deleted += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return deleted, errors.Join(errs...)
}

func (m *Manager) sweepOne(ctx context.Context, rec Record) (int, error) {
	if rec.Deleting {
		defer m.lockUser(rec.User)()
		return 1, m.finishDeleteLocked(ctx, rec, "recovered")
	}
	plan, err := m.plan(ctx, rec.User)
	if err != nil {
		m.log.Warn("workspace: sweep skipped a workspace: no plan", "workspace", rec.ID, "err", err)
		return 0, err
	}
	now := m.now()
	lastActive, oldest := rec.LastActive, rec.OldestFile
	w := m.loaded(rec)
	if w != nil {
		w.mu.Lock()
		lastActive, oldest = latest(lastActive, w.lastActive), w.oldestLocked()
		w.mu.Unlock()
	}
	deadline := lastActive.Add(plan.IdleTTL)
	if !now.Before(deadline) {
		defer m.lockUser(rec.User)()
		ok, err := m.expireLocked(ctx, rec, plan, now, "idle")
		if ok {
			return 1, err
		}
		return 0, err
	}
	if plan.WarnBefore > 0 && !now.Before(deadline.Add(-plan.WarnBefore)) {
		m.mu.Lock()
		already := m.warned[rec.ID].Equal(deadline)
		m.warned[rec.ID] = deadline
		m.mu.Unlock()
		if !already {
			m.emit(Event{Kind: EventWarning, User: rec.User, Workspace: rec.ID, Time: now, Deadline: deadline})
		}
	}
	// Files need a look once the oldest is within WarnBefore of its cap.
	if plan.MaxFileAge <= 0 || oldest.IsZero() || now.Before(oldest.Add(plan.MaxFileAge-plan.WarnBefore)) {
		if w != nil {
			w.mu.Lock()
			w.parkLocked(ctx, now, 2*m.activity)
			w.mu.Unlock()
		}
		return 0, nil
	}
	if w == nil {
		unlock := m.lockUser(rec.User)
		if w = m.loaded(rec); w == nil {
			w, err = m.load(ctx, rec)
			if errors.Is(err, fs.ErrNotExist) {
				m.log.Warn("workspace: directory missing; dropping workspace", "workspace", rec.ID)
				err = m.finishDeleteLocked(ctx, rec, "lost")
				unlock()
				return 1, err
			}
		}
		unlock()
		if err != nil {
			return 0, err
		}
	}
	w.mu.Lock()
	n, evs, err := w.expireFilesLocked(ctx, plan, now)
	var soon []Event
	if plan.WarnBefore > 0 {
		for _, e := range w.files {
			if dl := e.uploaded.Add(plan.MaxFileAge); !now.Before(dl.Add(-plan.WarnBefore)) {
				soon = append(soon, Event{Kind: EventWarning, User: rec.User, Workspace: rec.ID, File: e.id, Time: now, Deadline: dl})
			}
		}
	}
	w.parkLocked(ctx, now, 2*m.activity)
	w.mu.Unlock()
	m.mu.Lock()
	for _, ev := range soon {
		key := ev.Workspace + "/" + ev.File
		if _, done := m.warned[key]; !done {
			m.warned[key] = ev.Deadline
			evs = append(evs, ev)
		}
	}
	m.mu.Unlock()
	m.emit(evs...)
	return n, err
}

// pruneWarned forgets warnings whose deadline has passed.
func (m *Manager) pruneWarned(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, dl := range m.warned {
		if dl.Before(now) {
			delete(m.warned, k)
		}
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// expireLocked deletes rec's workspace if it is still idle past its
// deadline, checking the in-memory activity under the workspace's lock so
// that a use racing with the janitor wins. It reports whether it deleted.
// The caller holds the user's lock (lockUser).
func (m *Manager) expireLocked(ctx context.Context, rec Record, plan Plan, now time.Time, reason string) (bool, error) {
	lastActive := rec.LastActive
	if w := m.loaded(rec); w != nil {
		w.mu.Lock()
		lastActive = latest(lastActive, w.lastActive)
		if now.Before(lastActive.Add(plan.IdleTTL)) {
			w.mu.Unlock()
			return false, nil
		}
		w.markGoneLocked(ErrExpired)
		w.mu.Unlock()
	} else if now.Before(lastActive.Add(plan.IdleTTL)) {
		return false, nil
	}
	m.emit(Event{Kind: EventExpired, User: rec.User, Workspace: rec.ID, Time: now, Deadline: lastActive.Add(plan.IdleTTL)})
	return true, m.finishDeleteLocked(ctx, rec, reason)
}

// finishDeleteLocked deletes rec's workspace. Each step is idempotent, so
// a deletion interrupted at any point is finished by running it again:
// mark the record, shred the key, move the directory to the trash (own
// node only), remove it, sync, drop the record. The caller holds the user's
// lock (or runs alone, in New) and
// has marked a loaded workspace gone.
func (m *Manager) finishDeleteLocked(ctx context.Context, rec Record, reason string) (err error) {
	m.mu.Lock()
	w := m.ws[rec.User]
	if w != nil && w.id == rec.ID {
		delete(m.ws, rec.User)
	} else {
		w = nil
	}
	delete(m.warned, rec.ID)
	m.mu.Unlock()
	if w != nil {
		w.mu.Lock()
		w.markGoneLocked(ErrExpired)
		w.mu.Unlock()
	}
	defer func() {
		outcome := audit.Success
		if err != nil {
			outcome = audit.Error
		}
		m.audit(ctx, "workspace.delete", "workspace/"+rec.ID, rec.User, reason, outcome)
		if err == nil {
			m.emit(Event{Kind: EventDeleted, User: rec.User, Workspace: rec.ID, Reason: reason, Time: m.now()})
		}
	}()
	rec.Deleting = true
	if _, err := m.store.Put(ctx, rec); err != nil {
		return fmt.Errorf("workspace: delete: mark record: %w", err)
	}
	if err := m.cipher.Shred(ctx, "workspace/"+rec.ID); err != nil {
		return fmt.Errorf("workspace: delete: shred key: %w", err)
	}
	if rec.Node == m.node && validID(rec.ID) {
		if err := m.removeDir(rec.ID); err != nil {
			return err
		}
	}
	if err := m.store.Delete(ctx, rec.User, rec.ID); err != nil {
		return fmt.Errorf("workspace: delete: drop record: %w", err)
	}
	return nil
}

// removeDir moves ws/<id> to the trash, syncs both directories, removes it
// and syncs the trash. A missing directory is already removed.
func (m *Manager) removeDir(id string) error {
	src, dst := filepath.Join(m.wsDir, id), filepath.Join(m.trashDir, id)
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("workspace: delete: %w", err)
	}
	switch err := os.Rename(src, dst); {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("workspace: delete: move to trash: %w", err)
	}
	if err := syncDir(m.wsDir); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("workspace: delete: %w", err)
	}
	return syncDir(m.trashDir)
}

// recover empties the trash, finishes interrupted deletions and removes
// workspace directories that no record of this node claims.
func (m *Manager) recover(ctx context.Context) error {
	trash, err := os.ReadDir(m.trashDir)
	if err != nil {
		return fmt.Errorf("workspace: recover: %w", err)
	}
	for _, e := range trash {
		if err := os.RemoveAll(filepath.Join(m.trashDir, e.Name())); err != nil {
			return fmt.Errorf("workspace: recover: %w", err)
		}
	}
	if len(trash) > 0 {
		if err := syncDir(m.trashDir); err != nil {
			return err
		}
	}
	recs, err := m.store.List(ctx, m.node)
	if err != nil {
		return fmt.Errorf("workspace: recover: %w", err)
	}
	live := map[string]bool{} // New runs recover alone: no locks needed
	for _, rec := range recs {
		if rec.Deleting {
			if err := m.finishDeleteLocked(ctx, rec, "recovered"); err != nil {
				return err
			}
			continue
		}
		live[rec.ID] = true
	}
	dirs, err := os.ReadDir(m.wsDir)
	if err != nil {
		return fmt.Errorf("workspace: recover: %w", err)
	}
	for _, d := range dirs {
		id := d.Name()
		if live[id] {
			continue
		}
		// No record claims it: a workspace whose record was dropped (by
		// another node's Delete or takeover) or something planted.
		if validID(id) {
			if err := m.cipher.Shred(ctx, "workspace/"+id); err != nil {
				return fmt.Errorf("workspace: recover: shred key: %w", err)
			}
		}
		if err := m.removeDir(id); err != nil {
			return err
		}
		m.audit(ctx, "workspace.delete", "workspace/"+id, "", "orphan", audit.Success)
	}
	return nil
}

func (m *Manager) emit(evs ...Event) {
	if m.onEvent == nil {
		return
	}
	for _, e := range evs {
		m.onEvent(e)
	}
}

// audit records a deletion. A failure to record is logged, not returned:
// the deletion itself must not be held back by the audit log.
func (m *Manager) audit(ctx context.Context, action, resource, user, reason string, outcome audit.Outcome) {
	if m.auditor == nil {
		return
	}
	e := audit.Event{
		Time:     m.now(),
		Actor:    "service:workspace",
		Action:   action,
		Resource: resource,
		Subject:  user,
		Purpose:  "retention",
		Outcome:  outcome,
		Service:  "workspace",
		Attrs:    []audit.Attr{audit.String("reason", reason), audit.String("node", m.node)},
	}
	if err := m.auditor.Record(ctx, e); err != nil {
		m.log.Warn("workspace: audit record failed", "action", action, "err", err)
	}
}
