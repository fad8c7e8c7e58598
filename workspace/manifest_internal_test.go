package workspace

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/encryption"
)

func TestManifestRoundTrip(t *testing.T) {
	t.Parallel()
	files := map[string]*entry{
		"a.csv": {id: newID(), name: "a.csv", size: 3, uploaded: time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC)},
		"b.csv": {id: newID(), name: "b.csv", size: 0, uploaded: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	got, err := decodeManifest(encodeManifest(files))
	require.NoError(t, err)
	require.Len(t, got, 2)
	for name, e := range files {
		g := got[name]
		require.NotNil(t, g)
		assert.Equal(t, e.id, g.id)
		assert.Equal(t, e.size, g.size)
		assert.True(t, e.uploaded.Equal(g.uploaded))
	}
}

func TestManifestRejects(t *testing.T) {
	t.Parallel()
	id := newID()
	tests := []struct{ name, json string }{
		{"not json", `{`},
		{"wrong version", `{"v":2,"files":[]}`},
		{"unknown field", `{"v":1,"files":[],"x":1}`},
		{"traversal name", `{"v":1,"files":[{"id":"` + id + `","name":"../x","size":1,"uploaded":"2026-01-01T00:00:00Z"}]}`},
		{"non-NFC name", `{"v":1,"files":[{"id":"` + id + `","name":"cafe\u0301","size":1,"uploaded":"2026-01-01T00:00:00Z"}]}`},
		{"bad id", `{"v":1,"files":[{"id":"../../etc/passwd","name":"a","size":1,"uploaded":"2026-01-01T00:00:00Z"}]}`},
		{"negative size", `{"v":1,"files":[{"id":"` + id + `","name":"a","size":-1,"uploaded":"2026-01-01T00:00:00Z"}]}`},
		{"duplicate id", `{"v":1,"files":[{"id":"` + id + `","name":"a","size":1,"uploaded":"2026-01-01T00:00:00Z"},{"id":"` + id + `","name":"b","size":1,"uploaded":"2026-01-01T00:00:00Z"}]}`},
		{"duplicate name", `{"v":1,"files":[{"id":"` + id + `","name":"a","size":1,"uploaded":"2026-01-01T00:00:00Z"},{"id":"` + newID() + `","name":"a","size":1,"uploaded":"2026-01-01T00:00:00Z"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeManifest([]byte(tc.json))
			assert.ErrorIs(t, err, ErrCorrupt, "a decrypted manifest is still checked field by field")
		})
	}
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add(encodeManifest(map[string]*entry{"a.csv": {id: newID(), name: "a.csv", size: 1}}))
	f.Add([]byte(`{"v":1,"files":null}`))
	f.Add([]byte(`{"v":1,"files":[{"id":"","name":"","size":0}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := decodeManifest(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		for name, e := range files {
			if n, err := ValidName(name); err != nil || n != name || !validID(e.id) || e.size < 0 {
				t.Fatalf("accepted bad entry %q", name)
			}
		}
		again, err := decodeManifest(encodeManifest(files))
		if err != nil || len(again) != len(files) {
			t.Fatalf("re-encoding changed the manifest: %v", err)
		}
	})
}

func TestHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	for _, standalone := range []bool{true, false} {
		h, err := readHeader(bytes.NewReader(append(encodeHeader("café.csv", at, standalone), "content"...)))
		require.NoError(t, err)
		assert.Equal(t, header{name: "café.csv", uploaded: at, standalone: standalone}, h)
	}
	good := encodeHeader("a.csv", at, true)
	for i := range len(good) {
		_, err := readHeader(bytes.NewReader(good[:i]))
		assert.ErrorIs(t, err, ErrCorrupt, "a header cut at %d bytes is refused", i)
	}
	bad := append([]byte(nil), good...)
	bad[4] = 0x80 // unknown flag
	_, err := readHeader(bytes.NewReader(bad))
	assert.ErrorIs(t, err, ErrCorrupt)
	_, err = readHeader(bytes.NewReader(encodeHeader("../x", at, true)))
	assert.ErrorIs(t, err, ErrCorrupt, "a header naming an invalid file is refused")
}

func FuzzReadHeader(f *testing.F) {
	f.Add(encodeHeader("a.csv", time.Unix(0, 0), true))
	f.Add(encodeHeader("数据.csv", time.Unix(1<<40, 5), false))
	f.Add([]byte("PKW1\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHeader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if n, err := ValidName(h.name); err != nil || n != h.name {
			t.Fatalf("accepted bad name %q", h.name)
		}
		again, err := readHeader(bytes.NewReader(encodeHeader(h.name, h.uploaded, h.standalone)))
		if err != nil || again != h {
			t.Fatalf("round trip changed the header: %v", err)
		}
	})
}

func TestReconcileAdoptsOnlyStandaloneUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kek, err := encryption.GenerateLocalKEK()
	require.NoError(t, err)
	k, err := encryption.NewKeyring(encryption.NewMemoryKeyStore(), kek, nil)
	require.NoError(t, err)
	m, err := New(ctx, t.TempDir(), k, NewMemoryStore(), &Options{JanitorInterval: -1, Node: "n"})
	require.NoError(t, err)
	defer m.Close()
	w, err := m.Open(ctx, "u")
	require.NoError(t, err)
	plan, err := w.begin(ctx)
	require.NoError(t, err)
	staged, ds, err := w.writeData(ctx, "staged.csv", strings.NewReader("part of an archive"), plan, 0, false)
	require.NoError(t, err)
	require.NoError(t, ds.wait())
	upload, ds, err := w.writeData(ctx, "upload.csv", strings.NewReader("an upload"), plan, 0, true)
	require.NoError(t, err)
	require.NoError(t, ds.wait())

	w.mu.Lock()
	files, changed, err := w.reconcile(ctx, w.root, map[string]*entry{})
	w.mu.Unlock()
	require.NoError(t, err)
	assert.True(t, changed)
	require.Len(t, files, 1, "an archive entry a crash left uncommitted is not adopted")
	got := files["upload.csv"]
	require.NotNil(t, got, "a standalone upload is adopted")
	assert.Equal(t, upload.id, got.id)
	assert.EqualValues(t, len("an upload"), got.size, "the adopted size counts content, not the header")
	_, err = w.root.Lstat(staged.id)
	assert.ErrorIs(t, err, fs.ErrNotExist, "the staged file is removed")
}
