package task

import "strconv"

// Kind classifies why an entry failed or was set aside. It crosses the wire
// and the database as its number, so values are only ever appended; its
// String is the short fixed code audit logs and error lists show
// (DESIGN.md §3).
type Kind uint8

const (
	OK               Kind = iota // copied and verified, or found the same
	SourceMissing                // the source key is gone
	SourceChanged                // the source changed while it was read
	SizeNotMatch                 // the destination holds (or took) another size than was read
	ChecksumMismatch             // the destination's (or source's) CRC64 is not what was read
	InvalidKey                   // a key no store here can hold
	ReadError                    // the source could not be read
	WriteError                   // the destination could not be written
	Missing                      // audit: in the source, not at the destination
	Different                    // audit: at both, not the same
	Skipped                      // set aside on purpose (a rule, a symlink, a special file)
	Extra                        // verify: at the destination only
	numKinds
)

var kindNames = [numKinds]string{
	OK:               "OK",
	SourceMissing:    "SOURCE_MISSING",
	SourceChanged:    "SOURCE_CHANGED",
	SizeNotMatch:     "SIZE_NOT_MATCH",
	ChecksumMismatch: "CHECKSUM_MISMATCH",
	InvalidKey:       "INVALID_KEY",
	ReadError:        "READ_ERROR",
	WriteError:       "WRITE_ERROR",
	Missing:          "MISSING",
	Different:        "DIFFERENT",
	Skipped:          "SKIPPED",
	Extra:            "EXTRA",
}

// String returns the kind's fixed code, e.g. "CHECKSUM_MISMATCH".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "KIND_" + strconv.Itoa(int(k))
}

// Failed reports whether the kind is a failure (neither OK nor Skipped).
func (k Kind) Failed() bool { return k != OK && k != Skipped }

// ParseKind returns the kind whose code is s.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// Outcome is what became of one entry of a task that did not simply
// succeed: its position in the task, its kind, and the detail people read
// (the cause, which may hold a key; never a secret).
type Outcome struct {
	Index  uint32
	Kind   Kind
	Detail string
}

// Skip reports whether the entry was set aside rather than failed.
func (o Outcome) Skip() bool { return o.Kind == Skipped }
