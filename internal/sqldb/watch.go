package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// maxNotifyPayload is PostgreSQL's limit on a NOTIFY payload, less a margin.
const maxNotifyPayload = 7900

// Watchers fans news of changes out to the watchers of one store: at once
// for changes made through the same store value ([Watchers.Notify]), and on
// PostgreSQL for changes made by any instance, through a dedicated
// connection that LISTENs on a channel ([Watchers.NotifyTx] sends within
// the writing transaction, so the news leaves at commit).
//
// The listener runs while anyone watches, and reconnects with backoff;
// after its connection was lost every watcher is called with "" ("anything
// may have changed"), since notifications may have been missed. A watcher
// may be called from several goroutines at once (the store's writers and
// the listener).
type Watchers struct {
	db      *DB
	channel string

	mu     sync.Mutex
	list   []watcher
	nextID int
	closed bool
	cancel context.CancelFunc // stops the listener
	done   chan struct{}      // closed when the listener has stopped
	ready  chan struct{}      // closed once the listener has run LISTEN
}

type watcher struct {
	id int
	fn func(string)
}

// NewWatchers returns the watchers of a store over db that notifies on
// channel.
func NewWatchers(db *DB, channel string) *Watchers {
	return &Watchers{db: db, channel: channel}
}

// Watch registers fn; stop unregisters it, and fn is not called after stop
// returns. On PostgreSQL the first watcher starts the listener and the
// last one to leave stops it.
func (w *Watchers) Watch(fn func(payload string)) (stop func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return func() {}
	}
	id := w.nextID
	w.nextID++
	w.list = append(w.list, watcher{id: id, fn: fn})
	if w.db.Dialect == Postgres && w.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w.cancel, w.done, w.ready = cancel, make(chan struct{}), make(chan struct{})
		go w.listen(ctx, w.done, w.ready)
	}
	return func() { w.unwatch(id) }
}

func (w *Watchers) unwatch(id int) {
	w.mu.Lock()
	for i, x := range w.list {
		if x.id == id {
			w.list = append(w.list[:i:i], w.list[i+1:]...)
			break
		}
	}
	var cancel context.CancelFunc
	var done chan struct{}
	if len(w.list) == 0 && w.cancel != nil {
		cancel, done = w.cancel, w.done
		w.cancel, w.done = nil, nil
	}
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// NotifyTx sends payload on the channel when tx commits, on PostgreSQL; on
// SQLite it does nothing. A payload too long for NOTIFY goes as "".
func (w *Watchers) NotifyTx(ctx context.Context, tx *Tx, payload string) error {
	if w.db.Dialect != Postgres {
		return nil
	}
	if len(payload) > maxNotifyPayload {
		payload = ""
	}
	_, err := tx.Exec(ctx, "SELECT pg_notify(?, ?)", w.channel, payload)
	return err
}

// Notify calls every watcher with payload, in registration order.
func (w *Watchers) Notify(payload string) {
	w.mu.Lock()
	fns := make([]func(string), len(w.list))
	for i, x := range w.list {
		fns[i] = x.fn
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(payload)
	}
}

// WaitListening blocks until the listener has subscribed (or ctx ends). It
// returns at once on SQLite or when nothing is watched. For tests that
// must not race the first notification.
func (w *Watchers) WaitListening(ctx context.Context) error {
	w.mu.Lock()
	ready := w.ready
	running := w.cancel != nil
	w.mu.Unlock()
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

// Close drops every watcher and stops the listener; later Watch calls
// register nothing. It is safe to call more than once.
func (w *Watchers) Close() {
	w.mu.Lock()
	w.closed = true
	w.list = nil
	cancel, done := w.cancel, w.done
	w.cancel, w.done = nil, nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// listen holds a dedicated connection that LISTENs on the channel until
// ctx ends, reconnecting with backoff.
func (w *Watchers) listen(ctx context.Context, done, ready chan struct{}) {
	defer close(done)
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		_ = w.listenOnce(ctx, func() {
			if first {
				close(ready)
				first = false
			}
			backoff = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			return
		}
		w.Notify("") // notifications may have been lost
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

var errNotPgx = errors.New("sqldb: the listener needs the pgx stdlib driver")

func (w *Watchers) listenOnce(ctx context.Context, subscribed func()) error {
	conn, err := w.db.Conn(ctx)
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
		if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{w.channel}.Sanitize()); err != nil {
			return driver.ErrBadConn
		}
		subscribed()
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// Never hand a listening connection back to the pool.
				return driver.ErrBadConn
			}
			w.Notify(n.Payload)
		}
	})
}
