// Package encryptiontest checks implementations of [encryption.KeyStore]
// against its contract, the way testing/fstest checks an fs.FS. Every store
// privkit ships passes [Run]; so should a host's own.
package encryptiontest
