package e2e

import (
	"fmt"
	"strings"
	"testing"

	"ferry/store/s3test"
)

// TestPartTasks copies a file above splitFileThreshold as part tasks
// (issue 17, item 1), to a local directory and to an object store: the
// copy is byte for byte, the audit shows a prepare, every range (with its
// bytes and CRC64) and a final line whose CRC64 is the file's, the file
// counts once in stat, and the small files beside it are copied as usual.
func TestPartTasks(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	for _, dest := range []string{"local", "s3"} {
		t.Run(dest, func(t *testing.T) {
			h := newHome(t, "parts-"+dest)
			files := map[string][]byte{"big/huge.bin": s3Pattern(23<<20+12345, 7), "a.txt": []byte("a"), "z.txt": []byte("zz")}
			s3WriteTree(t, h.src, files)
			want := regular(snapshot(t, h.src))
			over := []kv{{"splitFileThreshold", "8m"}, {"multipartUploadPartSize", "5m"}}
			if dest == "s3" {
				over = append(over, s3Side("dest", srv, srv.URL, srv.Bucket, "parts/")...)
			}
			h.writeJob(h.jobFile, over...)
			h.s3RunOK()
			if dest == "local" {
				checkTree(t, want, h.dst)
			} else {
				got := s3Snapshot(t, srv, srv.Bucket, "parts/")
				s3CheckBucket(t, want, got)
			}
			var ranges, finals, prepares int
			var covered int64
			for _, a := range h.attempts() {
				for _, r := range a.records {
					if r.key != "big/huge.bin" {
						continue
					}
					switch {
					case strings.HasPrefix(r.detail, "part 0/"):
						prepares++
					case strings.HasPrefix(r.detail, "part "):
						ranges++
						covered += r.size
					case strings.Contains(r.detail, "ranges="):
						finals++
						if r.crc != fmt.Sprintf("%016x", want["big/huge.bin"].crc) {
							t.Errorf("final record CRC64 %s, want the file's %016x", r.crc, want["big/huge.bin"].crc)
						}
					}
				}
			}
			if prepares != 1 || finals != 1 || ranges != 5 || covered != want["big/huge.bin"].size {
				// 23 MiB in ranges of one 5 MiB part: 5 ranges.
				t.Errorf("audit of the split file: %d prepare, %d ranges covering %d bytes, %d final", prepares, ranges, covered, finals)
			}
			st := h.statJSON()
			if st.FilesDone != 3 || st.BytesDone != st.BytesTotal || st.FilesTotal != 3 {
				t.Errorf("stat: %+v, want 3 files, every byte once", st)
			}
		})
	}
}
