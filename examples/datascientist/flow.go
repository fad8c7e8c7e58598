package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/inferlabs/privkit/audit"
	"github.com/inferlabs/privkit/consent"
	"github.com/inferlabs/privkit/encryption"
	"github.com/inferlabs/privkit/internal/clock"
	"github.com/inferlabs/privkit/llm"
	"github.com/inferlabs/privkit/retention"
	"github.com/inferlabs/privkit/workspace/sandbox"
)

// The people of the story. Their e-mail addresses and card numbers are the
// personal data the promises protect.
const (
	aliceEmail = "alice.martin@example.com"
	aliceCard  = "4111 1111 1111 1111"
	bobEmail   = "bob.tanaka@example.org"
)

const customersCSV = `name,email,card,amount_eur
Alice Martin,alice.martin@example.com,4111 1111 1111 1111,120.50
Carol Jones,carol.jones@example.net,5555 5555 5555 4444,75.25
Alice Martin,alice.martin@example.com,4111 1111 1111 1111,120.50
Dan Smith,dan.smith@example.io,3782 822463 10005,310.00
`

const summaryPy = `import csv, json
rows = list(csv.DictReader(open("/work/in/customers.csv")))
total = sum(float(r["amount_eur"]) for r in rows)
dups = len(rows) - len({tuple(r.values()) for r in rows})
json.dump({"rows": len(rows), "total_eur": round(total, 2), "duplicate_rows": dups}, open("/work/out/summary.json", "w"))
print(f"{len(rows)} rows, {total:.2f} EUR in total, {dups} duplicate row(s)")
`

// Story is one run of the example against instance A (where the user's
// requests land) and instance B (another instance sharing A's database; the
// same as A on the embedded default).
type Story struct {
	A, B      *Service
	Clock     *clock.Fake
	Fake      FakeProvider // nil when a real provider is used
	Analytics *Analytics
	Out       io.Writer
}

// FakeProvider is what the story needs of the in-process provider: what it
// received.
type FakeProvider interface {
	Received() []string
}

