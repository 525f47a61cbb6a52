// Package report writes a job's per-entry report (`console.sh report`):
// one row a key, in key order, as CSV or JSON lines, merged from what ferry
// recorded under the job's directory: the audit.log of every accepted
// attempt (succeed_tasks/, failed_tasks/), the master's key logs
// (excluded.log, deleted.log) and the latest verify report (verify/).
//
// A key's latest outcome wins: the record of its latest attempt, or its
// exclusion, or its deletion. A finding of the latest verify that is newer
// than a key's OK, SKIP or DELETE turns the row into a FAIL of verify's
// kind (DIFFERENT, MISSING, EXTRA): the destination no longer holds what
// was copied. A FAIL or an EXCLUDE explains on its own why verify finds a
// key missing, and stays.
//
// Memory stays flat in the number of entries: what is read is encoded into
// runs of bounded size, each sorted by key and time, spilled to temporary
// files and merged (sort.go).
package report
