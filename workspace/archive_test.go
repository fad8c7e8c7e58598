package workspace_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace"
)

type zipEntry struct {
	name string
	body string
	mode fs.FileMode // 0 means a regular file
	// lie, if set, is the uncompressed size the header claims.
	lie uint64
}

// makeZip builds an archive; entry names are written as given, so hostile
// names reach the importer unaltered.
func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.lie > 0 {
			raw := deflate(t, e.body)
			h.CompressedSize64 = uint64(len(raw))
			h.UncompressedSize64 = e.lie
			h.CRC32 = 0
			w, err := zw.CreateRaw(h)
			require.NoError(t, err)
			_, err = w.Write(raw)
			require.NoError(t, err)
			continue
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = io.WriteString(w, e.body)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func deflate(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "x", Method: zip.Deflate})
	require.NoError(t, err)
	_, err = io.WriteString(w, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	rc, err := zr.File[0].OpenRaw()
	require.NoError(t, err)
	raw, err := io.ReadAll(rc)
	require.NoError(t, err)
	return raw
}

func importZip(ws *workspace.Workspace, b []byte) ([]fs.FileInfo, error) {
	return ws.ImportZip(context.Background(), bytes.NewReader(b), int64(len(b)))
}

func TestImportZip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_zip")
	require.NoError(t, err)
	z := makeZip(t,
		zipEntry{name: "export/", mode: fs.ModeDir | 0o755},
		zipEntry{name: "export/sales.csv", body: "region,total\nnorth,1\n"},
		zipEntry{name: "export/costs.csv", body: "item,cost\n"},
		zipEntry{name: "__MACOSX/export/._sales.csv", body: "resource fork"},
	)
	got, err := importZip(ws, z)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "sales.csv", got[0].Name(), "folders are flattened to base names")
	assert.Equal(t, "costs.csv", got[1].Name())
	assert.Equal(t, "region,total\nnorth,1\n", readAll(t, ws, "sales.csv"))
	list, err := ws.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2, "directories and resource forks are skipped")
}

func TestImportZipHostile(t *testing.T) {
	t.Parallel()
	zeros := strings.Repeat("\x00", 4<<20) // deflates to a few KiB
	tests := []struct {
		name    string
		entries []zipEntry
		want    error
		reason  string
	}{
		{"zip-slip", []zipEntry{{name: "ok.csv", body: "a"}, {name: "../../evil.sh", body: "x"}}, workspace.ErrInvalidName, "CVE-2018-1002200: an entry climbing out is refused"},
		{"zip-slip-backslash", []zipEntry{{name: "..\\..\\evil.exe", body: "x"}}, workspace.ErrInvalidName, "Windows separators are refused"},
		{"absolute", []zipEntry{{name: "/etc/passwd", body: "x"}}, workspace.ErrInvalidName, "absolute paths are refused"},
		{"drive", []zipEntry{{name: "C:/evil", body: "x"}}, workspace.ErrInvalidName, "drive letters are refused"},
		{"dot-in-middle", []zipEntry{{name: "a/../../b.csv", body: "x"}}, workspace.ErrInvalidName, "a parent element anywhere is refused"},
		{"nul", []zipEntry{{name: "a\x00.csv", body: "x"}}, workspace.ErrInvalidName, "NUL in a name"},
		{"symlink", []zipEntry{{name: "link", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}}, workspace.ErrBadArchive, "symlink entries are refused"},
		{"device", []zipEntry{{name: "dev", body: "", mode: fs.ModeDevice | 0o600}}, workspace.ErrBadArchive, "special entries are refused"},
		{"duplicate", []zipEntry{{name: "a/x.csv", body: "1"}, {name: "b/x.csv", body: "2"}}, workspace.ErrExist, "two entries flattening to one name"},
		{"bomb-entry", []zipEntry{{name: "bomb.csv", body: zeros}}, workspace.ErrQuota, "decompressed bytes over MaxEntryBytes"},
		{"bomb-total", []zipEntry{{name: "a.csv", body: zeros[:900<<10]}, {name: "b.csv", body: zeros[:900<<10]}, {name: "c.csv", body: zeros[:900<<10]}}, workspace.ErrQuota, "decompressed bytes over MaxTotalBytes"},
		{"lying-header", []zipEntry{{name: "liar.csv", body: zeros, lie: 10}}, nil, "a header that understates the size is caught by counting bytes"},
		{"too-many", func() []zipEntry {
			var es []zipEntry
			for i := range 6 {
				es = append(es, zipEntry{name: strings.Repeat("f", i+1) + ".csv", body: "x"})
			}
			return es
		}(), workspace.ErrQuota, "more entries than MaxEntries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, &workspace.Options{Archive: workspace.ArchiveLimits{MaxEntries: 5, MaxEntryBytes: 1 << 20, MaxTotalBytes: 2 << 20}})
			ws, err := e.m.Open(context.Background(), "u_hostile")
			require.NoError(t, err)
			_, err = importZip(ws, makeZip(t, tc.entries...))
			require.Error(t, err, tc.reason)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want, tc.reason)
			}
			list, err := ws.List(context.Background())
			require.NoError(t, err)
			assert.Empty(t, list, "a failed import leaves no file: %s", tc.reason)
			assert.Empty(t, dataFiles(t, ws.Dir()), "and no ciphertext: %s", tc.reason)
		})
	}
}

