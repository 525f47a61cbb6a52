// Package trackertest reads published attempt directories back for tests
// of the packages that publish them (master, rpc, e2e): the STATUS, DONE,
// error.list and audit.log of DESIGN.md §7.
package trackertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/tracker"
)

// CheckAttempt checks one published attempt directory (its STATUS, its
// DONE, its error.list holding exactly errorList) and returns its audit
// records.
func CheckAttempt(t testing.TB, dir, status string, errorList []string) []tracker.Record {
	t.Helper()
	if got := ReadFile(t, filepath.Join(dir, "STATUS")); got != status+"\n" {
		t.Errorf("%s STATUS %q, want %q", dir, got, status+"\n")
	}
	if _, err := os.Stat(filepath.Join(dir, "DONE")); (err == nil) != (status == "Completed") {
		t.Errorf("%s: DONE exists: %v, status %s", dir, err == nil, status)
	}
	var el string
	for _, k := range errorList {
		el += tracker.Escape(k) + "\n"
	}
	if got := ReadFile(t, filepath.Join(dir, "error.list")); got != el {
		t.Errorf("%s error.list %q, want %q", dir, got, el)
	}
	return AuditLog(t, dir)
}

// AuditLog parses an attempt directory's audit.log.
func AuditLog(t testing.TB, dir string) []tracker.Record {
	t.Helper()
	var recs []tracker.Record
	for _, line := range strings.Split(strings.TrimSuffix(ReadFile(t, filepath.Join(dir, "audit.log")), "\n"), "\n") {
		if line == "" {
			continue
		}
		r, err := tracker.ParseLine(line)
		if err != nil {
			t.Fatalf("%s audit.log: %v", dir, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// ReadFile returns a file's content, failing the test if it cannot.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
