package task

// Part tasks (splitFileThreshold). A file of at least the threshold is not
// one entry of a batch but a group of tasks of its own, each with the
// file as its single entry and a Part saying its role, so that different
// workers move different ranges of it:
//
//   - the prepare task (Index 0) pins the source's version and begins the
//     destination's assembly (a multipart upload; a temporary file beside
//     the target), saved with the task (SaveUpload);
//   - the range tasks (Index 1..Count), leasable once the prepare task
//     succeeded, each move bytes [Off, Off+Len) and check them, saving the
//     parts they wrote;
//   - the final task (Index Count+1), leasable once every range task
//     succeeded, completes the upload or publishes the file, after
//     checking the whole file's CRC64 combined from the parts'.
//
// The group's tasks have consecutive IDs from Group. A range task that
// dies with its worker is leased again alone: the other ranges stay done.
// The file counts once in a job's files (its final task) and its bytes
// once (its ranges', as each is done).
type Part struct {
	Group    uint64 // ID of the group's prepare task; the others follow it
	Index    int    // 0 prepare, 1..Count a range, Count+1 final
	Count    int    // range tasks in the group
	Off, Len int64  // a range task's bytes
	Unit     int64  // the part size: a range is whole parts of it (but the file's last)
}

// IsPrepare, IsRange and IsFinal say the task's role.
func (p *Part) IsPrepare() bool { return p.Index == 0 }
func (p *Part) IsRange() bool   { return p.Index >= 1 && p.Index <= p.Count }
func (p *Part) IsFinal() bool   { return p.Index == p.Count+1 }

// Limits of multipart uploads that every part size must respect, whatever
// the destination (S3's; a local file has none).
const (
	minPartUnit = 5 << 20
	maxParts    = 10000
	rangeTarget = 128 << 20 // about what one range task moves
)

// SplitFile returns the part tasks of a file of size bytes with a
// multipart part size of partSize: the prepare task, the ranges and the
// final task, numbered from group. Ranges are whole parts of a unit of at
// least partSize, 5 MiB and size/10000 (so an object store takes them as
// the parts of one upload), an eighth of the file each, at most about
// 128 MiB.
func SplitFile(group uint64, size, partSize int64) []Part {
	unit := max(partSize, minPartUnit)
	if least := (size + maxParts - 1) / maxParts; unit < least {
		unit = (least + 1<<20 - 1) &^ (1<<20 - 1)
	}
	// An eighth of the file, so that even a file just above the
	// threshold spreads over several workers; at most about rangeTarget.
	per := max(1, min(rangeTarget, size/8)/unit) * unit
	count := int((size + per - 1) / per)
	out := make([]Part, 0, count+2)
	out = append(out, Part{Group: group, Index: 0, Count: count, Unit: unit})
	for i := range count {
		off := int64(i) * per
		out = append(out, Part{Group: group, Index: i + 1, Count: count, Off: off, Len: min(per, size-off), Unit: unit})
	}
	return append(out, Part{Group: group, Index: count + 1, Count: count, Unit: unit})
}
