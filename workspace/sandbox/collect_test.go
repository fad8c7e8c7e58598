package sandbox

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type tarEntry struct {
	name string
	typ  byte
	body string
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
			h.Linkname = "target"
		}
		require.NoError(t, tw.WriteHeader(h))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestReadOutputs(t *testing.T) {
	t.Parallel()
	stream := makeTar(t,
		tarEntry{"./", tar.TypeDir, ""},
		tarEntry{"./a.csv", tar.TypeReg, "1,2\n"},
		tarEntry{"./link", tar.TypeSymlink, ""},
		tarEntry{"./hard", tar.TypeLink, ""},
		tarEntry{"./sub/", tar.TypeDir, ""},
		tarEntry{"./sub/b.txt", tar.TypeReg, "b"},
		tarEntry{"./skipped.bin", tar.TypeReg, "not read by fn"},
	)
	got := map[string]string{}
	err := readOutputs(bytes.NewReader(stream), 1<<20, func(name string, size int64, r io.Reader) error {
		if name == "skipped.bin" {
			return nil // fn may ignore an entry's content
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		assert.Equal(t, size, int64(len(b)))
		got[name] = string(b)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a.csv": "1,2\n", "sub/b.txt": "b"}, got, "regular files only, names relative to the output dir")
}

func TestReadOutputsRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stream []byte
		max    int64
		why    string
	}{
		{"dot-dot", makeTar(t, tarEntry{"../escape", tar.TypeReg, "x"}), 10, "no name outside the output dir"},
		{"absolute", makeTar(t, tarEntry{"/etc/passwd", tar.TypeReg, "x"}), 10, "no absolute name"},
		{"unclean", makeTar(t, tarEntry{"a//b", tar.TypeReg, "x"}), 10, "names are clean"},
		{"too big", makeTar(t, tarEntry{"a", tar.TypeReg, "0123456789"}), 5, "no entry larger than scratch"},
		{"garbage", []byte("this is not a tar stream at all, but long enough to be read as a header block........"), 10, "malformed stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			err := readOutputs(bytes.NewReader(tt.stream), tt.max, func(string, int64, io.Reader) error { called = true; return nil })
			require.ErrorIs(t, err, ErrBadOutputStream, tt.why)
			assert.False(t, called)
		})
	}
	// fn's error is returned as is.
	boom := errors.New("boom")
	err := readOutputs(bytes.NewReader(makeTar(t, tarEntry{"a", tar.TypeReg, "x"})), 10, func(string, int64, io.Reader) error { return boom })
	require.ErrorIs(t, err, boom)
	// An empty stream (the command failed, nothing collected) is fine.
	require.NoError(t, readOutputs(bytes.NewReader(nil), 10, nil))
}

func FuzzReadOutputs(f *testing.F) {
	f.Add(makeTar(f, tarEntry{"./a.csv", tar.TypeReg, "1,2\n"}, tarEntry{"./l", tar.TypeSymlink, ""}))
	f.Add(makeTar(f, tarEntry{"../x", tar.TypeReg, "x"}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 1024))
	f.Fuzz(func(t *testing.T, stream []byte) {
		const max = 1 << 16
		_ = readOutputs(bytes.NewReader(stream), max, func(name string, size int64, r io.Reader) error {
			if !fs.ValidPath(name) || name == "." || name == "" {
				t.Fatalf("invalid name %q passed on", name)
			}
			if size < 0 || size > max {
				t.Fatalf("size %d passed on", size)
			}
			n, _ := io.Copy(io.Discard, r)
			if n > size {
				t.Fatalf("read %d bytes of an entry of %d", n, size)
			}
			return nil
		})
	})
}
