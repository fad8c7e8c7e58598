package encryption

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/internal/clock"
)

// newTestKeyring returns a Keyring over a fresh memory store and local KEK.
func newTestKeyring(t testing.TB, opts *Options) (*Keyring, *MemoryKeyStore, *LocalKEK) {
	t.Helper()
	store := NewMemoryKeyStore()
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	k, err := NewKeyring(store, kek, opts)
	require.NoError(t, err)
	t.Cleanup(func() { k.Close() })
	return k, store, kek
}

// countingKEK counts unwraps (Decrypt calls) and can hold them at a gate.
type countingKEK struct {
	tink.AEAD
	decrypts atomic.Int64
	encrypts atomic.Int64
	entered  chan struct{} // if set, each Decrypt sends on it, then waits on release
	release  chan struct{}
}

func (c *countingKEK) Encrypt(pt, ad []byte) ([]byte, error) {
	c.encrypts.Add(1)
	return c.AEAD.Encrypt(pt, ad)
}
func (c *countingKEK) Decrypt(ct, ad []byte) ([]byte, error) {
	c.decrypts.Add(1)
	if c.entered != nil {
		c.entered <- struct{}{}
		<-c.release
	}
	return c.AEAD.Decrypt(ct, ad)
}

// countingKEK also implements tink.AEADWithContext, so the Keyring passes
// it the caller's context, as it would to a KMS client.
func (c *countingKEK) EncryptWithContext(ctx context.Context, pt, ad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Encrypt(pt, ad)
}
func (c *countingKEK) DecryptWithContext(ctx context.Context, ct, ad []byte) ([]byte, error) {
	pt, err := c.Decrypt(ct, ad)
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr // an RPC whose caller gave up
	}
	return pt, err
}

var _ tink.AEADWithContext = (*countingKEK)(nil)

func newCountingKEK(t testing.TB) *countingKEK {
	kek, err := GenerateLocalKEK()
	require.NoError(t, err)
	return &countingKEK{AEAD: kek}
}

var ctx = context.Background()

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	for _, size := range []int{0, 1, 100, 1 << 16} {
		pt := bytes.Repeat([]byte{'p'}, size)
		ct, err := k.Encrypt(ctx, "src-1", pt, []byte("row-7"))
		require.NoError(t, err)
		assert.Len(t, ct, 5+12+size+16, "Tink prefix + nonce + ciphertext + tag")
		assert.Equal(t, byte(1), ct[0], "Tink output prefix")
		if size >= 16 { // a shorter plaintext may occur in random bytes by chance
			assert.NotContains(t, string(ct), string(pt), "ciphertext must not contain the plaintext")
		}
		got, err := k.Decrypt(ctx, "src-1", ct, []byte("row-7"))
		require.NoError(t, err)
		assert.Equal(t, len(pt), len(got))
		assert.True(t, bytes.Equal(pt, got))
	}
	a, err := k.Encrypt(ctx, "src-1", []byte("same"), nil)
	require.NoError(t, err)
	b, err := k.Encrypt(ctx, "src-1", []byte("same"), nil)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "random nonces: equal plaintexts give different ciphertexts")
}

// TestBindings: a ciphertext opens only with the source and associated data
// it was sealed with; every other combination is the one opaque ErrDecrypt.
func TestBindings(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ct, err := k.Encrypt(ctx, "a", []byte("secret"), []byte("bc"))
	require.NoError(t, err)
	_, err = k.Encrypt(ctx, "ab", []byte("other"), nil) // give "ab" keys
	require.NoError(t, err)
	// Same keys, different source ID binding: a keyset copied under a
	// second source ID must not open the first source's records.
	tests := []struct {
		name, source string
		ad           []byte
		reason       string
	}{
		{"wrong row", "a", []byte("bd"), "associated data names another row"},
		{"no ad", "a", nil, "associated data missing"},
		{"empty vs nil is the same", "a", []byte("bc"), ""},
		{"other source", "ab", []byte("c"), "moved to another source: ('a','bc') vs ('ab','c')"},
		{"other source same ad", "ab", []byte("bc"), "moved to another source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.Decrypt(ctx, tc.source, ct, tc.ad)
			if tc.reason == "" {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, ErrDecrypt, err, tc.reason)
			assert.EqualError(t, err, "encryption: message authentication failed")
		})
	}
	// nil and empty associated data are the same thing.
	ct2, err := k.Encrypt(ctx, "a", []byte("x"), nil)
	require.NoError(t, err)
	_, err = k.Decrypt(ctx, "a", ct2, []byte{})
	assert.NoError(t, err)
}
func TestBindADInjective(t *testing.T) {
	t.Parallel()
	pairs := [][2][]string{
		{{"a", "bc"}, {"ab", "c"}},
		{{"", "abc"}, {"abc", ""}},
		{{"a\x00", "b"}, {"a", "\x00b"}},
	}
	for _, p := range pairs {
		x := bindAD(nil, labelRecord, p[0][0], []byte(p[0][1]))
		y := bindAD(nil, labelRecord, p[1][0], []byte(p[1][1]))
		assert.NotEqual(t, x, y, "%q vs %q", p[0], p[1])
	}
	assert.NotEqual(t, bindAD(nil, labelRecord, "s", nil), bindAD(nil, labelStream, "s", nil), "records and streams are separated")
}

