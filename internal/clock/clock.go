// Package clock gives privkit's packages a time source that tests and examples
// can drive.
//
// Public APIs take time as a plain function (an Options field
// `Now func() time.Time`, nil meaning [time.Now]), so hosts need no privkit
// type to inject time. [Fake] is a settable clock whose Now method value fits
// such a field.
package clock

import (
	"sync"
	"time"
)

// NowFunc returns now if it is not nil, and [time.Now] otherwise.
func NowFunc(now func() time.Time) func() time.Time {
	if now != nil {
		return now
	}
	return time.Now
}

// Fake is a clock that moves only when told to. It is safe for concurrent use.
// The zero value starts at the zero time; use [NewFake] for a useful start.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake returns a Fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now returns the clock's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Advance moves the clock forward by d and returns the new time.
func (f *Fake) Advance(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	return f.t
}

// Set sets the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = t
}
