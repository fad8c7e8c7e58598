package workspace

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
