package workspace

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// ImportZip unpacks a zip archive (typically of CSV files) of size bytes
// into the workspace, all or nothing: if any entry fails, no file of the
// archive remains. Each regular file entry becomes a file named by its base
// name (folders in the archive are flattened), replacing a workspace file
// of that name as [Workspace.Create] does; directory entries and
// macOS resource forks ("__MACOSX/") are skipped. It returns the new files
// sorted as in the archive.
//
// It is safe against hostile archives. Entry paths are checked element by
// element before use and must not climb out ("../evil", "/etc/passwd",
// "C:\evil" are refused with [ErrInvalidName]); symlinks and other special
// entries are refused with [ErrBadArchive]; two entries with one name fail
// with [ErrExist]. Sizes are counted as bytes are decompressed, never taken
// from headers: an archive over [ArchiveLimits] or the plan's quota fails
// with [ErrQuota], however it declares its sizes.
func (w *Workspace) ImportZip(ctx context.Context, r io.ReaderAt, size int64) ([]fs.FileInfo, error) {
	lim := w.m.archive
	if size < 0 || size > lim.MaxArchiveBytes {
		return nil, fmt.Errorf("%w: archive too large", ErrQuota)
	}
	plan, err := w.begin(ctx)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%w: not a readable zip", ErrBadArchive)
	}
	type item struct {
		f    *zip.File
		name string
	}
	var items []item
	seen := map[string]bool{}
	for _, f := range zr.File {
		name, skip, err := archiveName(f)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: two archive entries share a name", ErrExist)
		}
		seen[name] = true
		items = append(items, item{f, name})
		if len(items) > lim.MaxEntries {
			return nil, fmt.Errorf("%w: too many archive entries", ErrQuota)
		}
	}

	var written []*entry
	cleanup := func() {
		for _, e := range written {
			w.removeData(e.id)
		}
	}
	var total int64
	for _, it := range items {
		limit := min(lim.MaxEntryBytes, lim.MaxTotalBytes-total)
		if limit <= 0 {
			cleanup()
			return nil, fmt.Errorf("%w: archive expands too far", ErrQuota)
		}
		e, err := w.importEntry(ctx, it.f, it.name, plan, limit, written)
		if err != nil {
			cleanup()
			return nil, err
		}
		written = append(written, e)
		total += e.size
	}
	if err := w.commitNew(ctx, plan, true, written...); err != nil {
		cleanup()
		return nil, err
	}
	out := make([]fs.FileInfo, len(written))
	for i, e := range written {
		out[i] = fileInfo{e}
	}
	return out, nil
}

// importEntry decompresses one entry into a data file. Bytes already
// written for earlier entries of the archive count against the quota.
func (w *Workspace) importEntry(ctx context.Context, f *zip.File, name string, plan Plan, limit int64, earlier []*entry) (*entry, error) {
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return nil, fmt.Errorf("%w: unsupported compression method", ErrBadArchive)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: entry does not open", ErrBadArchive)
	}
	defer rc.Close()
	if plan.MaxBytes > 0 {
		for _, e := range earlier {
			plan.MaxBytes -= e.size
		}
		if plan.MaxBytes <= 0 {
			return nil, fmt.Errorf("%w: byte limit", ErrQuota)
		}
	}
	if plan.MaxFiles > 0 {
		plan.MaxFiles -= len(earlier)
		if plan.MaxFiles <= 0 {
			return nil, fmt.Errorf("%w: too many files", ErrQuota)
		}
	}
	e, ds, err := w.writeData(ctx, name, zipErrReader{rc}, plan, limit, false)
	if err != nil {
		return nil, err
	}
	if err := ds.wait(); err != nil {
		w.removeData(e.id)
		return nil, err
	}
	return e, nil
}

// zipErrReader turns decompression and checksum errors into ErrBadArchive.
type zipErrReader struct{ r io.Reader }

func (z zipErrReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: entry is corrupt", ErrBadArchive)
	}
	return n, err
}

// archiveName checks an entry's path and returns the file name it
// becomes, or skip for entries that carry no file.
func archiveName(f *zip.File) (name string, skip bool, err error) {
	p := f.Name
	if strings.ContainsRune(p, '\\') || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) ||
		(len(p) >= 2 && p[1] == ':') {
		return "", false, fmt.Errorf("%w: archive entry path", ErrInvalidName)
	}
	isDir := strings.HasSuffix(p, "/")
	elems := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for _, el := range elems {
		if _, err := ValidName(el); err != nil {
			return "", false, fmt.Errorf("%w: archive entry path", ErrInvalidName)
		}
	}
	mode := f.Mode()
	switch {
	case isDir || mode.IsDir():
		return "", true, nil
	case mode&fs.ModeSymlink != 0, !mode.IsRegular():
		return "", false, fmt.Errorf("%w: symlink or special entry", ErrBadArchive)
	case elems[0] == "__MACOSX":
		return "", true, nil
	}
	name, err = ValidName(path.Base(p))
	return name, false, err
}
