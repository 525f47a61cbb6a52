package tracker

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The attempt directory tests again, with the os package alone: the
// portable path is what every system but Linux runs, so it runs here too.
func TestPortable(t *testing.T) {
	portableTests = true
	defer func() { portableTests = false }()
	for name, test := range map[string]func(*testing.T){
		"SealIdempotent":              TestSealIdempotent,
		"PrepareFreezesLog":           TestPrepareFreezesLog,
		"PrepareReservesNames":        TestPrepareReservesNames,
		"RestoreReplacesDamage":       TestRestoreReplacesDamage,
		"SealConcurrentFirstAttempts": TestSealConcurrentFirstAttempts,
		"PortableSyncFsyncsAll":       testPortableSyncFsyncsAll,
	} {
		t.Run(name, test)
	}
}

// Without syncfs, Sync fsyncs every file of each directory sealed since the
// last Sync, the directory, and each directory above it up to the
// tracker's, before it hands the attempts back; a failed fsync hands them
// back with the error.
func testPortableSyncFsyncsAll(t *testing.T) {
	tr := newTracker(t)
	if !tr.portable {
		t.Fatal("not a portable tracker")
	}
	var synced []string
	var fail error
	tr.fsync = func(path string, dir bool) error {
		synced = append(synced, path)
		if fail != nil {
			return fail
		}
		return fsyncPath(path, dir)
	}
	if err := tr.Append("j", 1, 7, []Record{{Key: "k"}}); err != nil {
		t.Fatal(err)
	}
	d, err := tr.Prepare(Attempt{Job: "j", Task: 1, Lease: 7, Worker: "w", Files: 1, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Seal("j", 1, 7, d.Name); err != nil {
		t.Fatal(err)
	}
	fail = errors.New("EIO")
	want := []AttemptRef{{"j", 1, 7}}
	if refs, err := tr.Sync(); !errors.Is(err, fail) || !slices.Equal(refs, want) {
		t.Fatalf("failing Sync: %v, %v; want %v and the error", refs, err, want)
	}
	if err := tr.Restore("j", 1, 7, d); err != nil {
		t.Fatal(err)
	}
	fail, synced = nil, nil
	if refs, err := tr.Sync(); err != nil || !slices.Equal(refs, want) {
		t.Fatalf("Sync: %v, %v; want %v", refs, err, want)
	}
	pub := filepath.Join(tr.jobDir("j"), d.Name)
	need := []string{pub, filepath.Dir(pub), tr.jobDir("j"), tr.dir}
	for _, f := range d.Files {
		need = append(need, filepath.Join(pub, f.Name))
	}
	for _, p := range need {
		if !slices.Contains(synced, filepath.Clean(p)) {
			t.Errorf("Sync did not fsync %s (synced %q)", p, synced)
		}
	}
	if got := onDisk(t, pub); !sameFiles(got, d.Files) {
		t.Errorf("published %v, want %v", got, d.Files)
	}

	// A job cleaned before Sync leaves nothing to sync, and no error.
	if err := tr.Restore("j", 2, 8, d); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(tr.jobDir("j")); err != nil {
		t.Fatal(err)
	}
	if refs, err := tr.Sync(); err != nil || len(refs) != 1 {
		t.Fatalf("Sync of a removed job: %v, %v", refs, err)
	}
}
