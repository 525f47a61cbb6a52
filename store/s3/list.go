package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// A listing's pages are asked for and read without minio-go where the
// whole-object GET is (get.go): the same request minio-go makes for a
// version 1 listing (encoding-type=url, marker, max-keys, prefix), signed
// here, and its XML read by a scanner of the few elements a listing has
// instead of encoding/xml (8% of a small-object download's CPU went to
// decoding listings). Anything but a 200 whose body scans cleanly hands the
// rest of the listing to minio-go, from the page that failed, so its
// errors and retries stay the only ones.

// listing is one page of a version 1 listing.
type listing struct {
	objects    []minio.ObjectInfo
	truncated  bool
	nextMarker string
}

// errListMiss is a page the fast listing could not read.
var errListMiss = errors.New("fast listing missed")

// list asks for the page of up to max keys after marker under prefix (keys
// in the bucket).
func (g *fastGet) list(ctx context.Context, rt http.RoundTripper, prefix, marker string, max int) (listing, error) {
	q := "encoding-type=url"
	if marker != "" {
		q += "&marker=" + escapeQuery(marker)
	}
	q += "&max-keys=" + strconv.Itoa(max) + "&prefix=" + escapeQuery(prefix)
	resp, err := g.send(ctx, rt, &url.URL{Scheme: g.scheme, Host: g.host, Path: g.base, RawQuery: q}, g.base, q)
	if err != nil {
		return listing{}, errListMiss
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode != http.StatusOK || resp.Uncompressed {
		return listing{}, errListMiss
	}
	p, err := scanListing(body)
	if err != nil {
		return listing{}, errListMiss
	}
	return p, nil
}

// scanListing reads a ListBucketResult: each Contents' Key, LastModified,
// ETag and Size, IsTruncated, NextMarker and EncodingType (keys and the
// marker URL-decoded when it is "url", as minio-go does). Elements it
// does not know are skipped; anything it cannot read (CDATA, an unknown
// entity, a malformed tag, a listing with no ListBucketResult) is an
// error.
func scanListing(b []byte) (listing, error) {
	var (
		p        listing
		obj      minio.ObjectInfo // the Contents being read, while in one
		inObj    bool
		encoding string
		seen     bool
		keys     int // Keys read in Contents
	)
	// minio.ObjectInfo is large: room for the page's objects at once
	// rather than doubling.
	p.objects = make([]minio.ObjectInfo, 0, bytes.Count(b, []byte("<Contents>")))
	for len(b) > 0 {
		i := bytes.IndexByte(b, '<')
		if i < 0 {
			break
		}
		b = b[i+1:]
		if len(b) > 0 && (b[0] == '?' || b[0] == '!') {
			if bytes.HasPrefix(b, []byte("![CDATA[")) {
				return p, errors.New("CDATA in a listing")
			}
			j := bytes.IndexByte(b, '>')
			if j < 0 {
				return p, errors.New("unterminated declaration")
			}
			b = b[j+1:]
			continue
		}
		j := bytes.IndexByte(b, '>')
		if j < 0 {
			return p, errors.New("unterminated tag")
		}
		tag := b[:j]
		b = b[j+1:]
		if len(tag) > 0 && tag[0] == '/' {
			if string(tag) == "/Contents" && inObj {
				p.objects = append(p.objects, obj)
				inObj = false
			}
			continue
		}
		if k := bytes.IndexAny(tag, " \t\r\n"); k >= 0 {
			tag = tag[:k] // attributes (xmlns) are not read
		}
		name := string(bytes.TrimSuffix(tag, []byte("/")))
		if bytes.HasSuffix(tag, []byte("/")) { // <NextMarker/>: empty
			continue
		}
		switch name {
		case "ListBucketResult":
			seen = true
			continue
		case "Contents":
			obj, inObj = minio.ObjectInfo{}, true
			continue
		case "Key", "LastModified", "ETag", "Size", "IsTruncated", "NextMarker", "EncodingType":
		default:
			continue
		}
		k := bytes.IndexByte(b, '<')
		if k < 0 {
			return p, errors.New("unterminated element " + name)
		}
		text, err := xmlText(b[:k])
		if err != nil {
			return p, err
		}
		b = b[k:]
		switch {
		case name == "IsTruncated":
			p.truncated = text == "true"
		case name == "NextMarker":
			p.nextMarker = text
		case name == "EncodingType":
			encoding = text
		case !inObj:
			// a Key or Size outside Contents: not a listing's
		case name == "Key":
			keys++
			obj.Key = text
		case name == "LastModified":
			t, err := time.Parse(time.RFC3339Nano, text)
			if err != nil {
				return p, fmt.Errorf("LastModified %q: %w", text, err)
			}
			obj.LastModified = t
		case name == "ETag":
			obj.ETag = strings.Trim(text, `"`)
		case name == "Size":
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return p, fmt.Errorf("Size %q: %w", text, err)
			}
			obj.Size = n
		}
	}
	if !seen || inObj || keys != len(p.objects) {
		return p, errors.New("not a whole ListBucketResult")
	}
	if encoding == "url" {
		for i := range p.objects {
			k, err := url.QueryUnescape(p.objects[i].Key)
			if err != nil {
				return p, err
			}
			p.objects[i].Key = k
		}
		if p.nextMarker != "" {
			m, err := url.QueryUnescape(p.nextMarker)
			if err != nil {
				return p, err
			}
			p.nextMarker = m
		}
	}
	return p, nil
}

// xmlText is the character data t with its entity and character
// references replaced.
func xmlText(t []byte) (string, error) {
	if bytes.IndexByte(t, '&') < 0 {
		return string(t), nil
	}
	var out []byte
	for len(t) > 0 {
		i := bytes.IndexByte(t, '&')
		if i < 0 {
			out = append(out, t...)
			break
		}
		out = append(out, t[:i]...)
		t = t[i+1:]
		j := bytes.IndexByte(t, ';')
		if j < 0 {
			return "", errors.New("unterminated entity")
		}
		ent := string(t[:j])
		t = t[j+1:]
		switch ent {
		case "amp":
			out = append(out, '&')
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			var n uint64
			var err error
			switch {
			case strings.HasPrefix(ent, "#x"):
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			case strings.HasPrefix(ent, "#"):
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			default:
				err = errors.New("unknown entity &" + ent + ";")
			}
			if err != nil {
				return "", err
			}
			out = append(out, string(rune(n))...)
		}
	}
	return string(out), nil
}

// escapeQuery escapes a query value as Signature V4 wants it: every byte
// but A-Z, a-z, 0-9, '-', '.', '_' and '~' as %XX ('/' too).
func escapeQuery(v string) string {
	return strings.ReplaceAll(escapePath(v), "/", "%2F")
}
