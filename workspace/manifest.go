package workspace

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
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
func (w *Workspace) writeManifest(ctx context.Context, root *os.Root, files map[string]*entry) error {
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

// reconcile makes a freshly loaded manifest agree with the directory. An
// entry whose data file is gone was replaced or removed after the
// manifest's last write: it is dropped. A data file the manifest does not
// name is either an upload committed after that write, which is adopted if
// its header allows it and it decrypts to the end, or the leftover of a
// write a crash interrupted. Everything else — temporary manifests,
// anything planted by another process — is removed (removing a symlink
// removes the link, never its target). changed reports whether the
// manifest must be rewritten.
func (w *Workspace) reconcile(ctx context.Context, root *os.Root, files map[string]*entry) (map[string]*entry, bool, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, false, fmt.Errorf("workspace: list directory: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, false, fmt.Errorf("workspace: list directory: %w", err)
	}
	present := make(map[string]bool, len(names))
	for _, n := range names {
		present[n] = true
	}
	changed := false
	keep := map[string]bool{manifestName: true}
	for name, e := range files {
		if !present[e.id] {
			delete(files, name)
			changed = true
			continue
		}
		keep[e.id] = true
	}
	var adopted []*entry
	removed := 0
	for _, n := range names {
		if keep[n] {
			continue
		}
		if validID(n) {
			if e := w.adopt(ctx, root, n); e != nil {
				adopted = append(adopted, e)
				continue
			}
		}
		if err := root.RemoveAll(n); err != nil {
			return nil, false, fmt.Errorf("workspace: remove orphan: %w", err)
		}
		removed++
	}
	slices.SortFunc(adopted, func(a, b *entry) int { return a.uploaded.Compare(b.uploaded) })
	for _, e := range adopted {
		changed = true
		old := files[e.name]
		if old != nil && old.uploaded.After(e.uploaded) {
			_ = root.Remove(e.id) // an older version of a replaced file
			removed++
			continue
		}
		if old != nil {
			_ = root.Remove(old.id)
			removed++
		}
		files[e.name] = e
	}
	if removed > 0 {
		if err := syncRoot(root); err != nil {
			return nil, false, err
		}
	}
	return files, changed, nil
}

// adopt returns the entry of a data file the manifest does not name, if
// its header says it is a committed standalone upload and its whole
// ciphertext authenticates; nil otherwise.
func (w *Workspace) adopt(ctx context.Context, root *os.Root, id string) *entry {
	f, _, err := openRegular(root, id)
	if err != nil {
		return nil
	}
	defer f.Close()
	r, err := w.m.cipher.NewDecryptingReader(ctx, w.source, f, fileAD(id))
	if err != nil {
		return nil
	}
	h, err := readHeader(r)
	if err != nil || !h.standalone {
		return nil
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil
	}
	return &entry{id: id, name: h.name, size: n, uploaded: h.uploaded}
}

// Data file header, the first plaintext bytes of every data file:
//
//	"PKW1" | flags (1 byte: bit 0 = standalone) | uvarint len(name) | name | uploaded (int64 Unix ns, big endian)
const headerMagic = "PKW1"

type header struct {
	name       string
	uploaded   time.Time
	standalone bool
}

func encodeHeader(name string, uploaded time.Time, standalone bool) []byte {
	b := make([]byte, 0, len(headerMagic)+1+binary.MaxVarintLen64+len(name)+8)
	b = append(b, headerMagic...)
	var flags byte
	if standalone {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	return binary.BigEndian.AppendUint64(b, uint64(uploaded.UnixNano()))
}

// readHeader reads and checks the header at the start of r.
func readHeader(r io.Reader) (header, error) {
	bad := fmt.Errorf("%w: bad data file header", ErrCorrupt)
	var fixed [len(headerMagic) + 1]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil || string(fixed[:len(headerMagic)]) != headerMagic || fixed[len(headerMagic)]&^1 != 0 {
		return header{}, bad
	}
	n, err := binary.ReadUvarint(byteReader{r})
	if err != nil || n == 0 || n > MaxNameBytes {
		return header{}, bad
	}
	rest := make([]byte, n+8)
	if _, err := io.ReadFull(r, rest); err != nil {
		return header{}, bad
	}
	name := string(rest[:n])
	if v, err := ValidName(name); err != nil || v != name {
		return header{}, bad
	}
	ns := int64(binary.BigEndian.Uint64(rest[n:]))
	return header{name: name, uploaded: time.Unix(0, ns).UTC(), standalone: fixed[len(headerMagic)]&1 != 0}, nil
}

// byteReader reads one byte at a time from r, for binary.ReadUvarint,
// without reading ahead.
type byteReader struct{ r io.Reader }

func (b byteReader) ReadByte() (byte, error) {
	var c [1]byte
	if _, err := io.ReadFull(b.r, c[:]); err != nil {
		return 0, err
	}
	return c[0], nil
}
