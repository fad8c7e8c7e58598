package encryption

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/secretdata"
	"github.com/tink-crypto/tink-go/v2/tink"
	"golang.org/x/crypto/argon2"
)

// LocalKEK is a key-encryption key held in process memory: a Tink
// AES-256-GCM keyset. It implements [tink.AEAD]. Keep it in a file protected
// by a passphrase ([LocalKEK.WriteFile], [OpenLocalKEKFile]) or let the host
// supply the keyset ([NewLocalKEK]). For production with several instances,
// prefer a KMS key (see the package documentation).
//
// A LocalKEK is safe for concurrent use. It never prints its key: String and
// LogValue are redacted.
type LocalKEK struct {
	handle *keyset.Handle
	aead   tink.AEAD
}

var _ tink.AEAD = (*LocalKEK)(nil)

// GenerateLocalKEK returns a new random LocalKEK.
func GenerateLocalKEK() (*LocalKEK, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("encryption: generate KEK: %w", err)
	}
	return NewLocalKEK(h)
}

// NewLocalKEK returns a LocalKEK using a keyset the host supplies, which must
// hold only AES-256-GCM keys. Add keys with a [keyset.Manager] to rotate it:
// the primary key wraps, every key unwraps.
func NewLocalKEK(h *keyset.Handle) (*LocalKEK, error) {
	if h == nil {
		return nil, errors.New("encryption: nil keyset handle")
	}
	for i := 0; i < h.Len(); i++ {
		e, err := h.Entry(i)
		if err != nil {
			return nil, fmt.Errorf("encryption: KEK keyset: %w", err)
		}
		k, ok := e.Key().(*aesgcm.Key)
		if !ok || k.Parameters().(*aesgcm.Parameters).KeySizeInBytes() != 32 {
			return nil, errors.New("encryption: KEK keyset must hold only AES-256-GCM keys")
		}
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("encryption: KEK keyset: %w", err)
	}
	return &LocalKEK{handle: h, aead: a}, nil
}

// Encrypt implements [tink.AEAD].
func (k *LocalKEK) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	return k.aead.Encrypt(plaintext, associatedData)
}

// Decrypt implements [tink.AEAD].
func (k *LocalKEK) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	return k.aead.Decrypt(ciphertext, associatedData)
}

// String returns a redacted description.
func (k *LocalKEK) String() string { return "encryption.LocalKEK(REDACTED)" }

// LogValue implements [slog.LogValuer] with a redacted value.
func (k *LocalKEK) LogValue() slog.Value { return slog.StringValue(k.String()) }

// kekFileMagic starts a LocalKEK file.
const kekFileMagic = "privkit-kek v1\n"

// kekFileParams are the argon2id parameters protecting a new KEK file: it
// is opened once per process start, so it can afford more than a login.
var kekFileParams = PasswordParams{Memory: 64 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}

// WriteFile writes k to a new file at path (mode 0600), encrypted under a
// key derived from passphrase with argon2id (64 MiB, 3 passes). It refuses
// to overwrite an existing file: losing a KEK loses every key it wraps. The
// file is written to a temporary name, synced, linked into place and its
// directory synced, so a crash leaves either no file or a complete one.
//
// The file is: the line "privkit-kek v1", the argon2id memory (KiB, 4 bytes
// big-endian), passes (4 bytes), lanes (1 byte), salt length (1 byte), the
// salt, then the Tink encrypted keyset (binary), wrapped by AES-256-GCM with
// everything before it as associated data.
func (k *LocalKEK) WriteFile(path string, passphrase []byte) error {
	return k.writeFile(path, passphrase, kekFileParams)
}

func (k *LocalKEK) writeFile(path string, passphrase []byte, q PasswordParams) error {
	if len(passphrase) == 0 {
		return errors.New("encryption: empty KEK passphrase")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("encryption: write KEK file: %w", fs.ErrExist)
	}
	salt := make([]byte, q.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("encryption: read random salt: %w", err)
	}
	header := kekFileHeader(q, salt)
	wrapper, err := passphraseAEAD(passphrase, salt, q)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	body.Write(header)
	if err := k.handle.WriteWithAssociatedData(keyset.NewBinaryWriter(&body), wrapper, header); err != nil {
		return fmt.Errorf("encryption: write KEK file: %w", err)
	}
	return writeFileNew(path, body.Bytes())
}