// Run tells the story and returns an error naming every promise that broke.
func (st *Story) Run(ctx context.Context) error {
	n := &narrator{w: st.Out}
	a, b := st.A, st.B
	start := st.Clock.Now()

	// 1. Sign-up.
	n.Step("Sign-up: passwords hashed with argon2id, identities pseudonymous")
	alice := a.Pseudo.Pseudonym("user", aliceEmail)
	bob := a.Pseudo.Pseudonym("user", bobEmail)
	for _, u := range []struct{ subject, email, region string }{{alice, aliceEmail, "US-CA"}, {bob, bobEmail, "US-NY"}} {
		if err := a.Users.SignUp(ctx, u.subject, u.email, []byte("correct horse battery staple "+u.region), "free", u.region); err != nil {
			n.Fail("sign-up", err)
			return n.Err()
		}
	}
	for _, subject := range []string{alice, bob} {
		if _, err := a.Retention.Track(ctx, retention.Item{ID: "account/" + subject, Category: retention.CategoryAccount, Subject: subject,
			System: "accounts", Purpose: "service", LegalBasis: "contract"}); err != nil {
			n.Fail("track account", err)
		}
	}
	n.Say("alice is %s and bob is %s everywhere privkit stores them", alice, bob)
	ok, err := b.Users.Login(ctx, alice, []byte("correct horse battery staple US-CA"))
	n.Check(err == nil && ok, "the right password logs in (on instance "+b.cfg.Name+")")
	ok, err = a.Users.Login(ctx, alice, []byte("wrong password"))
	n.Check(err == nil && !ok, "a wrong password does not")
	ct, _ := a.Users.EmailCiphertext(ctx, alice)
	n.Check(len(ct) > 0 && !bytes.Contains(ct, []byte(aliceEmail)), "the stored e-mail address is AES-256-GCM ciphertext under alice's account key")

	// 2. Consent.
	n.Step("Consent: choices recorded with proof; Global Privacy Control is an opt-out")
	if _, err := a.Consent.Grant(ctx, alice, consent.LLMProcessing, consent.Meta{
		NoticeVersion: 1, Language: "en", Method: consent.MethodAccept, Region: "US-CA", IP: "203.0.113.45",
	}); err != nil {
		n.Fail("record alice's consent", err)
	}
	n.Say("alice accepted notice v1 of llm_processing in the banner (recorded with a /24-truncated IP)")
	var gpc *consent.GPCResult
	handler := a.Consent.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gpc, _ = consent.FromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "https://app.example/dashboard", nil)
	req.Header.Set("Sec-GPC", "1")
	req.Header.Set("X-Example-Session", alice)
	handler.ServeHTTP(httptest.NewRecorder(), req)
	if n.Check(gpc != nil && gpc.GPC && gpc.Honoured, "a request carrying Sec-GPC: 1 is honoured as an opt-out (US-CA)") {
		n.Say("GPC opted alice out of: %s", strings.Join(gpc.OptedOut, ", "))
	}
	allowedA, errA := b.Consent.Allowed(ctx, alice, consent.Analytics)
	n.Check(errA == nil && !allowedA, "instance "+b.cfg.Name+" refuses analytics for alice from now on")
	if bs, err := b.Consent.BrowserState(ctx, alice); err == nil {
		n.Say("alice's page configures Google Consent Mode with analytics_storage=%s, ad_storage=%s; PostHog opt_out_capturing_by_default=%v",
			bs.ConsentMode.AnalyticsStorage, bs.ConsentMode.AdStorage, bs.PostHog.OptOutCapturingByDefault)
	}

	// 3. Upload to a free-plan workspace.
	n.Step("Upload: a CSV with personal data into alice's free-plan workspace, encrypted at rest")
	ws, err := a.Workspaces.Open(ctx, alice)
	if err != nil {
		n.Fail("open workspace", err)
		return n.Err()
	}
	if _, err := ws.Create(ctx, "customers.csv", strings.NewReader(customersCSV)); err != nil {
		n.Fail("upload", err)
		return n.Err()
	}
	for _, it := range []retention.Item{
		{ID: "upload/" + alice + "/customers.csv", Category: retention.CategoryUploadedFile, Subject: alice, System: "workspace",
			Location: "customers.csv", Purpose: "analysis", LegalBasis: "contract", Plan: "free", Region: "US-CA"},
		{ID: "workspace/" + alice, Category: retention.CategoryWorkspace, Subject: alice, System: "workspace",
			Location: a.cfg.Name, Purpose: "analysis", LegalBasis: "contract", Plan: "free", Region: "US-CA"},
	} {
		if _, err := a.Retention.Track(ctx, it); err != nil {
			n.Fail("track upload", err)
		}
	}
	onDisk := readTree(ws.Dir())
	n.Say("on disk in %s: %d file(s), %d bytes; the first bytes: % x", shortPath(ws.Dir()), onDisk.files, onDisk.size, onDisk.head)
	n.Check(onDisk.files > 0 && !bytes.Contains(onDisk.all, []byte("alice.martin")) && !bytes.Contains(onDisk.all, []byte("customers.csv")) &&
		!bytes.Contains(onDisk.all, []byte("amount_eur")), "neither the CSV's bytes nor its name are on disk in the clear")
	rc, err := ws.Open(ctx, "customers.csv")
	if err == nil {
		back, _ := io.ReadAll(rc)
		rc.Close()
		n.Check(string(back) == customersCSV, "reading through the workspace returns the CSV intact")
	} else {
		n.Fail("read back", err)
	}

	// 4. The assistant's Python, sandboxed.
	n.Step("Sandbox: the assistant's Python summarises the CSV, isolated (bubblewrap)")
	if a.Sandbox == nil {
		n.Say("skipped: %v", a.NoSandbox)
		n.Say("(install bubblewrap to see this step: apt-get install bubblewrap)")
	} else {
		res, err := a.Sandbox.Run(ctx, ws, sandbox.Spec{Code: []byte(summaryPy), Inputs: []string{"customers.csv"}, Outputs: []string{"summary.json"}})
		if err != nil {
			n.Fail("sandbox run", err)
		} else {
			n.Say("stdout: %s", strings.TrimSpace(string(res.Stdout)))
			n.Check(res.ExitCode == 0 && strings.Contains(string(res.Stdout), "4 rows, 626.25 EUR"), "the code saw alice's inputs and nothing else, with no network, and computed the summary")
			if rc, err := ws.Open(ctx, "summary.json"); err == nil {
				out, _ := io.ReadAll(rc)
				rc.Close()
				n.Check(json.Valid(out), "its output went back into the workspace through the encrypting write path")
			} else {
				n.Fail("collect the sandbox's output", err)
			}
		}
	}

	// 5. The assistant.
	n.Step("Assistant: personal data redacted before it leaves, restored in the answer")
	question := fmt.Sprintf("My e-mail is %s and my card %s was charged twice. Which rows of customers.csv are mine?", aliceEmail, aliceCard)
	conv := a.LLM.Conversation(alice)
	answer, err := conv.Chat(ctx, &llm.Request{
		Messages:     []llm.Message{{Role: llm.RoleUser, Content: question}},
		Requirements: llm.Requirements{NoTraining: true, MaxRetentionDays: 30},
	})
	if err != nil {
		n.Fail("chat", err)
	} else {
		n.Say("alice asked:        %s", question)
		if st.Fake != nil {
			got := st.Fake.Received()
			sent := ""
			if len(got) > 0 {
				sent = got[len(got)-1]
			}
			n.Say("the provider got:   %s", sent)
			n.Check(sent != "" && !strings.Contains(sent, aliceEmail) && !strings.Contains(sent, aliceCard) &&
				strings.Contains(sent, "[EMAIL_1]") && strings.Contains(sent, "[CREDIT_CARD_1]"), "the provider received placeholders, not the e-mail address or the card number")
		}
		n.Say("alice sees:         %s", answer.Text)
		if st.Fake != nil {
			n.Check(strings.Contains(answer.Text, aliceEmail), "the answer shows alice her real values again")
		}
	}
	// The same conversation, streamed: placeholders split across chunks are
	// restored without holding the answer back.
	var streamed strings.Builder
	for chunk, err := range conv.Stream(ctx, &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Repeat my e-mail " + aliceEmail}}}) {
		if err != nil {
			n.Fail("stream", err)
			break
		}
		streamed.WriteString(chunk.Text)
	}
	if st.Fake != nil {
		n.Check(strings.Contains(streamed.String(), aliceEmail), "a streamed answer is restored too, chunk by chunk")
	}
	conv.Close()
	if _, err := a.Users.SaveMessage(ctx, alice, question, st.Clock.Now()); err != nil {
		n.Fail("save message", err)
	}
	for _, it := range []retention.Item{
		{ID: "conversation/" + alice, Category: retention.CategoryConversation, Subject: alice, System: "conversations", Purpose: "assistant", LegalBasis: "contract"},
		{ID: "openai/" + alice + "/1", Category: retention.CategoryVendorData, Subject: alice, System: "openai", Vendor: "openai",
			Purpose: "assistant", LegalBasis: "contract", SentAt: st.Clock.Now()},
	} {
		if _, err := a.Retention.Track(ctx, it); err != nil {
			n.Fail("track conversation", err)
		}
	}
	before := len(receivedOrNil(st.Fake))
	conv = b.LLM.Conversation(alice)
	_, err = conv.Chat(ctx, &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Summarise my data"}},
		Requirements: llm.Requirements{ZeroDataRetention: true}})
	conv.Close()
	var perr *llm.PolicyError
	if n.Check(errors.As(err, &perr) && len(receivedOrNil(st.Fake)) == before, "a request demanding zero data retention is refused before any byte leaves") {
		n.Say("%v", perr)
	}
	conv = b.LLM.Conversation(bob)
	_, err = conv.Chat(ctx, &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hello"}}})
	conv.Close()
	n.Check(errors.Is(err, llm.ErrConsent), "bob never agreed to llm_processing: his request is refused")

	// 6. Analytics.
	n.Step("Analytics: events of opted-out users never reach the vendor")
	// The API of instance B captures an event per upload through the gate,
	// inside the consent middleware, which knows each request's region.
	gate, err := b.Consent.Gate(consent.Analytics, st.Analytics)
	if err != nil {
		n.Fail("analytics gate", err)
	} else {
		api := b.Consent.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = gate.Capture(r.Context(), consent.Capture{DistinctID: r.Header.Get("X-Example-Session"), Event: "file_uploaded"})
		}))
		for _, subject := range []string{alice, bob} {
			req := httptest.NewRequest(http.MethodPost, "https://app.example/api/upload", nil) // no Sec-GPC header
			req.Header.Set("X-Example-Session", subject)
			api.ServeHTTP(httptest.NewRecorder(), req)
		}
		n.Say("alice (from a browser without GPC) and bob (US-NY, an opt-out region) each uploaded a file on %s", b.cfg.Name)
		n.Check(st.Analytics.Count(alice) == 0 && gate.Dropped() >= 1, "alice's recorded opt-out holds: her event was dropped before PostHog")
		n.Check(st.Analytics.Count(bob) == 1, "bob has not opted out: PostHog received his event")
		if _, err := b.Retention.Track(ctx, retention.Item{ID: "posthog/" + bob, Category: retention.CategoryVendorData, Subject: bob,
			System: "posthog", Vendor: "posthog", Purpose: "analytics", LegalBasis: "legitimate_interest", SentAt: st.Clock.Now()}); err != nil {
			n.Fail("track analytics", err)
		}
	}

	// 7. Employee access.
	n.Step("Employee access: only with a grant for a named purpose")
	_, err = b.Guard.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: alice, Purpose: audit.ResolveIssue, Resource: "workspace/" + alice})
	n.Check(errors.Is(err, audit.ErrAccessDenied), "without a grant, support cannot open alice's workspace (and the denial is logged)")
	if _, err := b.Guard.Grant(ctx, audit.Grant{Employee: "employee:e_17", User: alice, Purpose: audit.ResolveIssue,
		Ticket: "SUP-4821", Expires: st.Clock.Now().Add(2 * time.Hour), GrantedBy: "employee:e_02"}); err != nil {
		n.Fail("grant", err)
	}
	_, err = b.Guard.Access(ctx, audit.AccessRequest{Employee: "employee:e_17", User: alice, Purpose: audit.ResolveIssue, Resource: "workspace/" + alice})
	n.Check(err == nil, "with grant SUP-4821 (resolve_issue, 2 hours) the access is allowed and logged")

	// 8. The audit log.
	n.Step("Audit: a signed checkpoint, a proof for one of alice's events, full verification")
	st.auditStep(ctx, n, alice)

	// 9. Time passes.
	n.Step("An hour later: the free plan's workspace expires and the janitor deletes it")
	st.Clock.Advance(61 * time.Minute)
	dir := ws.Dir()
	deleted, err := a.Workspaces.Sweep(ctx)
	n.Say("janitor pass on %s: %d workspace(s) deleted", a.cfg.Name, deleted)
	_, statErr := os.Stat(dir)
	n.Check(err == nil && deleted >= 1 && errors.Is(statErr, fs.ErrNotExist), "alice's workspace directory is gone, its key shredded")
	if rep, err := b.Retention.Sweep(ctx, nil); err == nil {
		n.Say("retention sweep on %s: %d deleted, %d pending, %d failed", b.cfg.Name, rep.Deleted, rep.Pending, rep.Failed)
		n.Check(rep.Failed == 0, "the retention sweeper accounts for the uploaded file and the workspace")
	} else {
		n.Fail("retention sweep", err)
	}

	// 10. Export.
	n.Step("Data-subject access request: everything about alice, in one bundle")
	if req, err := a.Retention.SubmitRequest(ctx, retention.Request{Type: retention.RequestAccess, Subject: alice, Law: retention.LawCCPA}); err != nil {
		n.Fail("submit access request", err)
	} else if res, err := b.Retention.ProcessRequest(ctx, req.ID); err != nil {
		n.Fail("process access request", err)
	} else if res.Bundle != nil {
		data, _ := res.Bundle.JSON()
		var names []string
		for _, r := range res.Bundle.Records {
			names = append(names, r.System+"/"+r.Name)
		}
		n.Say("request %s (CCPA, due %s) completed on %s: records %s; %d bytes of JSON",
			req.ID, req.DueAt.Format("2006-01-02"), b.cfg.Name, strings.Join(names, ", "), len(data))
		n.Check(bytes.Contains(data, []byte(aliceEmail)) && bytes.Contains(data, []byte("charged twice")) && bytes.Contains(data, []byte("llm_processing")),
			"the bundle holds alice's account, conversation, consent record and access log")
	} else {
		n.Fail("access request", fmt.Errorf("no bundle, status %s", res.Request.Status))
	}

	// 11. Erasure.
	n.Step("Erasure: started on " + a.cfg.Name + ", completed on " + b.cfg.Name + ", everywhere, with a receipt")
	backup, _ := a.Users.EmailCiphertext(ctx, alice) // what last night's backup holds
	erasureID := ""
	if req, err := a.Retention.SubmitRequest(ctx, retention.Request{Type: retention.RequestErasure, Subject: alice, Law: retention.LawCCPA}); err != nil {
		n.Fail("submit erasure", err)
	} else {
		erasureID = req.ID
		// ErrIncomplete: some deletion is still pending (a vendor's); the
		// request stays open and a later ProcessRequest completes it.
		res, err := b.Retention.ProcessRequest(ctx, req.ID)
		if err != nil && !errors.Is(err, retention.ErrIncomplete) {
			n.Fail("process erasure", err)
		} else if res != nil && res.Receipt != nil {
			n.Say("%s", res.Receipt.Markdown())
			n.Check(res.Receipt.Failed == 0 && res.Receipt.Deleted >= 2, "every store deleted alice's data; nothing failed")
			n.Check(res.Receipt.Pending >= 1 && errors.Is(err, retention.ErrIncomplete), "OpenAI's copy is reported pending until its 30-day deletion, never as done")
		}
	}
	_, err = a.Users.Login(ctx, alice, []byte("correct horse battery staple US-CA"))
	n.Check(errors.Is(err, ErrNoAccount), "alice's account is gone")

	// 12. Crypto-shredding.
	n.Step("Crypto-shredding: a backup copy of alice's row no longer opens")
	_, err = a.Keys.Decrypt(ctx, accountSource(alice), backup, []byte("example_users.email"))
	n.Check(errors.Is(err, encryption.ErrShredded), "decrypting the backed-up e-mail fails with encryption.ErrShredded")
	if st.A.cfg.Postgres {
		n.Say("(PostgreSQL keeps dead tuples until VACUUM; the key store vacuums after a shred)")
	} else if leak := grepTree(filepath.Dir(a.cfg.Dir), []byte(aliceEmail)); leak != "" {
		n.Check(false, "alice's e-mail address is in no file of the service ("+leak+")")
	} else {
		n.Check(true, "alice's e-mail address is in no file of the service, in the clear")
	}

	// 13. A month later.
	n.Step("A month later: copies at vendors age out")
	st.Clock.Advance(31 * 24 * time.Hour)
	if rep, err := b.Retention.Sweep(ctx, nil); err == nil {
		n.Say("retention sweep on %s: %d deleted, %d pending, %d failed, %d overdue", b.cfg.Name, rep.Deleted, rep.Pending, rep.Failed, len(rep.Overdue))
		n.Check(rep.Failed == 0 && len(rep.Overdue) == 0, "nothing is kept past its category's retention")
	} else {
		n.Fail("sweep", err)
	}
	n.Check(st.Analytics.Count(bob) == 0, "bob's analytics events at PostHog were erased through its API after 30 days")
	if erasureID != "" {
		res, err := b.Retention.ProcessRequest(ctx, erasureID)
		if n.Check(err == nil && res.Receipt != nil && res.Receipt.Pending == 0 && res.Receipt.Failed == 0,
			"OpenAI's 30 days have passed: alice's erasure request is complete, within the CCPA's 45 days") {
			n.Say("erasure %s: %s, %d line(s) deleted", erasureID, res.Request.Status, res.Receipt.Deleted+res.Receipt.AlreadyDeleted)
		}
	}

	// 14. KPI.
	n.Step("The privacy officer's report")
	if rep, err := a.Retention.Report(ctx, start, st.Clock.Now()); err == nil {
		n.Say("%s", rep.Markdown())
		n.Check(rep.OverdueRequests == 0, "no data-subject request is overdue")
	} else {
		n.Fail("report", err)
	}

	fmt.Fprintf(st.Out, "\n%d promises checked, %d broken.\n", n.kept+len(n.broken), len(n.broken))
	return n.Err()
}

