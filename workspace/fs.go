package workspace

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// FS returns a read-only [fs.FS] view of the workspace: a flat directory
// "." holding the workspace's files. It implements [fs.StatFS] and
// [fs.ReadDirFS]. Each call is a workspace operation (activity, expiry
// checks) run with context.Background; files are decrypted as they are
// read. The view stays valid as long as the workspace.
func (w *Workspace) FS() fs.FS { return fsView{w} }

type fsView struct{ w *Workspace }

var (
	_ fs.StatFS    = fsView{}
	_ fs.ReadDirFS = fsView{}
)

func pathError(op, name string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidName):
		err = fs.ErrNotExist
	case errors.Is(err, ErrClosed):
		err = fs.ErrClosed
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (v fsView) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, pathError("open", name, fs.ErrInvalid)
	}
	ctx := context.Background()
	if name == "." {
		list, err := v.w.List(ctx)
		if err != nil {
			return nil, pathError("open", name, err)
		}
		return &dirFile{list: list}, nil
	}
	f, err := v.w.openFile(ctx, name)
	if err != nil {
		return nil, pathError("open", name, err)
	}
	return f, nil
}

func (v fsView) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, pathError("stat", name, fs.ErrInvalid)
	}
	if name == "." {
		if _, err := v.w.begin(context.Background()); err != nil {
			return nil, pathError("stat", name, err)
		}
		return dirInfo{}, nil
	}
	fi, err := v.w.Stat(context.Background(), name)
	if err != nil {
		return nil, pathError("stat", name, err)
	}
	return fi, nil
}

func (v fsView) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		if !fs.ValidPath(name) {
			return nil, pathError("readdir", name, fs.ErrInvalid)
		}
		if _, err := v.Stat(name); err != nil {
			return nil, pathError("readdir", name, fs.ErrNotExist)
		}
		return nil, pathError("readdir", name, errors.New("not a directory"))
	}
	list, err := v.w.List(context.Background())
	if err != nil {
		return nil, pathError("readdir", name, err)
	}
	out := make([]fs.DirEntry, len(list))
	for i, fi := range list {
		out[i] = fs.FileInfoToDirEntry(fi)
	}
	return out, nil
}

// dirFile is the root directory of the view.
type dirFile struct {
	list []fs.FileInfo
	off  int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return dirInfo{}, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.list[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	d.off += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, fi := range rest {
		out[i] = fs.FileInfoToDirEntry(fi)
	}
	return out, nil
}

type dirInfo struct{}

func (dirInfo) Name() string       { return "." }
func (dirInfo) Size() int64        { return 0 }
func (dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o500 }
func (dirInfo) ModTime() time.Time { return time.Time{} }
func (dirInfo) IsDir() bool        { return true }
func (dirInfo) Sys() any           { return nil }
