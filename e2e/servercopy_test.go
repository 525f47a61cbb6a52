package e2e

import (
	"fmt"
	"hash/crc64"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store/s3test"
)

// TestServerSideCopy copies 1,000 objects, 3 of them above the multipart
// threshold, from one bucket to another of the same server with the same
// credentials (issue 17, item 2): the server gets copy requests and no
// object's body is read (no GET reaches it during the job), the copies
// carry the source's CRC64, every audit line says copy=server, and verify
// passes. Into a bucket where the server refuses copies, the same job
// falls back to streaming, succeeds, and says copy=stream.
func TestServerSideCopy(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "dst")
	srv.CreateBucket(t, "nocopy")
	srv.DenyCopy("nocopy")
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	want := map[string]fileInfo{}
	hasCRC, big := map[string]bool{}, map[string]bool{}
	for i := range 1000 {
		key := fmt.Sprintf("d%02d/obj %04d.bin", i%10, i)
		size := 100 + i*37
		if i%333 == 7 {
			size = 12<<20 + i // above the 5 MiB threshold: copied in parts
			big[key] = true
		}
		body := s3Pattern(size, byte(i))
		crc := crc64.Checksum(body, crcTable)
		opts := minio.PutObjectOptions{}
		if i%5 != 0 { // most carry ferry's CRC64, as objects ferry copied do
			opts.UserMetadata = map[string]string{"ferry-crc64": fmt.Sprintf("%016x", crc)}
			hasCRC[key] = true
		}
		s3Put(t, srv, srv.Bucket, "data/"+key, body, opts)
		want[key] = fileInfo{size: int64(size), crc: crc}
	}
	for _, c := range []struct {
		bucket, how string
	}{{"dst", "copy=server"}, {"nocopy", "copy=stream"}} {
		t.Run(c.bucket, func(t *testing.T) {
			h := newHome(t, "ssc-"+c.bucket)
			h.writeJob(h.jobFile, append(append(s3Side("src", srv, px.URL, srv.Bucket, "data/"),
				s3Side("dest", srv, px.URL, c.bucket, "copy/")...),
				kv{"multipartUploadThreshold", "5m"}, kv{"multipartUploadPartSize", "5m"}, kv{"taskObjectCountLimit", "200"})...)
			px.SetFaults(s3test.Faults{}) // count from here
			h.s3RunOK()
			gets, copies, parts := px.Count(s3test.KindGet), px.Count(s3test.KindCopy), px.Count(s3test.KindPart)
			t.Logf("requests during the job: %s", px)
			if c.how == "copy=server" {
				if gets != 0 {
					t.Errorf("%d GETs reached the server: an object's body was read", gets)
				}
				if copies != 997 || parts < 9 {
					t.Errorf("%d CopyObject and %d part requests, want 997 and 9 or more (3 objects of 3 parts)", copies, parts)
				}
			} else if gets < 1000 {
				t.Errorf("fallback: %d GETs, want every object streamed", gets)
			}
			got := s3Snapshot(t, srv, c.bucket, "copy/")
			for k, w := range want {
				g, ok := got[k]
				switch {
				case !ok:
					t.Errorf("%q not copied", k)
				case g.size != w.size || g.crc != w.crc:
					t.Errorf("%q: %d bytes, CRC64 %016x; want %d, %016x", k, g.size, g.crc, w.size, w.crc)
				}
				if m := s3Header(g, "X-Amz-Meta-Ferry-Crc64"); ok && m != fmt.Sprintf("%016x", w.crc) && (hasCRC[k] || c.how == "copy=stream" && !big[k]) {
					// A copy has it when the source had it (all but every
					// fifth object), and a streamed one always but for a
					// multipart upload, which gets it by a copy of the
					// object onto itself: refused in the bucket nocopy.
					t.Errorf("%q: x-amz-meta-ferry-crc64 %q, want %016x", k, m, w.crc)
				}
			}
			n := 0
			for _, a := range h.attempts() {
				for _, r := range a.records {
					if r.result == "OK" {
						n++
						if !strings.Contains(r.detail, c.how) {
							t.Errorf("audit record of %q: detail %q, want %s", r.key, r.detail, c.how)
						}
					}
				}
			}
			if n != len(want) {
				t.Errorf("%d OK records, want %d", n, len(want))
			}
			if r := h.ferry(5*time.Minute, "verify", h.job); r.code != 0 {
				t.Errorf("verify: want exit 0:\n%s", r)
			}
		})
	}
}