func (st *Story) auditStep(ctx context.Context, n *narrator, alice string) {
	a, b := st.A, st.B
	cp, err := a.Log.Checkpoint(ctx)
	if err != nil {
		n.Fail("checkpoint", err)
		return
	}
	n.Say("signed checkpoint:\n%s", cp)
	// An auditor holds only the public key.
	verifier := b.Verifier
	c, err := audit.VerifyCheckpoint(cp, verifier.Name(), verifier)
	if !n.Check(err == nil, "the checkpoint's Ed25519 signature verifies with the public key alone") {
		return
	}
	page, err := b.Log.Query(ctx, audit.Query{Reader: "employee:dpo", Purpose: "legal_requirement", Subject: alice, Limit: 1})
	if err != nil || len(page.Entries) == 0 {
		n.Fail("find one of alice's events", err)
		return
	}
	e := page.Entries[0]
	proof, err := a.Log.InclusionProof(ctx, e.Index, c.Size)
	if err != nil {
		n.Fail("inclusion proof", err)
		return
	}
	leaf, _ := e.MarshalBinary()
	err = tlog.CheckRecord(tlog.RecordProof(proof), int64(c.Size), c.Root, int64(e.Index), tlog.RecordHash(leaf))
	n.Say("entry %d (%s by %s) is in the tree of %d entries: %d hashes of proof", e.Index, e.Event.Action, e.Event.Actor, c.Size, len(proof))
	n.Check(err == nil, "an independent verifier (x/mod tlog) accepts the inclusion proof")
	res, err := audit.Verify(ctx, b.Log.Store(), &audit.VerifyOptions{Verifier: verifier})
	if n.Check(err == nil, "full verification re-hashes every entry: chain, tree and checkpoints agree") {
		n.Say("%d entries verified, root %x…", res.Size, res.Root[:8])
	}
}

func receivedOrNil(f FakeProvider) []string {
	if f == nil {
		return nil
	}
	return f.Received()
}

type tree struct {
	files int
	size  int64
	head  []byte
	all   []byte
}

// readTree reads every regular file under dir.
func readTree(dir string) tree {
	var t tree
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		t.files++
		t.size += int64(len(b))
		if t.head == nil && len(b) >= 16 {
			t.head = b[:16]
		}
		t.all = append(t.all, b...)
		return nil
	})
	return t
}

// grepTree returns the first file under dir containing needle.
func grepTree(dir string, needle []byte) string {
	found := ""
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, needle) {
			found = p
		}
		return nil
	})
	return found
}

func shortPath(p string) string {
	parts := strings.Split(filepath.ToSlash(p), "/")
	if len(parts) > 3 {
		return ".../" + strings.Join(parts[len(parts)-3:], "/")
	}
	return p
}
