package consent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Notice is one published version of the text shown to subjects about a
// purpose, in one language. Versions are numbered per purpose from 1; the
// translations of a version share its number.
type Notice struct {
	// Purpose is the key of the purpose the notice describes.
	Purpose string
	// Version is the notice version, 1 or more.
	Version int
	// Language is a BCP 47 tag such as "en" or "de-CH".
	Language string
	// Text is the notice as shown.
	Text string
	// Material marks a change that needs fresh consent: a grant given
	// under an earlier version no longer counts (see [ReasonNoticeChanged]).
	// Denials keep counting.
	Material bool
	// Published is when the version took effect (informational).
	Published time.Time
}

// Digest returns the hex SHA-256 of the notice text, which proof-of-consent
// exports carry so the text shown can be proven later.
func (n Notice) Digest() string {
	h := sha256.Sum256([]byte(n.Text))
	return hex.EncodeToString(h[:])
}

func (n Notice) validate() error {
	if n.Version < 1 {
		return fmt.Errorf("consent: notice %q: version must be 1 or more", n.Purpose)
	}
	if n.Language == "" || len(n.Language) > 35 {
		return fmt.Errorf("consent: notice %q version %d: invalid language tag", n.Purpose, n.Version)
	}
	return nil
}

// Notice returns the latest version of purpose's notice in the language
// closest to language: an exact match (case-insensitive), else its base
// language ("de" for "de-CH"), else English, else the first published
// translation. It returns [ErrUnknownPurpose] or, when the purpose has no
// notice, [ErrUnknownNotice].
func (m *Manager) Notice(purpose, language string) (Notice, error) {
	i, ok := m.reg.index[purpose]
	if !ok {
		return Notice{}, ErrUnknownPurpose
	}
	latest := 0
	for _, n := range m.reg.notices[i] {
		latest = max(latest, n.Version)
	}
	if latest == 0 {
		return Notice{}, ErrUnknownNotice
	}
	base, _, _ := strings.Cut(language, "-")
	var best Notice
	score := -1
	for _, n := range m.reg.notices[i] {
		if n.Version != latest {
			continue
		}
		s := 0
		switch {
		case strings.EqualFold(n.Language, language):
			s = 3
		case base != "" && strings.EqualFold(n.Language, base):
			s = 2
		case strings.EqualFold(n.Language, "en"):
			s = 1
		}
		if s > score {
			best, score = n, s
		}
	}
	return best, nil
}

// notice returns the published notice of purpose i, version v, in language
// (or any language when none matches); ok false when v is not published.
func (r *registry) notice(i, v int, language string) (Notice, bool) {
	var found Notice
	ok := false
	for _, n := range r.notices[i] {
		if n.Version != v {
			continue
		}
		if strings.EqualFold(n.Language, language) {
			return n, true
		}
		if !ok {
			found, ok = n, true
		}
	}
	return found, ok
}
