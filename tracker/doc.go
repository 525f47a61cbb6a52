// Package tracker keeps what happened to every entry: one audit directory
// per finished task attempt under the master's jobs directory (TASK,
// STATUS, DONE, audit.log, error.list, as DESIGN.md section 7 fixes), and
// the live progress workers report (files, bytes, throughput) that `stat`
// turns into rates and an ETA.
//
// An attempt's directory is built in jobs/<job>/.inflight/<task>_<lease>
// while the worker reports, prepared when the worker completes, and
// published by one rename after the master has committed the completion;
// Recover settles what a crash left between those steps, so every published
// directory belongs to exactly one accepted completion.
package tracker
