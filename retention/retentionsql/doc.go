// Package retentionsql is the SQL backend of [retention]: a [retention.Store]
// over SQLite (the embedded default) or PostgreSQL (an inventory shared by
// many service instances).
//
// Open the database with privkit.OpenSQLite or privkit.OpenPostgres and
// pass it to [New], which applies the schema migrations (tables named
// retention_…, so the database can be shared with other privkit backends):
//
//	db, err := privkit.OpenPostgres(ctx, dsn)
//	store, err := retentionsql.New(ctx, db)
//	m, err := retention.New(store, &retention.Options{...})
//
// Several instances sweep one PostgreSQL inventory without deleting
// anything twice: claims select rows with FOR UPDATE SKIP LOCKED and mark
// them claimed with a lease in the same transaction. On SQLite, write
// transactions begin IMMEDIATE and exclude each other.
//
// Deleted items stay in retention_items as tombstones (state "deleted")
// with their journal: they prove the deletion and feed the KPI report. They
// hold the subject's pseudonym and the item's location, not its content.
//
// # Non-goals
//
// Other databases, and cleaning tombstones: a host that must forget them
// deletes rows of retention_items in state "deleted" older than its
// record-keeping period itself.
package retentionsql
