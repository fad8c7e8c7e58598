package sandbox

import "sync"

// tailSize is how much of a stream's end is kept to classify a failure.
const tailSize = 4 << 10

// capture keeps the first max bytes written to it and the last tailSize
// bytes, and calls over once when more than max bytes arrive. It accepts
// every write, so the writer never blocks on it. It is safe for concurrent
// use.
type capture struct {
	mu        sync.Mutex
	max       int64
	n         int64
	head      []byte
	tail      []byte // ring of the last tailSize bytes
	truncated bool
	over      func()
}

func newCapture(max int64, over func()) *capture {
	return &capture{max: max, over: over}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += int64(len(p))
	if room := c.max - int64(len(c.head)); room > 0 {
		k := min(int64(len(p)), room)
		c.head = append(c.head, p[:k]...)
	}
	if c.n > c.max && !c.truncated {
		c.truncated = true
		if c.over != nil {
			c.over()
		}
	}
	q := p
	if len(q) > tailSize {
		q = q[len(q)-tailSize:]
	}
	c.tail = append(c.tail, q...)
	if len(c.tail) > 2*tailSize {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-tailSize:]...)
	}
	return len(p), nil
}

// bytes returns the kept head and whether the stream was longer.
func (c *capture) bytes() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.head...), c.truncated
}

// tailBytes returns the stream's last bytes, at most tailSize.
func (c *capture) tailBytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tail
	if len(t) > tailSize {
		t = t[len(t)-tailSize:]
	}
	return append([]byte(nil), t...)
}
