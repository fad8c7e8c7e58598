// Package audit is privkit's tamper-evident log of data access.
//
// It is the lowest floor of privkit: every other package records what it does
// as an [Event] through a one-method interface that accepts one.
package audit
