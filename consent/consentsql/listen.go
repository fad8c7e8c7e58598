package consentsql

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/inferlabs/privkit/internal/sqldb"
)

// Watch implements [consent.Watcher]. fn is called before Append returns
// for decisions appended through this *Store, and, on PostgreSQL, as soon
// as a notification arrives for decisions appended by any other instance
// (fn("") after the listening connection was lost, since notifications may
// have been missed). complete is false: other processes may write without
// telling this one. fn is called from one goroutine at a time, in
// registration order.
func (s *Store) Watch(fn func(subject string)) (stop func(), complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return func() {}, false
	}
	id := s.nextID
	s.nextID++
	s.watchers = append(s.watchers, watcher{id: id, fn: fn})
	if s.db.Dialect == sqldb.Postgres && s.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel, s.done, s.ready = cancel, make(chan struct{}), make(chan struct{})
		go s.listen(ctx, s.done, s.ready)
	}
	return func() { s.unwatch(id) }, false
}

// unwatch removes a watcher and stops the listener after the last one.
func (s *Store) unwatch(id int) {
	s.mu.Lock()
	for i, w := range s.watchers {
		if w.id == id {
			s.watchers = append(s.watchers[:i:i], s.watchers[i+1:]...)
			break
		}
	}
	var cancel context.CancelFunc
	var done chan struct{}
	if len(s.watchers) == 0 && s.cancel != nil {
		cancel, done = s.cancel, s.done
		s.cancel, s.done = nil, nil
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// WaitListening blocks until the PostgreSQL listener has subscribed (or ctx
// ends). It returns at once on SQLite or when nothing is watched. Low-level:
// for tests that must not race the first notification.
func (s *Store) WaitListening(ctx context.Context) error {
	s.mu.Lock()
	ready := s.ready
	running := s.cancel != nil
	s.mu.Unlock()
	if !running {
		return nil
	}
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) notify(subject string) {
	s.mu.Lock()
	ws := make([]func(string), len(s.watchers))
	for i, w := range s.watchers {
		ws[i] = w.fn
	}
	s.mu.Unlock()
	for _, fn := range ws {
		fn(subject)
	}
}

// listen holds a dedicated connection that LISTENs on [Channel] until ctx
// ends, reconnecting with backoff.
func (s *Store) listen(ctx context.Context, done, ready chan struct{}) {
	defer close(done)
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() {
			if first {
				close(ready)
				first = false
			}
			backoff = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		_ = err
		s.notify("") // notifications may have been lost
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

var errNotPgx = errors.New("consentsql: listener needs the pgx stdlib driver")

func (s *Store) listenOnce(ctx context.Context, subscribed func()) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+Channel); err != nil {
			return driver.ErrBadConn
		}
		subscribed()
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// Never hand a listening connection back to the pool.
				return driver.ErrBadConn
			}
			s.notify(n.Payload)
		}
	})
}
