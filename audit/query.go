package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Query selects entries for [Log.Query]. Empty filter fields match
// everything.
type Query struct {
	// Reader is who reads, as "kind:id"; it becomes the actor of the
	// read's own audit entry. Required.
	Reader string
	// Purpose is why the reader looks, recorded with the read.
	Purpose string

	// Subject, Actor, Resource and Action match the events' fields exactly.
	Subject, Actor, Resource, Action string
	// Since and Until bound the event time: Since <= Time < Until. Zero
	// leaves that end open.
	Since, Until time.Time
	// Start is the smallest index to return: 0, or a previous page's Next.
	Start uint64
	// Limit is the page size; zero means 100. At most 1000.
	Limit int
}

// Page is one page of query results, in index order.
type Page struct {
	Entries []*Entry
	// Next is the Start of the following page; valid when More is set.
	Next uint64
	// More reports that there may be further matching entries.
	More bool
}

// MaxPageSize bounds [Query.Limit].
const MaxPageSize = 1000

// ReadAction is the action of the entry [Log.Query] appends for each read.
const ReadAction = "audit.log.read"

// Query returns a page of the entries that match q, so that a user can be
// told who accessed their data, when and why. Reading the log is itself
// audited: before the page is returned, Query appends an entry with
// actor q.Reader, action [ReadAction], the queried subject and purpose, and
// the number of entries returned. If that append fails, Query fails: the
// log is not read without a trace. Stripped entries are never returned.
func (l *Log) Query(ctx context.Context, q Query) (*Page, error) {
	if q.Reader == "" {
		return nil, errors.New("audit: query needs a Reader")
	}
	if q.Limit < 0 || q.Limit > MaxPageSize {
		return nil, fmt.Errorf("audit: query limit must be between 1 and %d", MaxPageSize)
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	read := Event{
		Actor: q.Reader, Action: ReadAction, Resource: "audit/log", Subject: q.Subject,
		Purpose: q.Purpose, Outcome: Success,
	}
	if err := read.Validate(); err != nil {
		return nil, err
	}
	page, err := l.search(ctx, Filter{
		Subject: q.Subject, Actor: q.Actor, Resource: q.Resource, Action: q.Action,
		Since: q.Since, Until: q.Until, Start: q.Start, Limit: q.Limit,
	})
	if err != nil {
		return nil, err
	}
	read.Attrs = []Attr{Int("returned", int64(len(page.Entries)))}
	if q.Actor != "" {
		read.Attrs = append(read.Attrs, String("filter.actor", q.Actor))
	}
	if q.Resource != "" {
		read.Attrs = append(read.Attrs, String("filter.resource", q.Resource))
	}
	if q.Action != "" {
		read.Attrs = append(read.Attrs, String("filter.action", q.Action))
	}
	if _, err := l.Append(ctx, read); err != nil {
		return nil, fmt.Errorf("audit: query not recorded, so not answered: %w", err)
	}
	return page, nil
}

// search runs a filter without auditing it.
func (l *Log) search(ctx context.Context, f Filter) (*Page, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	var recs []Record
	var err error
	if ss, ok := l.store.(SearchStore); ok {
		recs, err = ss.Search(ctx, f)
	} else {
		recs, err = scan(ctx, l.store, f)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: query: %w", err)
	}
	p := &Page{Entries: make([]*Entry, 0, len(recs))}
	for i := range recs {
		e, err := recordEntry(&recs[i])
		if err != nil {
			return nil, err
		}
		p.Entries = append(p.Entries, e)
	}
	if len(recs) >= f.Limit && len(recs) > 0 {
		p.More = true
		p.Next = recs[len(recs)-1].Index + 1
	}
	return p, nil
}

// scan searches a store without [SearchStore] by reading it in order.
func scan(ctx context.Context, s Store, f Filter) ([]Record, error) {
	n, err := s.Size(ctx)
	if err != nil {
		return nil, err
	}
	var out []Record
	for start := f.Start; start < n && len(out) < f.Limit; start += 1024 {
		recs, err := s.ReadRecords(ctx, start, min(start+1024, n))
		if err != nil {
			return nil, err
		}
		for i := range recs {
			if f.match(&recs[i]) && len(out) < f.Limit {
				out = append(out, recs[i])
			}
		}
	}
	return out, nil
}

// RetentionAction is the action of the entry [Log.ApplyRetention] appends.
const RetentionAction = "audit.retention.strip"

// ApplyRetention strips the payload of every entry older than the log's
// retention period (Options.Retention, one year by default) on its clock,
// keeping each leaf hash so that the hash chain, the tree, checkpoints and
// the proofs of all entries still verify. It appends an entry recording
// how many it stripped (when it stripped any) and returns that number. The
// store must implement [StripStore].
func (l *Log) ApplyRetention(ctx context.Context) (int, error) {
	if l.isClosed() {
		return 0, ErrClosed
	}
	ss, ok := l.store.(StripStore)
	if !ok {
		return 0, fmt.Errorf("%w: retention needs a StripStore", ErrUnsupported)
	}
	cutoff := l.now().Add(-l.retention)
	n, err := ss.Strip(ctx, cutoff)
	if err != nil {
		return n, fmt.Errorf("audit: retention: %w", err)
	}
	if n > 0 {
		_, err = l.Append(ctx, Event{
			Actor: "service:audit", Action: RetentionAction, Resource: "audit/log", Outcome: Success,
			Attrs: []Attr{Int("stripped", int64(n)), Int("cutoff_unix_ns", cutoff.UnixNano())},
		})
	}
	return n, err
}
