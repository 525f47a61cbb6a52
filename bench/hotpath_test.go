package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"ferry/rpc"
	"ferry/store"
	"ferry/task"
	"ferry/tracker"
)

// BenchmarkCRC64 measures CRC64-ECMA as a copy computes it, streaming
// through the hash in the copy buffer's chunks (4 KiB: a small file;
// 32 KiB: io.Copy's; 256 KiB: the local store's; 1 MiB: an S3 body's).
// Every byte ferry copies goes through it once, and once more where a
// destination is read back. (internal/crc64ecma has the comparison with
// hash/crc64.)
func BenchmarkCRC64(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	for _, chunk := range []int{4 << 10, 32 << 10, 256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", chunk>>10), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h := store.NewCRC64()
				for off := 0; off < len(data); off += chunk {
					h.Write(data[off:min(off+chunk, len(data))])
				}
				_ = h.Sum64()
			}
		})
	}
}

// BenchmarkAuditLine measures formatting one audit.log line (one per
// entry copied) and writing it out, as the tracker does.
func BenchmarkAuditLine(b *testing.B) {
	r := tracker.Record{Time: time.Unix(1700000000, 0), Result: tracker.OK, Size: 4096,
		CRC64: 0x0123456789abcdef, HasCRC: true, Key: "d0123/f0012345.bin"}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = r.AppendLine(buf[:0]) // as the tracker builds a task's audit.log
	}
	io.Discard.Write(buf)
}

// BenchmarkLeaseWire measures what the master does per task handed out
// beyond bbolt: converting a lease of 10,000 entries (the default task) to
// protobuf and encoding it. One op is one task; entries/s is per entry.
func BenchmarkLeaseWire(b *testing.B) {
	const n = 10000
	l := task.Lease{Job: "bench", Spec: task.Spec{Name: "bench", Src: task.Endpoint{Type: "local", Prefix: "/src"}, Dest: task.Endpoint{Type: "local", Prefix: "/dst"}},
		TaskID: 1, LeaseID: 1, Attempt: 1, Deadline: time.Now(), Entries: make([]store.Entry, n)}
	for i := range l.Entries {
		l.Entries[i] = store.Entry{Key: fmt.Sprintf("d%04d/f%07d.bin", i%200, i), Size: 4096, MTime: time.Unix(1700000000, int64(i))}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(rpc.LeaseToPB(l)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
