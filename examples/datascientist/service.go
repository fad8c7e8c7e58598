package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/inferlabs/privkit"
	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/audit/auditsql"
	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/consent/consentsql"
	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/encryption/keystoresql"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/retention/retentionsql"
	"github.com/inferlabs/privkit/workspace"
	"github.com/inferlabs/privkit/workspace/sandbox"
	"github.com/inferlabs/privkit/workspace/workspacesql"
)

// Secrets are what every instance of the service shares besides its
// database: the key-encryption key, the audit log's signing key and the key of
// the pseudonyms. A real deployment keeps the KEK in a KMS (any tink.AEAD
// works) and the other two in its secret manager.
type Secrets struct {
	KEK          *encryption.LocalKEK
	AuditSigner  string // note signer key, private
	AuditVerfier string // note verifier key, public: give it to auditors
	PseudonymKey []byte
}

// demoPassphrase protects the example's KEK file. UNSAFE: a real service
// takes the passphrase from its secret manager, or uses a KMS KEK instead.
const demoPassphrase = "privkit example passphrase: do not use in production"

// LoadSecrets reads the secrets from dir, creating them on first use.
func LoadSecrets(dir string) (*Secrets, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Secrets{}
	kekPath := filepath.Join(dir, "kek.json")
	kek, err := encryption.OpenLocalKEKFile(kekPath, []byte(demoPassphrase))
	if errors.Is(err, fs.ErrNotExist) {
		if kek, err = encryption.GenerateLocalKEK(); err == nil {
			err = kek.WriteFile(kekPath, []byte(demoPassphrase))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	s.KEK = kek

	signerPath, verifierPath := filepath.Join(dir, "audit.signer"), filepath.Join(dir, "audit.verifier")
	signer, err1 := os.ReadFile(signerPath)
	verifier, err2 := os.ReadFile(verifierPath)
	if errors.Is(err1, fs.ErrNotExist) || errors.Is(err2, fs.ErrNotExist) {
		sk, vk, err := audit.GenerateKey("audit.datascientist.example/log")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(signerPath, []byte(sk), 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(verifierPath, []byte(vk), 0o644); err != nil {
			return nil, err
		}
		signer, verifier = []byte(sk), []byte(vk)
	} else if err1 != nil || err2 != nil {
		return nil, errors.Join(err1, err2)
	}
	s.AuditSigner, s.AuditVerfier = string(signer), string(verifier)

	keyPath := filepath.Join(dir, "pseudonym.key")
	key, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err = rand.Read(key); err == nil {
			err = os.WriteFile(keyPath, key, 0o600)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	s.PseudonymKey = key
	return s, nil
}

// Config is what one instance of the service is built from.
type Config struct {
	Name      string           // instance name (workspace node, sweeper instance)
	DB        *sql.DB          // privkit.OpenSQLite or privkit.OpenPostgres
	Postgres  bool             // DB is PostgreSQL
	Dir       string           // this instance's local disk: workspaces live here
	Secrets   *Secrets         // shared by every instance
	Now       func() time.Time // the clock; the example drives a fake one
	Providers []llm.Provider   // LLM providers, in order of preference
	Analytics *Analytics       // the analytics vendor (a PostHog stand-in)
	Logger    *slog.Logger
}

// Service is one instance of the example host: every privkit object it
// composes. Several instances may share one PostgreSQL database.
type Service struct {
	cfg        Config
	db         *sql.DB
	Keys       *encryption.Keyring
	Pseudo     *encryption.Pseudonymizer
	Log        *audit.Log
	Verifier   note.Verifier
	Guard      *audit.Guard
	Consent    *consent.Manager
	Workspaces *workspace.Manager
	Retention  *retention.Manager
	LLM        *llm.Client
	Sandbox    *sandbox.Sandbox // nil when bubblewrap is not usable here
	NoSandbox  error            // why Sandbox is nil
	Users      *Users
	analytics  *Analytics
	closers    []func() error
}

// NewService builds one instance. Close releases it.
func NewService(ctx context.Context, cfg Config) (svc *Service, err error) {
	s := &Service{cfg: cfg, db: cfg.DB, analytics: cfg.Analytics}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	// audit: the tamper-evident log everything else records to.
	signer, err := note.NewSigner(cfg.Secrets.AuditSigner)
	if err != nil {
		return nil, fmt.Errorf("audit signer: %w", err)
	}
	if s.Verifier, err = note.NewVerifier(cfg.Secrets.AuditVerfier); err != nil {
		return nil, fmt.Errorf("audit verifier: %w", err)
	}
	auditStore, err := auditsql.New(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if s.Log, err = audit.Open(ctx, auditStore, signer, &audit.Options{Now: cfg.Now, Logger: logger}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Log.Close)
	s.Guard = audit.NewGuard(s.Log, nil)

	// encryption: one keyset per data source, wrapped by the KEK.
	keyStore, err := keystoresql.New(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if s.Keys, err = encryption.NewKeyring(keyStore, cfg.Secrets.KEK, &encryption.Options{Now: cfg.Now, Logger: logger, Auditor: s.Log}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Keys.Close)
	if s.Pseudo, err = encryption.NewPseudonymizer(cfg.Secrets.PseudonymKey); err != nil {
		return nil, err
	}

	// The host's own tables: accounts, conversations.
	if s.Users, err = NewUsers(ctx, cfg.DB, cfg.Postgres, s.Keys); err != nil {
		return nil, err
	}

	// consent: decisions shared by every instance through the database.
	consentStore, err := consentsql.New(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if s.Consent, err = consent.New(consentStore, &consent.Options{
		Now: cfg.Now, Logger: logger, Auditor: s.Log, Notices: notices,
		SubjectFromRequest: s.subjectFromRequest,
	}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Consent.Close)

	// workspace: per-user TTL workspaces on this instance's disk. The
	// example drives the janitor itself (Sweep) because its clock is fake.
	wsStore, err := workspacesql.New(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if s.Workspaces, err = workspace.New(ctx, filepath.Join(cfg.Dir, "workspaces"), s.Keys, wsStore, &workspace.Options{
		PlanResolver:    s.Users.Plan,
		Now:             cfg.Now,
		Logger:          logger,
		Auditor:         s.Log,
		JanitorInterval: -1,
		Node:            cfg.Name,
	}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Workspaces.Close)

	// sandbox: the assistant's Python, isolated per user.
	sb := sandbox.New(&sandbox.Bubblewrap{}, &sandbox.Options{Auditor: s.Log, Now: cfg.Now})
	if err := sb.Check(ctx); err != nil {
		s.NoSandbox = err
	} else {
		s.Sandbox = sb
	}

	// retention: the data map, the sweeper and data-subject requests.
	retStore, err := retentionsql.New(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if s.Retention, err = retention.New(retStore, &retention.Options{
		Vendors: exampleVendors(), Now: cfg.Now, Logger: logger, Auditor: s.Log, Instance: cfg.Name,
	}); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Retention.Close)
	s.registerDeleters()

	// llm: only providers whose policy fits; personal data redacted.
	if s.LLM, err = llm.New(cfg.Providers, &llm.Options{Consent: s.Consent, Auditor: s.Log, Now: cfg.Now, Logger: logger}); err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases the instance's resources, newest first.
func (s *Service) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// checkpointSQLite makes deleted rows leave no copy in the SQLite files.
func (s *Service) checkpointSQLite(ctx context.Context) error {
	return privkit.CheckpointSQLite(ctx, s.db)
}

// exampleVendors is the vendor registry: the two vendors this service uses,
// from privkit's shipped entries, with the DPAs it has signed.
func exampleVendors() []retention.Vendor {
	var out []retention.Vendor
	for _, v := range retention.KnownVendors() {
		if v.Name == "openai" || v.Name == "posthog" {
			v.Agreement = retention.AgreementSigned
			out = append(out, v)
		}
	}
	return out
}
