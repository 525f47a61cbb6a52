package s3

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store"
	"ferry/store/s3test"
)

// The fast listing reads the pages minio-go would: 2,500 objects with keys
// that need escaping in a query and in XML (space, +, %, &, <, quote,
// unicode, a trailing '/'), under a prefix and from a start key, listed
// page by page without minio-go and compared entry by entry with minio-go's
// own listing of the same bucket.
func TestFastList(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := open(t, config(srv, srv.URL, "p re+fix/"))
	odd := []string{"a b", "a+b", "a%b", "a&b<c>", `q"uote'`, "ü/日本", "dir/", "z~_-.x", "semi;colon=eq?q#h"}
	var keys []string
	for i := range 2500 {
		k := fmt.Sprintf("k%04d/%s", i/7, odd[i%len(odd)])
		if i%len(odd) == 6 {
			k = fmt.Sprintf("k%04d/dir%d/", i/7, i)
		}
		keys = append(keys, k)
		if _, err := s.Put(ctx, k, strings.NewReader(k), store.Entry{Size: int64(len(k))}, store.PutOptions{}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	slices.Sort(keys)
	for _, c := range []struct{ prefix, after string }{{"", ""}, {"k01", ""}, {"", keys[1234]}, {"k02", "k0200/a b"}} {
		var got []store.Entry
		before := s.fastPages.Load()
		if err := s.List(ctx, c.prefix, c.after, func(e store.Entry) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		pages := s.fastPages.Load() - before
		// minio-go's listing of the same keys.
		var want []store.Entry
		for o := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.fullKey(c.prefix), Recursive: true, UseV1: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			k := o.Key[len(s.cfg.Prefix):]
			if k <= c.after {
				continue
			}
			e := entryOf(k, o, nil)
			if strings.HasSuffix(k, "/") && o.Size == 0 {
				e.Kind, e.Detail = store.Special, directoryMarker
			}
			want = append(want, e)
		}
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("prefix %q after %q: %d entries, minio-go lists %d", c.prefix, c.after, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Key != w.Key || g.Size != w.Size || !g.MTime.Equal(w.MTime) || g.ETag != w.ETag || g.Kind != w.Kind {
				t.Fatalf("prefix %q after %q, entry %d: %+v, minio-go: %+v", c.prefix, c.after, i, g, w)
			}
		}
		if min := int64(len(want)+listPage-1) / listPage; pages < min {
			t.Errorf("prefix %q after %q: %d pages read by the fast listing, want at least %d", c.prefix, c.after, pages, min)
		}
	}
}

// scanListing reads what S3 and other servers write: entities and
// character references, keys URL-encoded or not (by EncodingType, even
// after the keys), an empty NextMarker, and refuses what it cannot read.
func TestScanListing(t *testing.T) {
	page := `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><Marker/><NextMarker/><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>a+b%26c</Key><LastModified>2024-02-29T23:59:59.123Z</LastModified><ETag>&quot;0123&quot;</ETag><Size>7</Size><Owner><ID>x</ID></Owner><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>d%2Fe</Key><LastModified>2024-03-01T00:00:00Z</LastModified><ETag>&#34;4567&#x22;</ETag><Size>0</Size></Contents>
<EncodingType>url</EncodingType></ListBucketResult>`
	p, err := scanListing([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 2, 29, 23, 59, 59, 123e6, time.UTC)
	if len(p.objects) != 2 || !p.truncated || p.nextMarker != "" ||
		p.objects[0].Key != "a b&c" || p.objects[0].ETag != "0123" || p.objects[0].Size != 7 || !p.objects[0].LastModified.Equal(at) ||
		p.objects[1].Key != "d/e" || p.objects[1].ETag != "4567" || p.objects[1].Size != 0 {
		t.Errorf("scanListing: %+v", p)
	}
	raw := `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a+b &amp; &lt;c&gt; &apos;q&apos;</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>e</ETag><Size>1</Size></Contents></ListBucketResult>`
	if p, err := scanListing([]byte(raw)); err != nil || len(p.objects) != 1 || p.objects[0].Key != "a+b & <c> 'q'" || p.truncated {
		t.Errorf("a listing without EncodingType: %+v, %v", p, err)
	}
	for _, bad := range []string{
		`<ListBucketResult><Contents><Key><![CDATA[x]]></Key></Contents></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a&nbsp;b</Key></Contents></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a</Key><Size>big</Size></Contents></ListBucketResult>`,
		`<ListBucketResult><Contents><Key>a</Key>`,
		`<Error><Code>SlowDown</Code></Error>`,
	} {
		if _, err := scanListing([]byte(bad)); err == nil {
			t.Errorf("scanListing(%s) read it", bad)
		}
	}
}
