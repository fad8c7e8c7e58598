package workspacetest

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/inferlabs/privkit/workspace"
)

// Cipher is a [workspace.Cipher] for tests: one Tink AES-256-GCM-HKDF
// streaming keyset per data source, held in memory, created on first use.
// It really encrypts, so tests can check that no plaintext reaches the
// disk. It is safe for concurrent use. Hosts use *encryption.Keyring.
type Cipher struct {
	mu       sync.Mutex
	keys     map[string]tink.StreamingAEAD
	shredded map[string]int
}

var _ workspace.Cipher = (*Cipher)(nil)

// NewCipher returns an empty Cipher.
func NewCipher() *Cipher {
	return &Cipher{keys: map[string]tink.StreamingAEAD{}, shredded: map[string]int{}}
}

func (c *Cipher) key(sourceID string, create bool) (tink.StreamingAEAD, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.keys[sourceID]; k != nil {
		return k, nil
	}
	if !create {
		return nil, errors.New("workspacetest: no key for data source")
	}
	h, err := keyset.NewHandle(streamingaead.AES256GCMHKDF1MBKeyTemplate())
	if err != nil {
		return nil, err
	}
	k, err := streamingaead.New(h)
	if err != nil {
		return nil, err
	}
	c.keys[sourceID] = k
	return k, nil
}

// NewEncryptingWriter implements workspace.Cipher.
func (c *Cipher) NewEncryptingWriter(ctx context.Context, sourceID string, dst io.Writer, ad []byte) (io.WriteCloser, error) {
	k, err := c.key(sourceID, true)
	if err != nil {
		return nil, err
	}
	return k.NewEncryptingWriter(dst, append([]byte(sourceID+"\x00"), ad...))
}

// NewDecryptingReader implements workspace.Cipher.
func (c *Cipher) NewDecryptingReader(ctx context.Context, sourceID string, src io.Reader, ad []byte) (io.Reader, error) {
	k, err := c.key(sourceID, false)
	if err != nil {
		return nil, err
	}
	return k.NewDecryptingReader(src, append([]byte(sourceID+"\x00"), ad...))
}

// Shred implements workspace.Cipher: the source's key is forgotten.
func (c *Cipher) Shred(ctx context.Context, sourceID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.keys, sourceID)
	c.shredded[sourceID]++
	return nil
}

// HasKey reports whether sourceID has a live key.
func (c *Cipher) HasKey(sourceID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys[sourceID] != nil
}

// Shredded reports whether Shred was called for sourceID.
func (c *Cipher) Shredded(sourceID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shredded[sourceID] > 0
}
