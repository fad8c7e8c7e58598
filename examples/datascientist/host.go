package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/workspace"
)

// Users is the host's own account and conversation tables. Every personal
// value in them is encrypted under a data source of its own subject, so that
// shredding that source erases the value in every copy of the database.
type Users struct {
	db   *sql.DB
	keys *encryption.Keyring
}

// ErrNoAccount reports an unknown subject.
var ErrNoAccount = errors.New("datascientist: no such account")

// NewUsers creates the host's tables if needed. Queries use $n placeholders,
// which both SQLite and PostgreSQL accept.
func NewUsers(ctx context.Context, db *sql.DB, postgres bool, keys *encryption.Keyring) (*Users, error) {
	blob := "BLOB"
	if postgres {
		blob = "BYTEA"
	}
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS example_users (
			subject TEXT PRIMARY KEY, email ` + blob + ` NOT NULL, password TEXT NOT NULL,
			plan TEXT NOT NULL, region TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS example_messages (
			id TEXT PRIMARY KEY, subject TEXT NOT NULL, body ` + blob + ` NOT NULL, created TEXT NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("datascientist: create tables: %w", err)
		}
	}
	return &Users{db: db, keys: keys}, nil
}

func accountSource(subject string) string      { return "account/" + subject }
func conversationSource(subject string) string { return "conversation/" + subject }

// SignUp stores an account: the password as an argon2id hash, the e-mail
// address encrypted under the subject's account data source.
func (u *Users) SignUp(ctx context.Context, subject, email string, password []byte, plan, region string) error {
	hash, err := encryption.HashPassword(password, nil)
	if err != nil {
		return err
	}
	ct, err := u.keys.Encrypt(ctx, accountSource(subject), []byte(email), []byte("example_users.email"))
	if err != nil {
		return err
	}
	_, err = u.db.ExecContext(ctx, `INSERT INTO example_users (subject, email, password, plan, region) VALUES ($1, $2, $3, $4, $5)`,
		subject, ct, hash, plan, region)
	return err
}

// Login checks a password, upgrading the stored hash when its parameters are
// out of date.
func (u *Users) Login(ctx context.Context, subject string, password []byte) (bool, error) {
	var hash string
	err := u.db.QueryRowContext(ctx, `SELECT password FROM example_users WHERE subject = $1`, subject).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNoAccount
	}
	if err != nil {
		return false, err
	}
	ok, rehash, err := encryption.VerifyPassword(password, hash, nil)
	if err != nil || !ok {
		return false, err
	}
	if rehash {
		if h, err := encryption.HashPassword(password, nil); err == nil {
			_, _ = u.db.ExecContext(ctx, `UPDATE example_users SET password = $1 WHERE subject = $2`, h, subject)
		}
	}
	return true, nil
}

// EmailCiphertext returns the stored ciphertext of the subject's e-mail
// address, as a database backup would hold it.
func (u *Users) EmailCiphertext(ctx context.Context, subject string) ([]byte, error) {
	var ct []byte
	err := u.db.QueryRowContext(ctx, `SELECT email FROM example_users WHERE subject = $1`, subject).Scan(&ct)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoAccount
	}
	return ct, err
}

// Email decrypts the subject's e-mail address.
func (u *Users) Email(ctx context.Context, subject string) (string, error) {
	ct, err := u.EmailCiphertext(ctx, subject)
	if err != nil {
		return "", err
	}
	pt, err := u.keys.Decrypt(ctx, accountSource(subject), ct, []byte("example_users.email"))
	return string(pt), err
}

// Plan is the workspace plan resolver: the subject's current plan.
func (u *Users) Plan(ctx context.Context, subject string) (string, error) {
	var plan string
	err := u.db.QueryRowContext(ctx, `SELECT plan FROM example_users WHERE subject = $1`, subject).Scan(&plan)
	if errors.Is(err, sql.ErrNoRows) {
		return workspace.PlanFree, nil // no account: the strictest plan
	}
	return plan, err
}

// Region returns the subject's region ("" if unknown).
func (u *Users) Region(ctx context.Context, subject string) string {
	var region string
	_ = u.db.QueryRowContext(ctx, `SELECT region FROM example_users WHERE subject = $1`, subject).Scan(&region)
	return region
}

