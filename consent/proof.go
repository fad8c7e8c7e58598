package consent

import (
	"context"
	"time"
)

// ProofVersion is the version of the [Proof] format.
const ProofVersion = 1

// Proof is a subject's proof-of-consent record: every decision with the
// notice each one was shown (text and SHA-256 digest), and the current
// answer for every purpose. It marshals to JSON.
type Proof struct {
	Version    int           `json:"version"`
	Subject    string        `json:"subject"`
	ExportedAt time.Time     `json:"exported_at"`
	Decisions  []Decision    `json:"decisions"`
	Current    []Result      `json:"current"`
	Notices    []ShownNotice `json:"notices"`
}

// ShownNotice is a notice version a decision in a [Proof] refers to: the
// [Notice] fields and the SHA-256 of its text ([Notice.Digest]).
type ShownNotice struct {
	Purpose   string    `json:"purpose"`
	Version   int       `json:"version"`
	Language  string    `json:"language"`
	Material  bool      `json:"material"`
	Published time.Time `json:"published,omitzero"`
	SHA256    string    `json:"sha256"`
	Text      string    `json:"text"`
}

// Export returns subject's proof of consent, read from the store (not the
// cache). Decisions are in sequence order; the current answers ignore any
// GPC signal in ctx, which belongs to a request rather than the record.
func (m *Manager) Export(ctx context.Context, subject string) (*Proof, error) {
	if err := validSubject(subject); err != nil {
		return nil, err
	}
	if m.isClosed() {
		return nil, ErrClosed
	}
	h, err := m.store.History(ctx, subject)
	if err != nil {
		return nil, storeErr("export", err)
	}
	p := &Proof{Version: ProofVersion, Subject: subject, ExportedAt: m.now().UTC(), Decisions: h,
		Current: []Result{}, Notices: []ShownNotice{}}
	e := m.buildEntry(append([]Decision(nil), h...))
	for i := range m.reg.purposes {
		p.Current = append(p.Current, m.result(e, i, m.jurOf(e), false))
	}
	type key struct {
		purpose  string
		version  int
		language string
	}
	seen := map[key]bool{}
	for _, d := range h {
		i, ok := m.reg.index[d.Purpose]
		if !ok || d.NoticeVersion == 0 {
			continue
		}
		n, ok := m.reg.notice(i, d.NoticeVersion, d.Language)
		k := key{d.Purpose, d.NoticeVersion, n.Language}
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		p.Notices = append(p.Notices, ShownNotice{Purpose: n.Purpose, Version: n.Version, Language: n.Language,
			Material: n.Material, Published: n.Published, SHA256: n.Digest(), Text: n.Text})
	}
	return p, nil
}
