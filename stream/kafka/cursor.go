package kafka

import (
	"encoding/json"

	"ferry/task"
)

// cursor is what a partition task saves with its lease in the master after
// each committed transaction: where the copy stands, and where its last
// checkpoint is, so a new attempt reads CheckpointTopic from there rather
// than from its start. The checkpoint on the destination is the truth (it
// commits with the records); the cursor can only lag it by the transaction
// committed just before a crash, which the next attempt reads and saves.
type cursor struct {
	Seq        uint64 `json:"seq"`
	SrcNext    int64  `json:"srcNext"`
	DestNext   int64  `json:"destNext"`
	Records    int64  `json:"records"`
	Bytes      int64  `json:"bytes"`
	Checkpoint int64  `json:"checkpoint"` // the last checkpoint's offset in CheckpointTopic
	// What stat shows of the partition's lag.
	task.StreamProgress
}

func cursorOf(ck *Checkpoint) cursor {
	return cursor{Seq: ck.Seq, SrcNext: ck.SrcNext, DestNext: ck.DestNext, Records: ck.Records, Bytes: ck.Bytes, Checkpoint: ck.Offset}
}

func (c cursor) encode() []byte {
	b, _ := json.Marshal(c)
	return b
}

func decodeCursor(b []byte) (cursor, bool) {
	var c cursor
	if len(b) == 0 || json.Unmarshal(b, &c) != nil {
		return cursor{}, false
	}
	return c, true
}
