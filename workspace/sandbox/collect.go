package sandbox

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// ErrBadOutputStream reports that the stream of collected outputs coming out
// of the sandbox was malformed. The stream is written by the sandbox's own
// tar, but code in the sandbox can interfere with it, so it is parsed as
// untrusted input.
var ErrBadOutputStream = errors.New("sandbox: malformed output stream")

// readOutputs parses a tar stream of the output directory and calls fn for
// each regular file with a valid relative name and a size of at most
// maxSize. Other entries (directories, links, devices) are skipped. It
// returns fn's first error, or an error matching [ErrBadOutputStream].
func readOutputs(r io.Reader, maxSize int64, fn func(name string, size int64, r io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadOutputStream, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name, ok := outputName(h.Name)
		if !ok || h.Size < 0 || h.Size > maxSize {
			return fmt.Errorf("%w: bad entry", ErrBadOutputStream)
		}
		cr := &countReader{r: tr}
		if err := fn(name, h.Size, cr); err != nil {
			return err
		}
		if cr.n != h.Size {
			// fn stopped early, or the entry was short.
			if _, err := io.Copy(io.Discard, cr); err != nil {
				return fmt.Errorf("%w: %w", ErrBadOutputStream, err)
			}
		}
	}
}

// outputName turns a tar entry name ("./a/b.csv") into a workspace name
// ("a/b.csv"), refusing anything that is not a plain relative path.
func outputName(n string) (string, bool) {
	n = strings.TrimPrefix(n, "./")
	if n == "" || !fs.ValidPath(n) || n == "." || strings.ContainsRune(n, 0) {
		return "", false
	}
	if path.Clean(n) != n {
		return "", false
	}
	return n, true
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
