package workspace_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/workspacetest"
)

type corpusCase struct {
	want   string // "reject" or "accept"
	name   string
	source string
}

// readCorpus parses testdata/traversal.txt.
func readCorpus(t testing.TB) []corpusCase {
	t.Helper()
	f, err := os.Open("testdata/traversal.txt")
	require.NoError(t, err)
	defer f.Close()
	var out []corpusCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, rest, ok := strings.Cut(line, " ")
		require.True(t, ok, "corpus line %q", line)
		rest = strings.TrimSpace(rest)
		q, err := strconv.QuotedPrefix(rest)
		require.NoError(t, err, "corpus line %q", line)
		name, err := strconv.Unquote(q)
		require.NoError(t, err)
		source := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest[len(q):]), "#"))
		out = append(out, corpusCase{want: want, name: name, source: source})
	}
	require.NoError(t, sc.Err())
	require.Greater(t, len(out), 40, "the corpus is loaded")
	return out
}

// snapshot lists every path under dir.
func snapshot(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		out[p] = true
		return err
	}))
	return out
}

func TestTraversalCorpus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	outer := t.TempDir()
	e := newEnv(t, nil)
	e.root = filepath.Join(outer, "root") // a root inside a directory we watch
	e.start(t)
	ws, err := e.m.Open(ctx, "u_attacker")
	require.NoError(t, err)
	before := snapshot(t, outer)

	for _, c := range readCorpus(t) {
		t.Run(strconv.Quote(c.name), func(t *testing.T) {
			got, err := workspace.ValidName(c.name)
			switch c.want {
			case "reject":
				assert.ErrorIs(t, err, workspace.ErrInvalidName, "%s must be refused", c.source)
				_, err = ws.Create(ctx, c.name, strings.NewReader("pwned"))
				assert.ErrorIs(t, err, workspace.ErrInvalidName)
				_, err = ws.Open(ctx, c.name)
				assert.ErrorIs(t, err, workspace.ErrInvalidName)
				assert.ErrorIs(t, ws.Rename(ctx, "x", c.name), workspace.ErrInvalidName)
			case "accept":
				require.NoError(t, err, "%s is a harmless literal name", c.source)
				assert.Equal(t, norm.NFC.String(c.name), got)
				_, err = ws.Create(ctx, c.name, strings.NewReader("literal"))
				require.NoError(t, err)
				rc, err := ws.Open(ctx, c.name)
				require.NoError(t, err)
				b, _ := io.ReadAll(rc)
				rc.Close()
				assert.Equal(t, "literal", string(b))
			default:
				t.Fatalf("bad want %q", c.want)
			}
		})
	}
	// Nothing appeared outside the workspace directory: no new path under
	// the watched directory except inside the workspace's own.
	for p := range snapshot(t, outer) {
		if !before[p] {
			assert.True(t, strings.HasPrefix(p, ws.Dir()+string(filepath.Separator)), "new path outside the workspace: %s", p)
		}
	}
}

func TestNamesDifferingOnlyInNormalisationCollide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_nfc")
	require.NoError(t, err)
	nfd, nfc := "cafe\u0301.csv", "caf\u00e9.csv"
	_, err = ws.Create(ctx, nfd, strings.NewReader("first"))
	require.NoError(t, err)
	assert.Equal(t, "first", readAll(t, ws, nfc), "the NFD name and the NFC name are one file")
	_, err = ws.Create(ctx, nfc, strings.NewReader("second"))
	require.NoError(t, err)
	list, err := ws.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "no second file under a look-alike name")
	assert.Equal(t, nfc, list[0].Name(), "names are stored in NFC")
	assert.Equal(t, "second", readAll(t, ws, nfd))
	assert.NoError(t, ws.Rename(ctx, nfc, nfd), "renaming to the same name in another form is a no-op")
}