func kekFileHeader(q PasswordParams, salt []byte) []byte {
	h := []byte(kekFileMagic)
	h = binary.BigEndian.AppendUint32(h, q.Memory)
	h = binary.BigEndian.AppendUint32(h, q.Time)
	h = append(h, q.Threads, byte(len(salt)))
	return append(h, salt...)
}

// parseKEKFileHeader splits a KEK file into its parameters, salt, header
// and wrapped keyset.
func parseKEKFileHeader(b []byte) (q PasswordParams, salt, header, rest []byte, err error) {
	bad := fmt.Errorf("%w: not a privkit KEK file", ErrInvalidKEKFile)
	n := len(kekFileMagic)
	if len(b) < n+10 || string(b[:n]) != kekFileMagic {
		return q, nil, nil, nil, bad
	}
	q.Memory = binary.BigEndian.Uint32(b[n:])
	q.Time = binary.BigEndian.Uint32(b[n+4:])
	q.Threads = b[n+8]
	sl := int(b[n+9])
	if len(b) < n+10+sl+1 {
		return q, nil, nil, nil, bad
	}
	q.SaltLen, q.KeyLen = uint32(sl), 32
	if !q.check() {
		return q, nil, nil, nil, fmt.Errorf("%w: argon2id parameters out of range", ErrInvalidKEKFile)
	}
	salt = b[n+10 : n+10+sl]
	return q, salt, b[:n+10+sl], b[n+10+sl:], nil
}

// ErrInvalidKEKFile reports a file that is not a LocalKEK file or whose
// header is out of range. A wrong passphrase, or a file altered after the
// header, is ErrDecrypt.
var ErrInvalidKEKFile = errors.New("encryption: invalid KEK file")

// maxKEKFileSize bounds what OpenLocalKEKFile reads.
const maxKEKFileSize = 1 << 20

// OpenLocalKEKFile reads a LocalKEK written by [LocalKEK.WriteFile]. A wrong
// passphrase or an altered file returns an error wrapping ErrDecrypt.
func OpenLocalKEKFile(path string, passphrase []byte) (*LocalKEK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("encryption: open KEK file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKEKFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("encryption: read KEK file: %w", err)
	}
	if len(b) > maxKEKFileSize {
		return nil, fmt.Errorf("%w: too large", ErrInvalidKEKFile)
	}
	return parseLocalKEK(b, passphrase)
}

func parseLocalKEK(b, passphrase []byte) (*LocalKEK, error) {
	q, salt, header, rest, err := parseKEKFileHeader(b)
	if err != nil {
		return nil, err
	}
	wrapper, err := passphraseAEAD(passphrase, salt, q)
	if err != nil {
		return nil, err
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(rest)), wrapper, header)
	if err != nil {
		return nil, withContext(ErrDecrypt, "open KEK file (wrong passphrase or altered file)")
	}
	return NewLocalKEK(h)
}

// passphraseAEAD derives an AES-256-GCM AEAD from passphrase with argon2id.
func passphraseAEAD(passphrase, salt []byte, q PasswordParams) (tink.AEAD, error) {
	dk := argon2.IDKey(passphrase, salt, q.Time, q.Memory, q.Threads, 32)
	defer clear(dk)
	params, err := aesgcm.NewParameters(aesgcm.ParametersOpts{KeySizeInBytes: 32, IVSizeInBytes: 12, TagSizeInBytes: 16, Variant: aesgcm.VariantNoPrefix})
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	key, err := aesgcm.NewKey(secretdata.NewBytesFromData(dk, insecuresecretdataaccess.Token{}), 0, params)
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	a, err := aesgcm.NewAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	return a, nil
}

// writeFileNew writes data to a new file at path durably, failing if path
// exists.
func writeFileNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".privkit-kek-*")
	if err != nil {
		return fmt.Errorf("encryption: write KEK file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("encryption: write KEK file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("encryption: write KEK file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("encryption: write KEK file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("encryption: write KEK file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		return fmt.Errorf("encryption: write KEK file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("encryption: sync KEK directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("encryption: sync KEK directory: %w", err)
	}
	return nil
}
