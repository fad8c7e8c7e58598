package main

import (
	"fmt"
	"io"
	"strings"
)

// narrator prints the story and keeps score of the promises checked.
type narrator struct {
	w      io.Writer
	step   int
	kept   int
	broken []string
}

func (n *narrator) Step(title string) {
	n.step++
	fmt.Fprintf(n.w, "\n%2d. %s\n", n.step, title)
}

func (n *narrator) Say(format string, args ...any) {
	for _, line := range strings.Split(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n") {
		fmt.Fprintf(n.w, "    %s\n", line)
	}
}

// Check records whether a promise held.
func (n *narrator) Check(ok bool, promise string) bool {
	if ok {
		n.kept++
		fmt.Fprintf(n.w, "    ✓ %s\n", promise)
	} else {
		n.broken = append(n.broken, promise)
		fmt.Fprintf(n.w, "    ✗ BROKEN: %s\n", promise)
	}
	return ok
}

// Fail records a broken promise caused by an error.
func (n *narrator) Fail(promise string, err error) {
	n.broken = append(n.broken, promise)
	fmt.Fprintf(n.w, "    ✗ BROKEN: %s: %v\n", promise, err)
}

// Err returns an error listing the broken promises, or nil.
func (n *narrator) Err() error {
	if len(n.broken) == 0 {
		return nil
	}
	return fmt.Errorf("%d promise(s) broken: %s", len(n.broken), strings.Join(n.broken, "; "))
}