// SaveMessage stores one message of the subject's conversation, encrypted,
// bound to its row ID.
func (u *Users) SaveMessage(ctx context.Context, subject, text string, now time.Time) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := "msg_" + hex.EncodeToString(b[:])
	ct, err := u.keys.Encrypt(ctx, conversationSource(subject), []byte(text), []byte("example_messages/"+id))
	if err != nil {
		return "", err
	}
	_, err = u.db.ExecContext(ctx, `INSERT INTO example_messages (id, subject, body, created) VALUES ($1, $2, $3, $4)`,
		id, subject, ct, now.UTC().Format(time.RFC3339Nano))
	return id, err
}

// Messages decrypts the subject's conversation.
func (u *Users) Messages(ctx context.Context, subject string) ([]string, error) {
	rows, err := u.db.QueryContext(ctx, `SELECT id, body FROM example_messages WHERE subject = $1 ORDER BY created`, subject)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		var ct []byte
		if err := rows.Scan(&id, &ct); err != nil {
			return nil, err
		}
		pt, err := u.keys.Decrypt(ctx, conversationSource(subject), ct, []byte("example_messages/"+id))
		if err != nil {
			return nil, err
		}
		out = append(out, string(pt))
	}
	return out, rows.Err()
}

// DeleteAccount erases the account: the row, then the key of its data
// source, so that copies of the row in backups cannot be read either.
func (u *Users) DeleteAccount(ctx context.Context, subject string) error {
	if _, err := u.db.ExecContext(ctx, `DELETE FROM example_users WHERE subject = $1`, subject); err != nil {
		return err
	}
	return u.keys.Shred(ctx, accountSource(subject))
}

// DeleteConversation erases the subject's messages and shreds their key.
func (u *Users) DeleteConversation(ctx context.Context, subject string) error {
	if _, err := u.db.ExecContext(ctx, `DELETE FROM example_messages WHERE subject = $1`, subject); err != nil {
		return err
	}
	return u.keys.Shred(ctx, conversationSource(subject))
}

// notices are the consent texts the service shows. A new version of a text
// whose change is material asks the user again.
var notices = []consent.Notice{
	{Purpose: consent.Analytics, Language: "en", Version: 1, Text: "We measure how the product is used (PostHog) unless you opt out."},
	{Purpose: consent.LLMProcessing, Language: "en", Version: 1, Text: "Parts of your files and questions go to an LLM provider that does not train on them; personal data is redacted first."},
}

// subjectFromRequest tells the consent middleware whose request it is. The
// example's "session" is the subject pseudonym in a header; a real service
// reads its session cookie.
func (s *Service) subjectFromRequest(r *http.Request) (subject, region string, ok bool) {
	subject = r.Header.Get("X-Example-Session")
	if subject == "" {
		return "", "", false
	}
	return subject, s.Users.Region(r.Context(), subject), true
}

// Analytics is a stand-in for a PostHog client: it counts what reaches it
// and can erase a person, as PostHog's person deletion API does.
type Analytics struct {
	mu       sync.Mutex
	Received []consent.Capture
}

// Capture receives one event.
func (a *Analytics) Capture(_ context.Context, c consent.Capture) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Received = append(a.Received, c)
	return nil
}

// DeletePerson erases every event of a person.
func (a *Analytics) DeletePerson(_ context.Context, distinctID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	kept := a.Received[:0]
	for _, c := range a.Received {
		if c.DistinctID != distinctID {
			kept = append(kept, c)
		}
	}
	a.Received = kept
	return nil
}

// Count returns how many events of a person the vendor holds.
func (a *Analytics) Count(distinctID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.Received {
		if c.DistinctID == distinctID {
			n++
		}
	}
	return n
}

// ignoreGone makes a deletion idempotent: what is already gone is deleted.
func ignoreGone(err error) error {
	if errors.Is(err, workspace.ErrNotFound) || errors.Is(err, workspace.ErrExpired) || errors.Is(err, ErrNoAccount) {
		return nil
	}
	return err
}