func TestOverlongName(t *testing.T) {
	t.Parallel()
	_, err := workspace.ValidName(strings.Repeat("a", workspace.MaxNameBytes))
	assert.NoError(t, err, "MaxNameBytes is allowed")
	_, err = workspace.ValidName(strings.Repeat("a", workspace.MaxNameBytes+1))
	assert.ErrorIs(t, err, workspace.ErrInvalidName)
	_, err = workspace.ValidName(strings.Repeat("é", 200)) // 400 bytes
	assert.ErrorIs(t, err, workspace.ErrInvalidName, "the limit counts bytes, not characters")
	_, err = workspace.ValidName(strings.Repeat("a", 1<<20))
	assert.ErrorIs(t, err, workspace.ErrInvalidName)
}

func TestPlantedSymlinkAndHardLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_victim")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "b.csv", strings.NewReader("b"))
	require.NoError(t, err)
	ids := dataFiles(t, ws.Dir())
	require.Len(t, ids, 2)

	// Another process replaces both data files: one by a symlink to a
	// secret outside the workspace, one by a hard link to such a file.
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("TOP SECRET"), 0o600))
	for _, id := range ids {
		require.NoError(t, os.Remove(filepath.Join(ws.Dir(), id)))
	}
	require.NoError(t, os.Symlink(secret, filepath.Join(ws.Dir(), ids[0])))
	require.NoError(t, os.Link(secret, filepath.Join(ws.Dir(), ids[1])))

	for _, name := range []string{"a.csv", "b.csv"} {
		rc, err := ws.Open(ctx, name)
		if err == nil {
			b, rerr := io.ReadAll(rc)
			rc.Close()
			assert.NotContains(t, string(b), "TOP SECRET")
			err = rerr
		}
		assert.ErrorIs(t, err, workspace.ErrUnsafeFile, "a planted link is refused, not followed")
	}

	// Writing never follows links either: the link stays where it is, the
	// secret is unchanged, and a new upload goes to a fresh file.
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("new"))
	require.NoError(t, err)
	b, err := os.ReadFile(secret)
	require.NoError(t, err)
	assert.Equal(t, "TOP SECRET", string(b))
	assert.Equal(t, "new", readAll(t, ws, "a.csv"))

	// At the next load the planted entries are removed (the links, never
	// their targets).
	require.NoError(t, os.WriteFile(filepath.Join(ws.Dir(), "planted.txt"), []byte("x"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(ws.Dir(), "planted-dir"), 0o700))
	require.NoError(t, e.m.Close())
	e.start(t)
	ws, err = e.m.Open(ctx, "u_victim")
	require.NoError(t, err)
	assert.Equal(t, "new", readAll(t, ws, "a.csv"))
	assert.False(t, exists(filepath.Join(ws.Dir(), "planted.txt")), "a planted file is removed at load")
	assert.False(t, exists(filepath.Join(ws.Dir(), "planted-dir")), "a planted directory is removed at load")
	assert.Len(t, dataFiles(t, ws.Dir()), 2, "the new a.csv and b.csv's (refused) entry remain")
	b, err = os.ReadFile(secret)
	require.NoError(t, err)
	assert.Equal(t, "TOP SECRET", string(b), "removing a link never touches its target")
}

func TestPlantedManifestSymlink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	ws, err := e.m.Open(ctx, "u_m")
	require.NoError(t, err)
	_, err = ws.Create(ctx, "a.csv", strings.NewReader("a"))
	require.NoError(t, err)
	dir := ws.Dir()
	require.NoError(t, e.m.Close())
	mf := filepath.Join(dir, "manifest")
	require.NoError(t, os.Rename(mf, filepath.Join(t.TempDir(), "moved")))
	require.NoError(t, os.Symlink("/etc/passwd", mf))
	e.start(t)
	_, err = e.m.Open(ctx, "u_m")
	assert.ErrorIs(t, err, workspace.ErrUnsafeFile, "a manifest that is a symlink is refused")
}

// endless yields bytes forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// failing yields n bytes, then an error.
type failing struct{ n int }

