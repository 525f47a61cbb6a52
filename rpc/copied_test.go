package rpc_test

import (
	"testing"
	"time"

	pb "ferry/proto"
	"ferry/store/storetest"
)

// TestServeCopiedIndex: OK and SKIP records that carry a destination ETag,
// reported under a current lease, go into the job's copied index with the
// source's size and mtime; FAIL records, records without an ETag and
// records of a spent lease do not.
func TestServeCopiedIndex(t *testing.T) {
	s := serve(t, time.Minute)
	src := storetest.Tree(t, srcFiles)
	s.submit(t, "job1", src, 2)
	s.waitStat(t, "job1", "scan", func(js *pb.JobStat) bool { return js.ScanFinished })
	if _, err := s.mc.Register(ctxT(t), &pb.RegisterRequest{WorkerId: "w1", Host: "h1", Threads: 4}); err != nil {
		t.Fatal(err)
	}
	ls := s.lease(t, "w1", 2)
	if len(ls) != 2 || len(ls[0].Entries) != 2 || len(ls[1].Entries) != 2 {
		t.Fatalf("leases: %v", ls)
	}
	mt := time.Unix(1700000000, 987654321)
	rec := func(e *pb.ManifestEntry, res pb.Result, etag string) *pb.AuditRecord {
		r := &pb.AuditRecord{TimeUnixMs: time.Now().UnixMilli(), Result: res, Size: e.Size, Key: e.Key}
		if etag != "" {
			r.DestEtag, r.SourceMtimeUnixNs = []byte(etag), mt.UnixNano()
		}
		return r
	}
	a, b := ls[0].Entries, ls[1].Entries
	req := &pb.ReportRequest{WorkerId: "w1", Audits: []*pb.AuditBatch{{Lease: ref(ls[0]), Records: []*pb.AuditRecord{
		rec(a[0], pb.Result_RESULT_OK, "etag-ok"), rec(a[1], pb.Result_RESULT_SKIP, "etag-skip")}}}}
	if _, err := s.tc.Report(ctxT(t), req); err != nil {
		t.Fatal(err)
	}
	if _, err := s.complete("w1", ls[1]); err != nil { // b's lease is spent before its report
		t.Fatal(err)
	}
	late := &pb.AuditBatch{Lease: ref(ls[1]), Records: []*pb.AuditRecord{
		rec(b[0], pb.Result_RESULT_OK, "etag-late"), rec(b[1], pb.Result_RESULT_OK, "etag-late")}}
	failed := &pb.AuditBatch{Lease: ref(ls[0]), Records: []*pb.AuditRecord{rec(a[0], pb.Result_RESULT_FAIL, "etag-fail")}}
	req = &pb.ReportRequest{WorkerId: "w1", Audits: []*pb.AuditBatch{late, failed}}
	if _, err := s.tc.Report(ctxT(t), req); err != nil {
		t.Fatal(err)
	}
	db := s.m.DB()
	for _, c := range []struct {
		key  []byte
		ok   bool
		etag string
	}{{a[0].Key, true, "etag-ok"}, {a[1].Key, true, "etag-skip"}, {b[0].Key, false, ""}, {b[1].Key, false, ""}} {
		got, ok := db.CopiedEntry("job1", string(c.key))
		if ok != c.ok || ok && (got.DestETag != c.etag || got.Size != entrySize(a, c.key) || !got.MTime.Equal(mt)) {
			t.Errorf("copied index of %q: %+v, %v; want %v with ETag %q, the entry's size and mtime %v", c.key, got, ok, c.ok, c.etag, mt)
		}
	}
}

func entrySize(es []*pb.ManifestEntry, key []byte) int64 {
	for _, e := range es {
		if string(e.Key) == string(key) {
			return e.Size
		}
	}
	return -1
}