// TestRecordTamper: every truncation and every single-bit flip of a record
// ciphertext fails with ErrDecrypt and returns no plaintext.
func TestRecordTamper(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ad := []byte("row-1")
	ct, err := k.Encrypt(ctx, "src", []byte("forty bytes of very sensitive plaintext!"), ad)
	require.NoError(t, err)
	for n := 0; n < len(ct); n++ {
		pt, err := k.Decrypt(ctx, "src", ct[:n], ad)
		require.ErrorIs(t, err, ErrDecrypt, "truncated to %d bytes", n)
		require.Nil(t, pt)
	}
	longer := append(bytes.Clone(ct), 0)
	_, err = k.Decrypt(ctx, "src", longer, ad)
	require.ErrorIs(t, err, ErrDecrypt, "extended by a byte")
	for i := 0; i < len(ct)*8; i++ {
		mut := bytes.Clone(ct)
		mut[i/8] ^= 1 << (i % 8)
		pt, err := k.Decrypt(ctx, "src", mut, ad)
		require.ErrorIs(t, err, ErrDecrypt, "bit %d flipped", i)
		require.Nil(t, pt)
	}
}
func TestInvalidSourceIDs(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	for _, id := range []string{"", strings.Repeat("x", MaxSourceIDLen+1), "bad\xffutf8", "nul\x00"} {
		_, err := k.Encrypt(ctx, id, []byte("x"), nil)
		assert.ErrorIs(t, err, ErrInvalidSourceID, "%q", id)
		_, err = k.Decrypt(ctx, id, []byte("x"), nil)
		assert.ErrorIs(t, err, ErrInvalidSourceID, "%q", id)
		assert.ErrorIs(t, k.Shred(ctx, id), ErrInvalidSourceID, "%q", id)
	}
	_, err := k.Encrypt(ctx, strings.Repeat("é", MaxSourceIDLen/2), []byte("x"), nil)
	assert.NoError(t, err, "a long UTF-8 ID within the limit")
}
func TestUnknownSource(t *testing.T) {
	t.Parallel()
	k, store, _ := newTestKeyring(t, nil)
	ct, err := k.Encrypt(ctx, "known", []byte("x"), nil)
	require.NoError(t, err)
	_, err = k.Decrypt(ctx, "never", ct, nil)
	assert.ErrorIs(t, err, ErrUnknownSource)
	_, err = k.NewDecryptingReader(ctx, "never", bytes.NewReader(nil), nil)
	assert.ErrorIs(t, err, ErrUnknownSource)
	assert.ErrorIs(t, k.Rotate(ctx, "never"), ErrUnknownSource)
	_, _, err = store.Get(ctx, "never")
	assert.ErrorIs(t, err, ErrUnknownSource, "Decrypt must not create keys")
}
func TestShred(t *testing.T) {
	t.Parallel()
	k, store, kek := newTestKeyring(t, nil)
	ct, err := k.Encrypt(ctx, "victim", []byte("x"), nil)
	require.NoError(t, err)
	var stream bytes.Buffer
	w, err := k.NewEncryptingWriter(ctx, "victim", &stream, nil)
	require.NoError(t, err)
	_, err = w.Write([]byte("file"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	keep, err := k.Encrypt(ctx, "keep", []byte("y"), nil)
	require.NoError(t, err)

	require.NoError(t, k.Shred(ctx, "victim"))
	require.NoError(t, k.Shred(ctx, "victim"), "idempotent")

	_, err = k.Decrypt(ctx, "victim", ct, nil)
	assert.ErrorIs(t, err, ErrShredded, "records of a shredded source")
	assert.EqualError(t, err, "encryption: data source was shredded")
	_, err = k.NewDecryptingReader(ctx, "victim", bytes.NewReader(stream.Bytes()), nil)
	assert.ErrorIs(t, err, ErrShredded, "streams of a shredded source")
	_, err = k.Encrypt(ctx, "victim", []byte("x"), nil)
	assert.ErrorIs(t, err, ErrShredded, "no new key for a shredded source")
	_, err = k.NewEncryptingWriter(ctx, "victim", io.Discard, nil)
	assert.ErrorIs(t, err, ErrShredded)
	assert.ErrorIs(t, k.Rotate(ctx, "victim"), ErrShredded)

	// A fresh Keyring (a restart) sees the same.
	k2, err := NewKeyring(store, kek, nil)
	require.NoError(t, err)
	_, err = k2.Decrypt(ctx, "victim", ct, nil)
	assert.ErrorIs(t, err, ErrShredded)
	_, err = k2.Decrypt(ctx, "keep", keep, nil)
	assert.NoError(t, err, "other sources are untouched")

	// Shredding a source that never had keys forbids it keys.
	require.NoError(t, k.Shred(ctx, "pre-emptive"))
	_, err = k.Encrypt(ctx, "pre-emptive", []byte("x"), nil)
	assert.ErrorIs(t, err, ErrShredded)
}
func TestClosed(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ct, err := k.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := k.NewEncryptingWriter(ctx, "s", &buf, nil)
	require.NoError(t, err)
	require.NoError(t, k.Close())
	require.NoError(t, k.Close(), "Close is idempotent")
	assert.Zero(t, k.cache.len(), "Close drops cached keys")

	_, err = k.Encrypt(ctx, "s", []byte("x"), nil)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = k.Decrypt(ctx, "s", ct, nil)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = k.NewEncryptingWriter(ctx, "s", io.Discard, nil)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = k.NewDecryptingReader(ctx, "s", &buf, nil)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, k.Shred(ctx, "s"), ErrClosed)
	assert.ErrorIs(t, k.Rotate(ctx, "s"), ErrClosed)
	_, err = k.RewrapAll(ctx, newCountingKEK(t))
	assert.ErrorIs(t, err, ErrClosed)

	// A writer opened before Close finishes its stream.
	_, err = w.Write([]byte("tail"))
	assert.NoError(t, err)
	assert.NoError(t, w.Close())
}

// TestCorruptStoredKeyset: a stored keyset that is damaged, moved to
// another source, or wrapped by another KEK is ErrUnwrap, not a panic.
func TestCorruptStoredKeyset(t *testing.T) {
	t.Parallel()
	k, store, kek := newTestKeyring(t, &Options{CacheSize: -1})
	_, err := k.Encrypt(ctx, "a", []byte("x"), nil)
	require.NoError(t, err)
	_, err = k.Encrypt(ctx, "b", []byte("x"), nil)
	require.NoError(t, err)
	wa, _, err := store.Get(ctx, "a")
	require.NoError(t, err)

	put := func(id string, blob []byte) {
		s := NewMemoryKeyStore()
		require.NoError(t, s.Put(ctx, id, 0, blob))
		k2, err := NewKeyring(s, kek, nil)
		require.NoError(t, err)
		_, err = k2.Decrypt(ctx, id, make([]byte, 40), nil)
		assert.ErrorIs(t, err, ErrUnwrap, "%s", id)
		_, err = k2.Encrypt(ctx, id, []byte("x"), nil)
		assert.ErrorIs(t, err, ErrUnwrap, "Encrypt must not replace an unreadable keyset")
	}
	put("b", wa) // a's keyset copied to b
	for _, i := range []int{0, 4, 6, len(wa) / 2, len(wa) - 1} {
		mut := bytes.Clone(wa)
		mut[i] ^= 0x40
		put("a", mut)
	}
	put("a", wa[:len(wa)-1])
	put("a", []byte("garbage"))

	other, err := GenerateLocalKEK()
	require.NoError(t, err)
	k3, err := NewKeyring(store, other, nil)
	require.NoError(t, err)
	_, err = k3.Decrypt(ctx, "a", make([]byte, 40), nil)
	assert.ErrorIs(t, err, ErrUnwrap, "wrong KEK")
}

type recordingAuditor struct {
	mu     sync.Mutex
	events []audit.Event
	err    error
}

func (r *recordingAuditor) Record(_ context.Context, e audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return r.err
}
func (r *recordingAuditor) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var a []string
	for _, e := range r.events {
		a = append(a, e.Action+":"+string(e.Outcome))
	}
	return a
}
func TestAudit(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	aud := &recordingAuditor{}
	k, _, _ := newTestKeyring(t, &Options{Auditor: aud, Now: fake.Now})
	_, err := k.Encrypt(ctx, "s", []byte("secret plaintext"), nil)
	require.NoError(t, err)
	_, err = k.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)
	require.NoError(t, k.Rotate(ctx, "s"))
	_, err = k.RewrapAll(ctx, newCountingKEK(t))
	require.NoError(t, err)
	require.NoError(t, k.Shred(ctx, "s"))
	assert.Equal(t, []string{
		"encryption.key.create:success",
		"encryption.key.rotate:success",
		"encryption.kek.rewrap:success",
		"encryption.source.shred:success",
	}, aud.actions(), "one event per key-management action, none per message")
	e := aud.events[3]
	assert.Equal(t, "encryption/source/s", e.Resource)
	assert.Equal(t, "encryption", e.Service)
	assert.Equal(t, fake.Now(), e.Time)
	for _, e := range aud.events {
		assert.NotContains(t, fmt.Sprint(e), "secret plaintext")
	}

	failing := &recordingAuditor{err: errors.New("log down")}
	k2, _, _ := newTestKeyring(t, &Options{Auditor: failing})
	err = k2.Shred(ctx, "x")
	assert.ErrorContains(t, err, "audit record failed", "an unrecorded shred is reported")
}

