package s3

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ferry/store"
	"ferry/store/s3test"
)

// TestLongKeysRefusedBeforeAnyRequest: a key longer than S3's 1,024 bytes
// (with the prefix) is ErrInvalidKey saying so, for reads as for writes,
// and no request is sent (issue 15: a Stat sent the HEAD and failed with
// the server's HTTP 400, a READ_ERROR). A key of exactly 1,024 bytes with
// the prefix still works.
func TestLongKeysRefusedBeforeAnyRequest(t *testing.T) {
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, "pfx/"))
	ctx := context.Background()
	px.SetFaults(s3test.Faults{}) // count from here
	long := strings.Repeat("k", 1100)
	_, err := s.Stat(ctx, long)
	checkLong(t, "Stat", err)
	rc, err := s.Open(ctx, long, 0, -1)
	if rc != nil {
		rc.Close()
	}
	checkLong(t, "Open", err)
	_, err = s.Put(ctx, long, strings.NewReader("x"), store.Entry{}, store.PutOptions{})
	checkLong(t, "Put", err)
	checkLong(t, "Delete", s.Delete(ctx, long))
	edge := strings.Repeat("k", 1020) // 1,024 bytes with "pfx/"
	checkLong(t, "Stat of 1,025 bytes with the prefix", func() error { _, err := s.Stat(ctx, edge+"k"); return err }())
	if px.String() != "forwarded map[], faults map[]" {
		t.Errorf("requests were sent: %s", px)
	}
	roundTrip := func(key string) {
		if _, err := s.Put(ctx, key, strings.NewReader("edge"), store.Entry{}, store.PutOptions{}); err != nil {
			t.Fatalf("Put of a key of %d bytes with the prefix: %v", len("pfx/"+key), err)
		}
		if e, err := s.Stat(ctx, key); err != nil || e.Size != 4 {
			t.Errorf("Stat of a key of %d bytes with the prefix: %+v, %v", len("pfx/"+key), e, err)
		}
	}
	roundTrip(edge)
}

func checkLong(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrInvalidKey) || !strings.Contains(err.Error(), "longer than S3's 1024") || store.IsRetryable(err) {
		t.Errorf("%s of a long key: %v, want ErrInvalidKey saying it is longer than S3's 1024 bytes", op, err)
	}
}
