// Package tracker keeps what happened to every entry: one audit directory
// per finished task attempt under the master's jobs directory (TASK,
// STATUS, DONE, audit.log, error.list, as DESIGN.md section 7 fixes), and
// the live progress workers report (files, bytes, throughput) that `stat`
// turns into rates and an ETA.
//
// An attempt's directory is built in jobs/<job>/.inflight/<task>_<lease>
// while the worker reports, prepared when the worker completes, and
// published by one rename after the master has committed the completion
// together with a copy of the directory's bytes. Nothing waits for the
// disk on that path: Sync makes everything published so far durable (on
// Linux with one syncfs, elsewhere with an fsync of each file and
// directory), after which the master drops its copies, and after a crash
// Restore writes again what the copies hold and Recover settles the rest,
// so every published directory belongs to exactly one accepted completion
// (attempt.go, sync.go).
package tracker
