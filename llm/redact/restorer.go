package redact

import "strings"

// Restorer restores placeholders in a streamed answer, chunk by chunk. A
// placeholder split across chunks ("[EMA" + "IL_1]") is restored whole.
//
// Write returns at once everything that cannot be the start of a placeholder:
// it holds back only a tail that begins with '[' and is a proper prefix of a
// placeholder the vault has issued, so the hold-back is shorter than the
// longest such placeholder (at most [MaxPlaceholderLen] bytes) and text
// without '[' is never delayed. The concatenated output of Write and Flush
// equals [Vault.Restore] of the concatenated input, however it is chunked
// (as long as the vault issues no new placeholder during the stream).
//
// Use [Vault.NewRestorer]. A Restorer serves one stream and is not safe for
// concurrent use; several Restorers of one vault may run concurrently.
type Restorer struct {
	v       *Vault
	pending string
}

// NewRestorer returns a stream restorer that restores this vault's
// placeholders.
func (v *Vault) NewRestorer() *Restorer { return &Restorer{v: v} }

// Write takes the next chunk of the stream and returns the text that can be
// emitted now (possibly empty).
func (s *Restorer) Write(chunk string) string {
	if s.pending == "" && strings.IndexByte(chunk, '[') < 0 {
		return chunk
	}
	buf := s.pending + chunk
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	if len(s.v.byPH) == 0 {
		s.pending = ""
		return buf
	}
	var b strings.Builder
	b.Grow(len(buf))
	hold := s.v.restoreLocked(&b, buf, false)
	s.pending = buf[len(buf)-hold:]
	return b.String()
}

// Flush returns what the Restorer still holds, at the end of the stream,
// and resets it for reuse.
func (s *Restorer) Flush() string {
	p := s.pending
	s.pending = ""
	return s.v.Restore(p)
}

// Pending returns the number of bytes held back: always less than
// [MaxPlaceholderLen].
func (s *Restorer) Pending() int { return len(s.pending) }
