package consentsql

import "context"

// Watch implements [consent.Watcher]. fn is called before Append returns
// for decisions appended through this *Store, and, on PostgreSQL, as soon
// as a notification arrives for decisions appended by any other instance
// (fn("") after the listening connection was lost, since notifications may
// have been missed). complete is false: other processes may write without
// telling this one. fn may be called from several goroutines at once (this
// Store's appenders and the listener).
func (s *Store) Watch(fn func(subject string)) (stop func(), complete bool) {
	return s.watch.Watch(fn), false
}

// WaitListening blocks until the PostgreSQL listener has subscribed (or ctx
// ends). It returns at once on SQLite or when nothing is watched. Low-level:
// for tests that must not race the first notification.
func (s *Store) WaitListening(ctx context.Context) error {
	return s.watch.WaitListening(ctx)
}
