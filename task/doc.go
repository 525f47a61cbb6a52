// Package task is the vocabulary the master and the workers share: a job's
// typed spec (parsed and validated once, in conf/), a task and its lease,
// the limits a lease grants, the state of an unfinished upload, and the
// outcome of one entry with its failure kind. worker/ and master/ both
// import it and never each other, as nomad's client and server share
// nomad/structs.
//
// A task is a unit of work a worker leases. Today every task is a batch of
// keys in key order (Lease.Entries). The other kinds of DESIGN.md §10 (a
// Kafka partition with a cursor, a table's key range) add their unit beside
// Entries: a cursor the lease owns, which the master advances only under
// the current lease ID, as it accepts completions today. Nothing else of
// the lease protocol (grant, renew, fence, reap, publish) depends on what
// the unit is.
package task
