// Package table moves database tables (DESIGN.md §10): MariaDB/MySQL
// (srcType/destType mysql) and PostgreSQL (postgres). A task is one
// table's primary-key range, a chunk: the master cuts each table into
// chunks of tableChunkRows rows from its key index (Plan), a worker copies
// a chunk with batched idempotent upserts, one transaction per batch, and
// checks it with a digest of the chunk's rows on each side (Copy);
// Verify compares every chunk by digest, bisects those that differ down to
// rows and names each MISSING, DIFFERENT and EXTRA row by its key; Repair
// rewrites them (source wins).
//
// Both engines read rows into the same canonical values (val.go): a value
// of one engine and its copy in the other encode to the same bytes, so
// digests compare across engines.
package table
