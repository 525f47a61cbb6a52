package s3

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"ferry/store"
	"ferry/store/s3test"
	"ferry/store/storetest"
)

// TestFaults copies through a proxy that answers 30% of requests with 503
// SlowDown and cuts 10% of connections, half before the server acted and
// half after: every write and read must still end with identical content.
func TestFaults(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	cfg := config(srv, px.URL, "faults/")
	cfg.MaxRetries = 30 // with 40% of attempts failing, 31 in a row fail once in 10^12
	cfg.PutThreshold, cfg.PartSize = 6*MiB, 5*MiB
	s := open(t, cfg)
	ctx, retries := store.WithRetryCounter(context.Background())
	px.SetFaults(s3test.Faults{Rate503: 0.3, CutRate: 0.1, Seed: 42})

	want := map[string][]byte{}
	for i := range 40 {
		size := []int{0, 1, 1000, 100 << 10, 1 * MiB}[i%5]
		key := fmt.Sprintf("small/%02d", i)
		want[key] = randomBytes(size, uint64(i))
		storetest.Put(t, s, key, string(want[key]))
	}
	want["stream.bin"] = randomBytes(13*MiB, 100)
	storetest.Put(t, s, "stream.bin", string(want["stream.bin"])) // multipart, one part at a time
	want["multi.bin"] = randomBytes(20*MiB+7, 101)
	e, err := s.PutMultipart(ctx, "multi.bin", source(want["multi.bin"]), int64(len(want["multi.bin"])),
		store.Entry{}, store.MultipartOptions{PartSize: 5 * MiB, Threads: 3}, nil)
	if err != nil || e.CRC64 != crcOf(want["multi.bin"]) {
		t.Fatalf("PutMultipart = %+v, %v", e, err)
	}

	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := storetest.List(t, s, "", ""); !slices.Equal(got, keys) {
		t.Fatalf("List = %q\nwant %q", got, keys)
	}
	for _, k := range keys {
		checkObject(t, s, k, want[k])
		if len(want[k]) > 10 {
			mid := int64(len(want[k]) / 3)
			if got := storetest.Read(t, s, k, mid, mid); got != string(want[k][mid:2*mid]) {
				t.Fatalf("range of %q differs", k)
			}
		}
	}
	inj503, injCut := 0, 0
	for _, k := range []string{s3test.KindPut, s3test.KindPart, s3test.KindGet, s3test.KindHead, s3test.KindList,
		s3test.KindCreate, s3test.KindComplete, s3test.KindCopy, s3test.KindListParts} {
		inj503 += px.Injected(k)
	}
	injCut = px.Injected(s3test.KindGet)
	t.Logf("%v; retries counted for PutMultipart: %d", px, retries.Retries())
	if inj503 < 50 || injCut == 0 {
		t.Fatalf("too few faults injected (%d, %d cut GETs) for the test to mean much", inj503, injCut)
	}
}

// TestProxyWatch: a proxy listening on the address asked for tells its
// Watch function about every request it answers: the kind, the client,
// the key, the upload ID of a part, the status, and whether it was a
// fault it injected, in agreement with its own counts.
func TestProxyWatch(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxyOn(t, "127.0.0.1:0", srv.URL, s3test.Faults{Rate503: 0.3, Seed: 7})
	var mu sync.Mutex
	var seen []s3test.Seen
	px.Watch(func(s s3test.Seen) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	})
	cfg := config(srv, px.URL, "w/")
	cfg.MaxRetries = 30
	s := open(t, cfg)
	storetest.Put(t, s, "small", "hello")
	big := randomBytes(11*MiB, 3)
	if _, err := s.PutMultipart(context.Background(), "big", source(big), int64(len(big)), store.Entry{},
		store.MultipartOptions{PartSize: 5 * MiB, Threads: 2}, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	injected, parts := 0, map[string]int{}
	for _, x := range seen {
		if x.Client != "127.0.0.1" {
			t.Errorf("%+v: client %q, want 127.0.0.1", x, x.Client)
		}
		if x.Injected {
			injected++
			if x.Status != 503 {
				t.Errorf("%+v: an injected fault answered %d, want 503", x, x.Status)
			}
		}
		if x.Kind == s3test.KindPart && x.Status == 200 {
			if x.Key != "w/big" || x.UploadID == "" {
				t.Errorf("%+v: a part of w/big with its upload ID", x)
			}
			parts[x.UploadID]++
		}
	}
	total := 0
	for _, k := range []string{s3test.KindPut, s3test.KindPart, s3test.KindCreate, s3test.KindComplete, s3test.KindListUpload, s3test.KindHead, s3test.KindCopy} {
		total += px.Injected(k)
	}
	if injected == 0 || injected != total {
		t.Errorf("Watch saw %d injected faults, the proxy counts %d; want the same, more than 0", injected, total)
	}
	if len(parts) != 1 || parts[keysOf(parts)[0]] != 3 {
		t.Errorf("parts seen by upload: %v; want 3 parts of one upload", parts)
	}
}

func keysOf(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
