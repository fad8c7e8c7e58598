//go:build !unix

package sandbox

import "context"

// Exec reports that bubblewrap needs Linux. See [Engine.Exec].
func (b *Bubblewrap) Exec(ctx context.Context, job *Job) (*Exit, error) {
	return nil, &UnavailableError{Engine: "bubblewrap", Reason: "bubblewrap runs on Linux only"}
}
