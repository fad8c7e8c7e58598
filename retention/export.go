package retention

import (
	"archive/zip"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/inferlabs/privkit/audit"
)

// Bundle is the answer to an access request: one JSON document (what is
// held, why, for how long, who received it, and each system's records)
// plus files. [Bundle.WriteZip] packs it as data.json and files/….
type Bundle struct {
	RequestID string    `json:"request_id"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
	// Inventory lists the subject's tracked items with category, purpose,
	// legal basis, vendor and due date (GDPR Art. 15(1)).
	Inventory []BundleItem `json:"inventory"`
	// Recipients are the vendors that receive the subject's data.
	Recipients []Vendor `json:"recipients,omitempty"`
	// Records are the exporters' structured records.
	Records []BundleRecord `json:"records"`
	// Files are the exporters' files; only their names and sizes appear in
	// the JSON document.
	Files []BundleFile `json:"files"`
}

// BundleItem is one inventory line of a [Bundle].
type BundleItem struct {
	ID         string    `json:"id"`
	Category   string    `json:"category"`
	System     string    `json:"system"`
	Purpose    string    `json:"purpose,omitempty"`
	LegalBasis string    `json:"legal_basis,omitempty"`
	Vendor     string    `json:"vendor,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	DueAt      time.Time `json:"due_at,omitzero"`
	State      ItemState `json:"state"`
}

// BundleRecord is one structured record an exporter contributed.
type BundleRecord struct {
	System string          `json:"system"`
	Name   string          `json:"name"`
	Data   json.RawMessage `json:"data"`
}

// BundleFile is one file an exporter contributed, under
// files/<system>/<name> in the zip.
type BundleFile struct {
	System string `json:"system"`
	Name   string `json:"name"`
	Size   int    `json:"size"`
	Data   []byte `json:"-"`
}

// JSON returns the bundle's JSON document (data.json).
func (b *Bundle) JSON() ([]byte, error) { return json.MarshalIndent(b, "", "  ") }

// WriteZip writes the bundle as a zip archive: data.json and every file
// under files/<system>/<name>.
func (b *Bundle) WriteZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	doc, err := b.JSON()
	if err != nil {
		return fmt.Errorf("retention: bundle: %w", err)
	}
	f, err := zw.Create("data.json")
	if err != nil {
		return fmt.Errorf("retention: bundle: %w", err)
	}
	if _, err := f.Write(doc); err != nil {
		return fmt.Errorf("retention: bundle: %w", err)
	}
	for _, bf := range b.Files {
		f, err := zw.Create("files/" + bf.System + "/" + bf.Name)
		if err != nil {
			return fmt.Errorf("retention: bundle: %w", err)
		}
		if _, err := f.Write(bf.Data); err != nil {
			return fmt.Errorf("retention: bundle: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("retention: bundle: %w", err)
	}
	return nil
}

// MaxExportFile caps one exported file (64 MiB).
const MaxExportFile = 64 << 20

// ExportWriter collects one system's contribution to a [Bundle]. It is safe
// for concurrent use and stops accepting writes when its Export call has
// returned or timed out.
type ExportWriter struct {
	system  string
	mu      sync.Mutex
	done    bool
	records []BundleRecord
	files   []BundleFile
}

// ErrExportClosed reports a write to an ExportWriter after its Export call
// ended.
var ErrExportClosed = errors.New("retention: export writer closed")

// Record adds a structured record named name (for example "conversations")
// holding v encoded as JSON.
func (w *ExportWriter) Record(name string, v any) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: record without name", ErrInvalid)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("retention: export record: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return ErrExportClosed
	}
	w.records = append(w.records, BundleRecord{System: w.system, Name: name, Data: b})
	return nil
}

// File adds a file read from r. name is a relative slash-separated path
// without "." or ".." elements.
func (w *ExportWriter) File(name string, r io.Reader) error {
	if !validFileName(name) {
		return fmt.Errorf("%w: export file name must be a clean relative path", ErrInvalid)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxExportFile+1))
	if err != nil {
		return fmt.Errorf("retention: export file: %w", err)
	}
	if len(data) > MaxExportFile {
		return fmt.Errorf("%w: export file over %d bytes", ErrInvalid, MaxExportFile)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return ErrExportClosed
	}
	w.files = append(w.files, BundleFile{System: w.system, Name: name, Size: len(data), Data: data})
	return nil
}

func validFileName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name {
		return false
	}
	for _, el := range strings.Split(name, "/") {
		if el == "." || el == ".." || el == "" {
			return false
		}
	}
	return true
}

func (w *ExportWriter) close() ([]BundleRecord, []BundleFile) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	return w.records, w.files
}

