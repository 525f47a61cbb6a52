// Package task is the vocabulary the master and the workers share: a job's
// typed spec (parsed and validated once, in conf/), a task and its lease,
// the limits a lease grants, the state of an unfinished upload, and the
// outcome of one entry with its failure kind. worker/ and master/ both
// import it and never each other, as nomad's client and server share
// nomad/structs.
//
// A task is a unit of work a worker leases: a batch of keys in key order
// (Lease.Entries), or, for a stream job (Spec.Stream), one Unit carried as
// the task's single entry: a source partition, or a consumer group to
// translate. A stream task's cursor is saved with the task under its lease
// (SaveUpload, keyed by the unit's key), so the master advances it only
// under the current lease ID, as it accepts completions. Nothing else of
// the lease protocol (grant, renew, fence, reap, publish) depends on what
// the unit is. A file of at least splitFileThreshold is a group of part
// tasks (Lease.Part, part.go), each with that file as its single entry.
// A table job's task (Spec.Table) holds one chunk, a primary-key range of
// a table, as its single entry, named "table/[lo,hi)"; its writes are
// idempotent upserts, so it needs no cursor: a re-leased chunk rewrites
// the same rows.
package task
