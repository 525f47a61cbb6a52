// Package state is the master's durable state: jobs, tasks, manifests,
// multipart uploads in progress and held audit directories, in one bbolt
// file. Every task is in exactly one of its job's four state buckets
// (pending, dispatched, failed, succeeded) and every change of state is one
// transaction that also moves the job's counters (db.go, types.go). Leases
// are granted, renewed, fenced and reaped here (lease.go); many workers'
// completions share one commit (commit.go). It knows nothing of gRPC, of
// the tracker's files or of the workers: master/ coordinates, and the
// tracker's journal asks it to hold audit directories (audits.go).
package state
