package workspace

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// On-disk layout of a workspace directory: the encrypted manifest, and one
// encrypted data file per workspace file, named by a random ID. Temporary
// manifests are "manifest.<random>.tmp".
const (
	manifestName    = "manifest"
	manifestVersion = 1
	idBytes         = 16
)

// Associated data binds each ciphertext to its role and file ID, so that
// content moved to another ID, or a data file put in place of the
// manifest, fails to open. The data-source ID binds the workspace.
func fileAD(id string) []byte { return []byte("privkit/workspace/v1/file/" + id) }

var manifestAD = []byte("privkit/workspace/v1/manifest")

// manifest is the encrypted metadata of a workspace: its files' names,
// sizes and upload times. Version 1 is JSON.
type manifest struct {
	Version int             `json:"v"`
	Files   []manifestEntry `json:"files"`
}

type manifestEntry struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Uploaded time.Time `json:"uploaded"`
}

// entry is one file of a loaded workspace; entries are immutable (replace,
// never modify), so a shallow copy of the map is a snapshot.
type entry struct {
	id       string
	name     string
	size     int64
	uploaded time.Time
}

func newID() string {
	var b [idBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("workspace: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// decodeManifest parses manifest plaintext, checking every field.
func decodeManifest(b []byte) (map[string]*entry, error) {
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest does not parse", ErrCorrupt)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("%w: manifest version %d", ErrCorrupt, m.Version)
	}
	files := make(map[string]*entry, len(m.Files))
	ids := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		name, err := ValidName(f.Name)
		if err != nil || name != f.Name || !validID(f.ID) || f.Size < 0 || ids[f.ID] || files[name] != nil {
			return nil, fmt.Errorf("%w: bad manifest entry", ErrCorrupt)
		}
		ids[f.ID] = true
		files[name] = &entry{id: f.ID, name: name, size: f.Size, uploaded: f.Uploaded}
	}
	return files, nil
}

func encodeManifest(files map[string]*entry) []byte {
	m := manifest{Version: manifestVersion, Files: make([]manifestEntry, 0, len(files))}
	for _, e := range files {
		m.Files = append(m.Files, manifestEntry{ID: e.id, Name: e.name, Size: e.size, Uploaded: e.uploaded.UTC()})
	}
	slices.SortFunc(m.Files, func(a, b manifestEntry) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.Marshal(m)
	if err != nil {
		panic("workspace: encoding manifest: " + err.Error())
	}
	return b
}

// openRegular opens name in root for reading, refusing anything that is
// not a regular file with a single link: a planted symlink, hard link,
// directory or device. The check compares the Lstat of the name with the
// Fstat of the opened descriptor, so a swap between the two is caught too.
func openRegular(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	li, err := root.Lstat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("workspace: stat data file: %w", err)
	}
	if !li.Mode().IsRegular() || linkCount(li) != 1 {
		return nil, nil, ErrUnsafeFile
	}
	f, err := root.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("workspace: open data file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("workspace: stat data file: %w", err)
	}
	if !os.SameFile(li, fi) || !fi.Mode().IsRegular() || linkCount(fi) != 1 {
		f.Close()
		return nil, nil, ErrUnsafeFile
	}
	return f, fi, nil
}

// loadManifest reads and decrypts the manifest of a workspace directory.
// A missing manifest is an empty workspace.
func (w *Workspace) loadManifest(ctx context.Context, root *os.Root) (map[string]*entry, error) {
	f, _, err := openRegular(root, manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*entry{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := w.m.cipher.NewDecryptingReader(ctx, w.source, f, manifestAD)
	if err != nil {
		return nil, ErrCorrupt
	}
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, ErrCorrupt
	}
	return decodeManifest(b)
}

// writeManifest encrypts files into a temporary file, syncs it, renames it
// over the manifest and syncs the directory: a crash leaves either the old
// or the new manifest, never a mix.
// beforeRename, if not nil, is called after the new manifest is durable
// and before it replaces the old one; its error aborts the write.
func (w *Workspace) writeManifest(ctx context.Context, root *os.Root, files map[string]*entry, beforeRename func() error) error {
	tmp := manifestName + "." + newID() + ".tmp"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("workspace: write manifest: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		_ = root.Remove(tmp)
		return fmt.Errorf("workspace: write manifest: %w", err)
	}
	ew, err := w.m.cipher.NewEncryptingWriter(ctx, w.source, f, manifestAD)
	if err != nil {
		return fail(err)
	}
	if _, err := ew.Write(encodeManifest(files)); err != nil {
		return fail(err)
	}
	if err := ew.Close(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("workspace: write manifest: %w", err)
	}
	if beforeRename != nil {
		if err := beforeRename(); err != nil {
			_ = root.Remove(tmp)
			return err
		}
	}
	if err := root.Rename(tmp, manifestName); err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("workspace: write manifest: %w", err)
	}
	return syncRoot(root)
}

// syncRoot fsyncs the directory of root so that renames and removals in it
// are durable.
func syncRoot(root *os.Root) error {
	d, err := root.Open(".")
	if err != nil {
		return fmt.Errorf("workspace: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("workspace: sync directory: %w", err)
	}
	return nil
}

// syncDir fsyncs the directory at path.
func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("workspace: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("workspace: sync directory: %w", err)
	}
	return nil
}

// cleanOrphans removes from a freshly loaded workspace directory everything
// the manifest does not name: data files of writes a crash interrupted,
// temporary manifests, and anything planted by another process (removing
// a symlink removes the link, never its target).
func cleanOrphans(root *os.Root, files map[string]*entry) (int, error) {
	d, err := root.Open(".")
	if err != nil {
		return 0, fmt.Errorf("workspace: list directory: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, fmt.Errorf("workspace: list directory: %w", err)
	}
	keep := map[string]bool{manifestName: true}
	for _, e := range files {
		keep[e.id] = true
	}
	n := 0
	for _, name := range names {
		if keep[name] {
			continue
		}
		if err := root.RemoveAll(name); err != nil {
			return n, fmt.Errorf("workspace: remove orphan: %w", err)
		}
		n++
	}
	if n > 0 {
		return n, syncRoot(root)
	}
	return 0, nil
}
