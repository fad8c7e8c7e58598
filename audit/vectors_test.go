package audit_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/audittest"
)

// b64 is a base64 string in a vector file.
type b64 []byte

func (b *b64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := base64.StdEncoding.DecodeString(s)
	*b = v
	return err
}

// hashes converts vector bytes to hashes; ok is false if one is not 32
// bytes. Such a value (the vectors' "don't care" roots) becomes a stand-in,
// its SHA-256, so that equal values stay equal and differ from real hashes.
func hashes(bs ...b64) ([]tlog.Hash, bool) {
	out := make([]tlog.Hash, len(bs))
	ok := true
	for i, b := range bs {
		if len(b) != tlog.HashSize {
			out[i], ok = sha256.Sum256(b), false
			continue
		}
		copy(out[i][:], b)
	}
	return out, ok
}

func vectorFiles(t *testing.T, kind string) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "merkle", kind, "*", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "vectors are in testdata/merkle/%s", kind)
	return files
}

// TestInclusionVectors runs transparency-dev's inclusion vectors through
// privkit's own verifier. A vector whose hashes are not 32 bytes cannot be
// expressed as tlog.Hash values and counts as rejected.
func TestInclusionVectors(t *testing.T) {
	t.Parallel()
	for _, f := range vectorFiles(t, "inclusion") {
		t.Run(strings.TrimPrefix(f, filepath.Join("testdata", "merkle", "inclusion")+"/"), func(t *testing.T) {
			var v struct {
				LeafIdx, TreeSize uint64
				Root, LeafHash    b64
				Proof             []b64
				Desc              string
				WantErr           bool
			}
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, &v))
			hs, ok := hashes(append([]b64{v.Root, v.LeafHash}, v.Proof...)...)
			err = audit.VerifyInclusion(v.LeafIdx, v.TreeSize, hs[1], hs[0], hs[2:])
			if !ok && v.WantErr {
				return // a caller converting these bytes to tlog.Hash rejects them already
			}
			if v.WantErr {
				assert.Error(t, err, v.Desc)
			} else {
				assert.NoError(t, err, v.Desc)
			}
		})
	}
}

// TestConsistencyVectors runs transparency-dev's consistency vectors
// through privkit's own verifier. privkit pins the rule of current
// transparency-dev and RFC 9162 for size1 = 0: a consistency proof from
// the empty tree is an error (ErrProofInput), whatever size2, the proof
// and the roots; the size1-is-zero vectors want exactly that.
func TestConsistencyVectors(t *testing.T) {
	t.Parallel()
	for _, f := range vectorFiles(t, "consistency") {
		t.Run(strings.TrimPrefix(f, filepath.Join("testdata", "merkle", "consistency")+"/"), func(t *testing.T) {
			var v struct {
				Size1, Size2 uint64
				Root1, Root2 b64
				Proof        []b64
				Desc         string
				WantErr      bool
			}
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, &v))
			hs, ok := hashes(append([]b64{v.Root1, v.Root2}, v.Proof...)...)
			err = audit.VerifyConsistency(v.Size1, v.Size2, hs[0], hs[1], hs[2:])
			if v.Size1 == 0 {
				assert.ErrorIs(t, err, audit.ErrProofInput, "the pinned size1 = 0 rule")
			}
			if !ok && v.WantErr {
				return // a caller converting these bytes to tlog.Hash rejects them already
			}
			if v.WantErr {
				assert.Error(t, err, v.Desc)
			} else {
				assert.NoError(t, err, v.Desc)
			}
		})
	}
}

// TestDerivedCheckpointVectors checks the signed checkpoints and proofs of
// testdata/notes/derived-checkpoint-vectors.txt with privkit's checkpoint
// parser and proof verifiers, and that privkit signs the same bytes.
func TestDerivedCheckpointVectors(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("testdata", "notes", "derived-checkpoint-vectors.txt"))
	require.NoError(t, err)
	defer f.Close()
	var skey, vkey, section string
	sections := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "skey: "):
			skey = strings.TrimPrefix(line, "skey: ")
		case strings.HasPrefix(line, "vkey: "):
			vkey = strings.TrimPrefix(line, "vkey: ")
		case strings.HasPrefix(line, "## "):
			section = strings.Fields(line[3:])[0] + " " + strings.Fields(line[3:])[1] + " " + strings.Fields(line[3:])[2]
		case section != "":
			sections[section] = append(sections[section], line)
		}
	}
	require.NoError(t, sc.Err())
	verifier, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	signer, err := note.NewSigner(skey)
	require.NoError(t, err)

	cp := func(name string) (audit.Checkpoint, []byte) {
		lines := sections[name]
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		msg := []byte(strings.Join(lines, "\n") + "\n")
		c, err := audit.VerifyCheckpoint(msg, "example.com/audit-test", verifier)
		require.NoError(t, err, name)
		again, err := audit.SignCheckpoint(c, signer)
		require.NoError(t, err)
		assert.Equal(t, string(msg), string(again), "privkit formats and signs %s byte for byte alike", name)
		return c, msg
	}
	c7, _ := cp("checkpoint size 7")
	c8, _ := cp("checkpoint size 8")
	require.EqualValues(t, 7, c7.Size)
	require.EqualValues(t, 8, c8.Size)
	want8, _ := hex.DecodeString("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
	assert.Equal(t, want8, c8.Root[:])

	proofOf := func(name string) []tlog.Hash {
		var p []tlog.Hash
		for _, l := range sections[name] {
			if l == "" {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(l)
			require.NoError(t, err)
			h, ok := hashes(b)
			require.True(t, ok)
			p = append(p, h[0])
		}
		return p
	}
	cons := proofOf("consistency proof 7")
	require.NoError(t, audit.VerifyConsistency(7, 8, c7.Root, c8.Root, cons))
	require.Error(t, audit.VerifyConsistency(7, 8, c8.Root, c7.Root, cons), "swapped roots")
	incl := proofOf("inclusion proof for")
	leaf := tlog.RecordHash([]byte{0x40, 0x41, 0x42, 0x43})
	require.NoError(t, audit.VerifyInclusion(5, 8, leaf, c8.Root, incl))
	require.Error(t, audit.VerifyInclusion(4, 8, leaf, c8.Root, incl), "another index")
}

// TestIndependentVerifiers checks privkit's proofs with transparency-dev's
// merkle package, an implementation privkit shares no code with.
func TestIndependentVerifiers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLog(t, nil)
	const n = 70
	roots := make([]tlog.Hash, n+1)
	for i := range n {
		_, err := l.Append(ctx, audittest.Event(i))
		require.NoError(t, err)
		roots[i+1], err = l.Root(ctx, uint64(i+1))
		require.NoError(t, err)
	}
	h := rfc6962.DefaultHasher
	for size := uint64(1); size <= n; size += 3 {
		for i := uint64(0); i < size; i += 2 {
			e, err := l.Entry(ctx, i)
			require.NoError(t, err)
			p, err := l.InclusionProof(ctx, i, size)
			require.NoError(t, err)
			require.NoError(t, proof.VerifyInclusion(h, i, size, e.Hash[:], toBytes(p), roots[size][:]), "merkle accepts inclusion %d in %d", i, size)
		}
		for old := uint64(1); old <= size; old += 2 {
			p, err := l.ConsistencyProof(ctx, old, size)
			require.NoError(t, err)
			require.NoError(t, proof.VerifyConsistency(h, old, size, toBytes(p), roots[old][:], roots[size][:]), "merkle accepts consistency %d->%d", old, size)
		}
	}
}

func toBytes(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}