// TestConcurrentUse exercises every operation at once under -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, &Options{CacheSize: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				id := fmt.Sprintf("s%d", (g+i)%6)
				ct, err := k.Encrypt(ctx, id, []byte("x"), nil)
				if errors.Is(err, ErrShredded) {
					continue
				}
				if !assert.NoError(t, err) {
					return
				}
				_, err = k.Decrypt(ctx, id, ct, nil)
				if err != nil && !errors.Is(err, ErrShredded) {
					// A rotation between Encrypt and Decrypt is fine: the
					// old key stays in the keyset.
					assert.NoError(t, err)
				}
				switch i % 10 {
				case 3:
					_ = k.Rotate(ctx, id)
				case 7:
					if g == 0 {
						assert.NoError(t, k.Shred(ctx, id))
					}
				}
			}
		}()
	}
	wg.Wait()
}
func TestKeyringRedacted(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	_, err := k.Encrypt(ctx, "s", []byte("x"), nil)
	require.NoError(t, err)
	assert.Equal(t, "encryption.Keyring(REDACTED)", fmt.Sprint(k))
	assert.Equal(t, "encryption.Keyring(REDACTED)", fmt.Sprintf("%+v", k))
}
func TestCanceledContext(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := k.Encrypt(cctx, "cold", []byte("x"), nil)
	assert.ErrorIs(t, err, context.Canceled, "a cold source needs the store")
	_, err = k.NewEncryptingWriter(cctx, "cold", io.Discard, nil)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, k.Shred(cctx, "cold"), context.Canceled)
	_, err = k.Reencrypt(cctx, "cold", func(func(*Record) bool) {})
	assert.Error(t, err)
}

