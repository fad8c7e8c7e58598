package sandboxtest_test

import (
	"context"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/workspace/sandbox"
	"github.com/inferlabs/privkit/workspace/sandbox/sandboxtest"
)

func TestBubblewrap(t *testing.T) {
	sandboxtest.Run(t, func(*testing.T) sandbox.Engine { return &sandbox.Bubblewrap{} })
}

func TestMemFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := sandboxtest.NewMemFiles("u_1", map[string]string{"a": "1"})
	assert.Equal(t, "u_1", f.User())
	r, err := f.Open(ctx, "a")
	require.NoError(t, err)
	b, _ := io.ReadAll(r)
	assert.Equal(t, "1", string(b))
	_, err = f.Open(ctx, "missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = f.Create(ctx, "b", strings.NewReader("2"))
	require.NoError(t, err)
	got, ok := f.Get("b")
	assert.True(t, ok)
	assert.Equal(t, "2", got)
	assert.Equal(t, []string{"a", "b"}, f.Names())
}