// registerDeleters connects the retention manager to every store that holds
// personal data: each (category, system) has a Deleter, each system an
// Exporter, each vendor an erasure connector.
func (s *Service) registerDeleters() {
	r := s.Retention
	r.RegisterDeleter("accounts", retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		if err := s.Users.DeleteAccount(ctx, it.Subject); err != nil {
			return err
		}
		return s.checkpointSQLite(ctx)
	}))
	r.RegisterDeleter("conversations", retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		if err := s.Users.DeleteConversation(ctx, it.Subject); err != nil {
			return err
		}
		return s.checkpointSQLite(ctx)
	}))
	r.RegisterDeleter("workspace", retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		if it.Category == retention.CategoryUploadedFile {
			if _, err := s.Workspaces.Locate(ctx, it.Subject); err != nil {
				return ignoreGone(err) // the workspace, and so the file, is gone
			}
			ws, err := s.Workspaces.Open(ctx, it.Subject)
			if err != nil {
				return ignoreGone(err)
			}
			return ignoreGone(ws.Remove(ctx, it.Location))
		}
		return ignoreGone(s.Workspaces.Delete(ctx, it.Subject))
	}))
	// OpenAI deletes API data itself after 30 days (abuse monitoring); the
	// receipt says so and the item stays pending until then.
	r.RegisterDeleter("openai", retention.VendorAutoDeletion(30*24*time.Hour))
	r.RegisterDeleter("posthog", retention.APIErasure(func(ctx context.Context, it retention.Item) error {
		return s.analytics.DeletePerson(ctx, it.Subject)
	}))

	r.RegisterExporter("accounts", retention.ExporterFunc(func(ctx context.Context, subject string, w *retention.ExportWriter) error {
		email, err := s.Users.Email(ctx, subject)
		if err != nil {
			return ignoreGone(err)
		}
		plan, _ := s.Users.Plan(ctx, subject)
		return w.Record("account", map[string]string{"email": email, "plan": plan, "region": s.Users.Region(ctx, subject)})
	}))
	r.RegisterExporter("conversations", retention.ExporterFunc(func(ctx context.Context, subject string, w *retention.ExportWriter) error {
		msgs, err := s.Users.Messages(ctx, subject)
		if err != nil {
			return err
		}
		return w.Record("messages", msgs)
	}))
	r.RegisterExporter("workspace", retention.ExporterFunc(func(ctx context.Context, subject string, w *retention.ExportWriter) error {
		if _, err := s.Workspaces.Locate(ctx, subject); err != nil {
			return ignoreGone(err)
		}
		ws, err := s.Workspaces.Open(ctx, subject)
		if err != nil {
			return ignoreGone(err)
		}
		files, err := ws.List(ctx)
		if err != nil {
			return ignoreGone(err)
		}
		for _, fi := range files {
			rc, err := ws.Open(ctx, fi.Name())
			if err != nil {
				return ignoreGone(err)
			}
			err = w.File("workspace/"+fi.Name(), rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}))
	r.RegisterExporter("consent", retention.ExporterFunc(func(ctx context.Context, subject string, w *retention.ExportWriter) error {
		proof, err := s.Consent.Export(ctx, subject)
		if err != nil {
			return err
		}
		return w.Record("consent", proof)
	}))
	r.RegisterExporter("audit", retention.ExporterFunc(func(ctx context.Context, subject string, w *retention.ExportWriter) error {
		// Who accessed the subject's data, when and why (GDPR Art. 15).
		var events []map[string]string
		q := auditQuery(subject)
		for {
			page, err := s.Log.Query(ctx, q)
			if err != nil {
				return err
			}
			for _, e := range page.Entries {
				events = append(events, map[string]string{
					"time": e.Event.Time.UTC().Format(time.RFC3339), "actor": e.Event.Actor,
					"action": e.Event.Action, "purpose": e.Event.Purpose, "outcome": string(e.Event.Outcome),
				})
			}
			if !page.More {
				break
			}
			q.Start = page.Next
		}
		return w.Record("access_log", events)
	}))
}

// auditQuery selects the audit entries about a subject, for an export.
func auditQuery(subject string) audit.Query {
	return audit.Query{Reader: "service:dsr", Purpose: "legal_requirement", Subject: subject, Limit: audit.MaxPageSize}
}