func (m *Manager) processAccess(ctx context.Context, r Request) (*Result, error) {
	items, err := m.store.ListItems(ctx, ItemFilter{Subject: r.Subject, States: liveStates})
	if err != nil {
		return nil, fmt.Errorf("retention: access: %w", err)
	}
	b := &Bundle{RequestID: r.ID, Subject: r.Subject, CreatedAt: m.now(), Records: []BundleRecord{}, Files: []BundleFile{}}
	vendors := map[string]bool{}
	for _, it := range items {
		b.Inventory = append(b.Inventory, BundleItem{ID: it.ID, Category: it.Category, System: it.System, Purpose: it.Purpose,
			LegalBasis: it.LegalBasis, Vendor: it.Vendor, CreatedAt: it.CreatedAt, DueAt: it.DueAt, State: it.State})
		if it.Vendor != "" && !vendors[it.Vendor] {
			vendors[it.Vendor] = true
			if v, ok := m.vendors[it.Vendor]; ok {
				b.Recipients = append(b.Recipients, v)
			}
		}
	}
	m.mu.RLock()
	systems := make([]string, 0, len(m.exporters))
	for s := range m.exporters {
		systems = append(systems, s)
	}
	m.mu.RUnlock()
	sort.Strings(systems)
	var failed []string
	for _, s := range systems {
		m.mu.RLock()
		e := m.exporters[s]
		m.mu.RUnlock()
		w := &ExportWriter{system: s}
		err := m.call(ctx, func(ctx context.Context) error { return e.Export(ctx, r.Subject, w) })
		recs, files := w.close()
		if err != nil {
			failed = append(failed, s+" ("+errorKind(err)+")")
			continue
		}
		b.Records = append(b.Records, recs...)
		b.Files = append(b.Files, files...)
	}
	if len(failed) > 0 {
		m.auditRequest(ctx, r, "retention.request.progress", audit.Error)
		return m.result(&r, nil), fmt.Errorf("%w: exporters failed: %s", ErrIncomplete, strings.Join(failed, ", "))
	}
	slices.SortStableFunc(b.Records, func(x, y BundleRecord) int { return cmp.Compare(x.System, y.System) })
	h := sha256.New()
	doc, err := b.JSON()
	if err != nil {
		return nil, fmt.Errorf("retention: access: %w", err)
	}
	h.Write(doc)
	var size int64 = int64(len(doc))
	for _, f := range b.Files {
		h.Write(f.Data)
		size += int64(len(f.Data))
	}
	sum := &ExportSummary{Systems: systems, Records: len(b.Records), Files: len(b.Files), Bytes: size, SHA256: hex.EncodeToString(h.Sum(nil)), At: b.CreatedAt}
	rp, err := m.mutate(ctx, r.ID, func(x *Request) error {
		if x.Status != StatusInProgress {
			return fmt.Errorf("%w: request is %s", ErrRequestState, x.Status)
		}
		x.Export, x.Status, x.CompletedAt = sum, StatusCompleted, m.now()
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.auditRequest(ctx, *rp, "retention.request.completed", audit.Success)
	return m.result(rp, b), nil
}

// Receipt is the answer to an erasure request: what was deleted where, what
// is pending, and what is exempt and why. A deletion that failed or is
// pending is never listed as deleted.
type Receipt struct {
	RequestID   string          `json:"request_id"`
	Subject     string          `json:"subject"`
	Law         Law             `json:"law"`
	Status      RequestStatus   `json:"status"`
	ReceivedAt  time.Time       `json:"received_at"`
	DueAt       time.Time       `json:"due_at"`
	CompletedAt time.Time       `json:"completed_at,omitzero"`
	Lines       []ErasureResult `json:"lines"`
	// Counts per line status.
	Deleted, AlreadyDeleted, Held, Pending, Failed int
}

func receiptOf(r Request) *Receipt {
	rc := &Receipt{RequestID: r.ID, Subject: r.Subject, Law: r.Law, Status: r.Status, ReceivedAt: r.ReceivedAt,
		DueAt: r.EffectiveDue(), CompletedAt: r.CompletedAt, Lines: slices.Clone(r.Results)}
	for _, l := range r.Results {
		switch l.Status {
		case ResultDeleted:
			rc.Deleted++
		case ResultAlreadyDeleted:
			rc.AlreadyDeleted++
		case ResultHeld:
			rc.Held++
		case ResultPending:
			rc.Pending++
		case ResultFailed:
			rc.Failed++
		}
	}
	return rc
}

// Markdown renders the receipt for the requester or the privacy officer.
func (rc *Receipt) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Erasure receipt %s\n\n", rc.RequestID)
	fmt.Fprintf(&b, "- Status: %s\n- Law: %s\n- Received: %s\n- Due: %s\n", rc.Status, strings.ToUpper(string(rc.Law)),
		rc.ReceivedAt.Format(time.RFC3339), rc.DueAt.Format(time.DateOnly))
	if !rc.CompletedAt.IsZero() {
		fmt.Fprintf(&b, "- Completed: %s\n", rc.CompletedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "- Deleted: %d, already deleted: %d, held: %d, pending: %d, failed: %d\n\n",
		rc.Deleted, rc.AlreadyDeleted, rc.Held, rc.Pending, rc.Failed)
	b.WriteString("| system | vendor | category | item | status | method | note |\n|---|---|---|---|---|---|---|\n")
	for _, l := range rc.Lines {
		note := l.Error
		if len(l.Holds) > 0 {
			note = "legal hold: " + strings.Join(l.Holds, "; ")
		}
		if l.Task != "" {
			note = strings.TrimSpace(note + " task " + l.Task)
		}
		if !l.ExpectedBy.IsZero() {
			note = strings.TrimSpace(note + " expected by " + l.ExpectedBy.Format(time.DateOnly))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdCell(l.System), mdCell(l.Vendor), mdCell(l.Category),
			mdCell(l.ItemID), l.Status, l.Method, mdCell(note))
	}
	return b.String()
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}
