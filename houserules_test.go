package privkit_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

const module = "github.com/inferlabs/privkit"

// pkgImports maps a package directory (slash-separated, relative to the
// module root; "." for the root) to the imports of its non-test and test
// files.
type pkgImports struct {
	nonTest map[string][]string // import path -> files importing it
	test    map[string][]string
}

func readImports(t *testing.T) map[string]*pkgImports {
	t.Helper()
	pkgs := map[string]*pkgImports{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if hasIgnoreTag(f.Comments) {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		pi := pkgs[dir]
		if pi == nil {
			pi = &pkgImports{nonTest: map[string][]string{}, test: map[string][]string{}}
			pkgs[dir] = pi
		}
		m := pi.nonTest
		if strings.HasSuffix(p, "_test.go") {
			m = pi.test
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			m[ip] = append(m[ip], p)
		}
		return nil
	})
	require.NoError(t, err)
	return pkgs
}

// hasIgnoreTag reports whether a file is excluded from every build (the
// tools.go dependency pin).
func hasIgnoreTag(groups []*ast.CommentGroup) bool {
	for _, g := range groups {
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, "//go:build tools") || strings.HasPrefix(c.Text, "//go:build ignore") {
				return true
			}
		}
	}
	return false
}

// floor returns the floor of a privkit package directory (DESIGN.md §2), or
// -1 for internal packages, which any floor may use.
func floor(dir string) int {
	top, _, _ := strings.Cut(dir, "/")
	switch {
	case dir == "audit":
		return 0
	case dir == "encryption", dir == "consent":
		return 1
	case top == "internal":
		return -1
	case top == "examples", top == "cmd":
		return 3
	default:
		// Floor-2 packages, every backend (<pkg>/<pkg>sql) and conformance
		// suite (<pkg>/<pkg>test), and the root package.
		return 2
	}
}

func isTestSupport(dir string) bool {
	return strings.HasSuffix(path.Base(dir), "test")
}

// TestHouseRules enforces the floors of DESIGN.md §2: arrows point down
// only, floor 0 imports no privkit package, floor 1 at most floor 0, nothing
// imports examples, and only tests and <pkg>test packages import testing.
func TestHouseRules(t *testing.T) {
	pkgs := readImports(t)
	require.Contains(t, pkgs, "internal/sqldb", "the walk must see the tree")
	for dir, pi := range pkgs {
		own := floor(dir)
		for imp, files := range pi.nonTest {
			if imp == "testing" || strings.HasPrefix(imp, "testing/") {
				assert.True(t, isTestSupport(dir), "%v: only _test.go files and <pkg>test packages may import %s", files, imp)
			}
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			target := strings.TrimPrefix(imp, module+"/")
			tf := floor(target)
			assert.False(t, strings.HasPrefix(target, "examples/"), "%v: nothing imports examples (%s)", files, imp)
			if isTestSupport(target) {
				assert.True(t, isTestSupport(dir), "%v: only tests import the test-support package %s", files, imp)
			}
			if own == -1 {
				assert.Equal(t, -1, tf, "%v: internal packages import no privkit package above them (%s)", files, imp)
				continue
			}
			assert.LessOrEqual(t, tf, own, "%v: %s (floor %d) must not import %s (floor %d): arrows point down only", files, dir, own, target, tf)
			if own <= 1 && tf >= 0 {
				assert.Less(t, tf, own, "%v: floor-%d package %s imports %s; floor 0 imports no privkit package, floor 1 at most audit", files, own, dir, target)
			}
		}
	}
}

// TestNoCloudSDKs keeps privkit's core free of vendor SDKs: KMS and LLM
// providers plug in through interfaces.
func TestNoCloudSDKs(t *testing.T) {
	banned := []string{"cloud.google.com/", "github.com/aws/", "google.golang.org/api", "google.golang.org/genai",
		"github.com/hashicorp/vault", "github.com/Azure/", "github.com/openai/", "github.com/anthropics/", "github.com/sashabaranov/"}
	for dir, pi := range readImports(t) {
		for imp, files := range pi.nonTest {
			for _, b := range banned {
				assert.False(t, strings.HasPrefix(imp, b), "%v (%s): no vendor SDK in privkit (%s)", files, dir, imp)
			}
		}
	}
}

// TestDependenciesAreChosen fails when go.mod gains a direct dependency that
// was not chosen on purpose; add one here only with a reason in the commit.
func TestDependenciesAreChosen(t *testing.T) {
	allowed := []string{
		"golang.org/x/crypto", "golang.org/x/mod", "golang.org/x/text", "golang.org/x/sys",
		"github.com/tink-crypto/tink-go/v2",
		"modernc.org/sqlite", "github.com/jackc/pgx/v5",
		"github.com/stretchr/testify", "github.com/google/go-cmp", "go.uber.org/goleak",
		"github.com/transparency-dev/merkle",
	}
	data, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	mf, err := modfile.Parse("go.mod", data, nil)
	require.NoError(t, err)
	for _, r := range mf.Require {
		if r.Indirect {
			continue
		}
		assert.True(t, slices.Contains(allowed, r.Mod.Path), "go.mod requires %s directly; dependencies are chosen, not collected", r.Mod.Path)
	}
}