func TestImportZipQuotaAndGarbage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plans := map[string]workspace.Plan{"small": {IdleTTL: 1 << 40, MaxBytes: 100, MaxFiles: 2}}
	e := newEnv(t, &workspace.Options{Plans: plans, DefaultPlan: "small"})
	ws, err := e.m.Open(ctx, "u_small")
	require.NoError(t, err)
	_, err = importZip(ws, makeZip(t, zipEntry{name: "a.csv", body: strings.Repeat("a", 60)}, zipEntry{name: "b.csv", body: strings.Repeat("b", 60)}))
	assert.ErrorIs(t, err, workspace.ErrQuota, "the plan's byte quota covers the whole archive")
	_, err = importZip(ws, makeZip(t, zipEntry{name: "a.csv", body: "a"}, zipEntry{name: "b.csv", body: "b"}, zipEntry{name: "c.csv", body: "c"}))
	assert.ErrorIs(t, err, workspace.ErrQuota, "the plan's file quota covers the whole archive")
	_, err = importZip(ws, []byte("PK\x03\x04 not really a zip"))
	assert.ErrorIs(t, err, workspace.ErrBadArchive)
	assert.Empty(t, dataFiles(t, ws.Dir()))
	_, err = importZip(ws, makeZip(t, zipEntry{name: "a.csv", body: "a"}, zipEntry{name: "b.csv", body: "b"}))
	assert.NoError(t, err, "an archive within the quota imports")
}

func FuzzImportZip(f *testing.F) {
	f.Add(makeZip(f, zipEntry{name: "a.csv", body: "x,y\n1,2\n"}))
	f.Add(makeZip(f, zipEntry{name: "../evil", body: "x"}))
	f.Add(makeZip(f, zipEntry{name: "d/", mode: fs.ModeDir | 0o755}, zipEntry{name: "d/b.csv", body: strings.Repeat("z", 1000)}))
	f.Add(makeZip(f, zipEntry{name: "l", body: "t", mode: fs.ModeSymlink | 0o777}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	e := newEnv(f, &workspace.Options{Archive: workspace.ArchiveLimits{MaxEntries: 20, MaxEntryBytes: 1 << 20, MaxTotalBytes: 4 << 20}})
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := context.Background()
		user := fmt.Sprintf("u_fuzz_%d", n.Add(1))
		ws, err := e.m.Open(ctx, user)
		require.NoError(t, err)
		defer func() { require.NoError(t, e.m.Delete(ctx, user)) }()
		got, err := importZip(ws, b)
		list, lerr := ws.List(ctx)
		require.NoError(t, lerr)
		if err != nil {
			require.Empty(t, list, "a failed import leaves nothing")
			require.Empty(t, dataFiles(t, ws.Dir()))
			return
		}
		require.Len(t, list, len(got))
		for _, fi := range got {
			_, err := workspace.ValidName(fi.Name())
			require.NoError(t, err)
		}
	})
}