// TestDocumentedFormat opens a record and a stream with plain Tink and the
// associated data built by hand as the package documentation describes.
func TestDocumentedFormat(t *testing.T) {
	t.Parallel()
	k, _, _ := newTestKeyring(t, nil)
	ct, err := k.Encrypt(ctx, "src-9", []byte("hello"), []byte("row=1"))
	require.NoError(t, err)
	var stream bytes.Buffer
	w, err := k.NewEncryptingWriter(ctx, "src-9", &stream, []byte("file=2"))
	require.NoError(t, err)
	_, err = w.Write([]byte("streamed"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	sk := k.cache.get("src-9")
	require.NotNil(t, sk)

	lp := func(parts ...string) []byte {
		var b []byte
		for _, p := range parts {
			b = binary.BigEndian.AppendUint64(b, uint64(len(p)))
			b = append(b, p...)
		}
		return b
	}
	a, err := aead.New(sk.record)
	require.NoError(t, err)
	pt, err := a.Decrypt(ct, lp("privkit/encryption/record/v1", "src-9", "row=1"))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(pt))

	sa, err := streamingaead.New(sk.stream)
	require.NoError(t, err)
	r, err := sa.NewDecryptingReader(bytes.NewReader(stream.Bytes()), lp("privkit/encryption/stream/v1", "src-9", "file=2"))
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "streamed", string(got))
}
