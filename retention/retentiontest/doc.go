// Package retentiontest checks implementations of [retention.Store], the
// way testing/fstest checks fs.FS. Every backend runs [Run]; backends that
// several processes share also run [RunShared] with two handles on one
// database. [Deleter] and [Auditor] are fakes for hosts' own tests.
//
// It imports testing and is for tests only.
//
// # Non-goals
//
// Performance testing: see BenchmarkSweep in retentionsql.
package retentiontest