func (f *failing) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("upload connection reset")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plans := map[string]workspace.Plan{"tiny": {IdleTTL: 1 << 40, MaxBytes: 1 << 20, MaxFiles: 3}}
	e := newEnv(t, &workspace.Options{Plans: plans, DefaultPlan: "tiny"})
	ws, err := e.m.Open(ctx, "u_q")
	require.NoError(t, err)

	_, err = ws.Create(ctx, "a", strings.NewReader(strings.Repeat("a", 600<<10)))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "b", strings.NewReader(strings.Repeat("b", 500<<10)))
	assert.ErrorIs(t, err, workspace.ErrQuota, "600 KiB + 500 KiB exceeds 1 MiB")
	_, err = ws.Create(ctx, "a", strings.NewReader(strings.Repeat("A", 900<<10)))
	assert.NoError(t, err, "replacing a file counts the old one as freed")

	_, err = ws.Create(ctx, "endless", endless{})
	assert.ErrorIs(t, err, workspace.ErrQuota, "a stream growing past the quota fails mid-stream")
	_, err = ws.Create(ctx, "broken", &failing{n: 10 << 10})
	assert.ErrorContains(t, err, "upload connection reset")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = ws.Create(cctx, "cancelled", strings.NewReader("x"))
	assert.ErrorIs(t, err, context.Canceled)

	list, err := ws.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "failed writes leave no file")
	assert.Len(t, dataFiles(t, ws.Dir()), 1, "and no ciphertext behind")

	_, err = ws.Create(ctx, "b", strings.NewReader("b"))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "c", strings.NewReader("c"))
	require.NoError(t, err)
	_, err = ws.Create(ctx, "d", strings.NewReader("d"))
	assert.ErrorIs(t, err, workspace.ErrQuota, "the fourth file exceeds MaxFiles")
	_, err = ws.Create(ctx, "c", strings.NewReader("c2"))
	assert.NoError(t, err, "replacing does not add a file")
	assert.Len(t, dataFiles(t, ws.Dir()), 3)
}

func FuzzValidName(f *testing.F) {
	for _, c := range readCorpus(f) {
		f.Add(c.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := workspace.ValidName(name)
		if err != nil {
			if !errors.Is(err, workspace.ErrInvalidName) {
				t.Fatalf("error %v does not wrap ErrInvalidName", err)
			}
			return
		}
		switch {
		case got == "", got == ".", got == "..":
			t.Fatalf("accepted %q", got)
		case len(got) > workspace.MaxNameBytes:
			t.Fatalf("accepted %d bytes", len(got))
		case !utf8.ValidString(got):
			t.Fatalf("accepted invalid UTF-8 %q", got)
		case strings.ContainsAny(got, "/\\\x00"):
			t.Fatalf("accepted a separator or NUL in %q", got)
		case !norm.NFC.IsNormalString(got):
			t.Fatalf("result %q is not NFC", got)
		case !filepath.IsLocal(got) || filepath.Base(got) != got:
			t.Fatalf("result %q is not a single local element", got)
		}
		if again, err := workspace.ValidName(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
		k := norm.NFKC.String(got)
		if k == "." || k == ".." || strings.ContainsAny(k, "/\\") {
			t.Fatalf("accepted look-alike %q", got)
		}
	})
}

func TestRootLayoutChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(real, link))
	m, err := workspace.New(ctx, link, workspacetest.NewCipher(), workspace.NewMemoryStore(), &workspace.Options{JanitorInterval: -1})
	require.NoError(t, err, "a root configured through a symlink is fine")
	require.NoError(t, m.Close())

	// A planted symlink in place of root/ws is refused.
	root := t.TempDir()
	require.NoError(t, os.Symlink(t.TempDir(), filepath.Join(root, "ws")))
	_, err = workspace.New(ctx, root, workspacetest.NewCipher(), workspace.NewMemoryStore(), &workspace.Options{JanitorInterval: -1})
	assert.Error(t, err, "root/ws must be a real directory")
}
