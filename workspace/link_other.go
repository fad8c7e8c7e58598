//go:build !unix

package workspace

import "io/fs"

// linkCount returns 1: this platform does not report link counts through
// fs.FileInfo, so hard links are not detected here.
func linkCount(fi fs.FileInfo) uint64 { return 1 }
