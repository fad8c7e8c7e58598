// Package sandbox runs a user's code, typically Python written by an AI
// assistant, over that user's workspace files, isolated from the host, from
// the network and from every other user.
package sandbox
