package conf

import (
	"fmt"
	"net"
	"strings"
)

// Checks of the keys that say where an object store is (*Domain, *Bucket,
// *Prefix, *Region) and of the multipart sizes. Like the parsers of
// values.go they return the message part of an *Error.

// objectStoreTypes are the srcType/destType values read and written
// through the S3 protocol.
var objectStoreTypes = []string{"s3", "oss", "cos", "bos", "ks3", "qiniu"}

// IsObjectStore reports whether a srcType or destType value names an object
// store, served through its S3-compatible API: s3, oss, cos, bos, ks3 or
// qiniu. Their jobs use the *Domain, *Bucket, *AccessKey, *SecretKey,
// *Region and *PathStyle keys, and their *Prefix is a key prefix.
func IsObjectStore(typ string) bool {
	for _, t := range objectStoreTypes {
		if typ == t {
			return true
		}
	}
	return false
}

// exampleEndpoint gives an endpoint of each object store's S3-compatible
// API, for messages about a missing or wrong *Domain.
var exampleEndpoint = map[string]string{
	"s3":    "s3.us-east-1.amazonaws.com",
	"oss":   "oss-cn-hangzhou.aliyuncs.com",
	"cos":   "cos.ap-guangzhou.myqcloud.com",
	"bos":   "s3.bj.bcebos.com",
	"ks3":   "ks3-cn-beijing.ksyuncs.com",
	"qiniu": "s3-cn-east-1.qiniucs.com",
}

// Limits of the multipart keys.
const (
	// minPutThreshold is the least multipartUploadThreshold, ossimport's
	// documented minimum ("more than 1MB").
	minPutThreshold = 1 << 20
	// maxSinglePut is the largest object S3 and OSS take in one PUT and
	// their largest part; it bounds both multipart sizes.
	maxSinglePut = 5 << 30
	// minPartSize is the least multipartUploadPartSize: OSS's least part
	// (ossimport ignored anything smaller). S3 needs 5 MiB, and ferry's
	// S3 client raises smaller parts to that; OSS-compatible test servers
	// take the small ones.
	minPartSize = 100 << 10
	// maxPartThreads bounds uploadThreadNumPerLargeFile.
	maxPartThreads = 64
)

// parseThreshold parses multipartUploadThreshold.
func parseThreshold(v string) (int64, error) {
	n, err := parseSize(v, 0, 1<<62)
	switch {
	case err != nil:
		return 0, err
	case n < minPutThreshold:
		return 0, fmt.Errorf("%q is less than 1M, the least threshold (as in ossimport)", v)
	case n > maxSinglePut:
		return 0, fmt.Errorf("%q is more than 5G, the largest object S3 and OSS take in one PUT", v)
	}
	return n, nil
}

// parsePartSize parses multipartUploadPartSize.
func parsePartSize(v string) (int64, error) {
	n, err := parseSize(v, 0, 1<<62)
	switch {
	case err != nil:
		return 0, err
	case n < minPartSize:
		return 0, fmt.Errorf("%q is less than 100K, the least part size of OSS (S3's is 5M)", v)
	case n > maxSinglePut:
		return 0, fmt.Errorf("%q is more than 5G, the largest part S3 and OSS take", v)
	}
	return n, nil
}

// endpoint is a parsed *Domain value.
type endpoint struct {
	scheme   string // "http://", "https://" (as written) or ""
	hostPort string // host[:port], as written
	host     string // without port or IPv6 brackets
}

// parseDomain checks an endpoint: host[:port], optionally after http:// or
// https://, with at most a trailing "/". role is "src" or "dest", for the
// hints naming other keys.
func parseDomain(v, role string) (endpoint, error) {
	bad := func() (endpoint, error) {
		return endpoint{}, fmt.Errorf("%q is not an endpoint: want host[:port], optionally after http:// or https://", v)
	}
	var e endpoint
	rest := v
	if i := strings.Index(v, "://"); i >= 0 {
		s := strings.ToLower(v[:i])
		if s != "http" && s != "https" {
			return endpoint{}, fmt.Errorf("%q: scheme %q is not http or https", v, v[:i])
		}
		e.scheme, rest = v[:i+3], v[i+3:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if path := rest[i:]; path != "/" {
			return endpoint{}, fmt.Errorf("%q has a path (%q): give the endpoint alone, the bucket in %sBucket and a key prefix in %sPrefix",
				v, path, role, role)
		}
		rest = rest[:i]
	}
	if rest == "" || strings.ContainsAny(rest, "?#@") {
		return bad()
	}
	e.hostPort = rest
	host, port, err := net.SplitHostPort(rest)
	switch {
	case err == nil:
		if _, err := parseInt(port, 1, 65535); err != nil {
			return endpoint{}, fmt.Errorf("%q: port %q is not 1 to 65535", v, port)
		}
	case strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]"):
		host = rest[1 : len(rest)-1]
		if net.ParseIP(host) == nil {
			return bad()
		}
	case strings.Contains(rest, ":"):
		return bad()
	default:
		host = rest
	}
	if host == "" || checkHost(host) != nil {
		return bad()
	}
	e.host = host
	return e, nil
}

// withoutBucket returns e as written with its first label, the bucket,
// removed: the endpoint the user meant.
func (e endpoint) withoutBucket(bucket string) string {
	return e.scheme + e.hostPort[len(bucket)+1:]
}

// hasBucket reports whether e's host starts with the label(s) bucket, the
// classic mistake of copying a bucket's own domain name into *Domain.
func (e endpoint) hasBucket(bucket string) bool {
	return net.ParseIP(e.host) == nil && len(e.host) > len(bucket)+1 &&
		strings.EqualFold(e.host[:len(bucket)+1], bucket+".")
}

// checkBucket checks a bucket name. It refuses what minio-go, ferry's S3
// client, refuses in any bucket name (its CheckValidBucketName): fewer than
// 3 or more than 63 characters, characters other than A-Z a-z 0-9 . - _ :,
// a first or last character that is not a letter or digit, "..", ".-",
// "-.", and an IPv4 address. It returns a warning for names that pass but
// break S3's current rules (lowercase a-z 0-9 . -): uppercase, "_" and ":"
// are taken by some servers only (Amazon S3's legacy us-east-1 buckets,
// Ceph's tenant:bucket), and OSS, COS and new S3 buckets never have them.
// The server has the last word: ferry only uses existing buckets.
func checkBucket(v, role string) (warning string, err error) {
	if i := strings.IndexAny(v, `/\`); i >= 0 {
		return "", fmt.Errorf("%q has %q: give the bucket name alone and a key prefix in %sPrefix", v, v[i:i+1], role)
	}
	if len(v) < 3 || len(v) > 63 {
		return "", fmt.Errorf("%q is %d characters long (want 3 to 63)", v, len(v))
	}
	odd := ""
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-':
		case c >= 'A' && c <= 'Z' || c == '_' || c == ':':
			if odd == "" {
				odd = v[i : i+1]
			}
		default:
			return "", fmt.Errorf("%q has %q (want a-z 0-9 . -)", v, v[i:i+1])
		}
	}
	alnum := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !alnum(v[0]) || !alnum(v[len(v)-1]) {
		return "", fmt.Errorf("%q must start and end with a letter or digit", v)
	}
	for _, s := range []string{"..", ".-", "-."} {
		if strings.Contains(v, s) {
			return "", fmt.Errorf("%q has %q (not allowed in bucket names)", v, s)
		}
	}
	if isIPv4Shaped(v) {
		return "", fmt.Errorf("%q is shaped like an IP address (not allowed in bucket names)", v)
	}
	if odd != "" {
		return fmt.Sprintf("%q has %q, outside S3's bucket naming rules (a-z 0-9 . -): only some servers accept it", v, odd), nil
	}
	return "", nil
}

// isIPv4Shaped matches minio-go's test: four dot-separated runs of digits.
func isIPv4Shaped(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// checkRegion checks srcRegion/destRegion: a region name such as us-east-1
// or oss-cn-hangzhou, which goes into every request's signature.
func checkRegion(v string) error {
	if len(v) > 64 {
		return fmt.Errorf("%d characters long (want at most 64)", len(v))
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q has %q (want a region name such as us-east-1)", v, v[i:i+1])
		}
	}
	return nil
}

// checkKeyPrefix checks an object store's *Prefix: a key prefix, not a
// path, so it must not start with "/".
func checkKeyPrefix(v string) error {
	if strings.HasPrefix(v, "/") {
		return fmt.Errorf("%q starts with \"/\", which object keys do not (use %q)", v, strings.TrimLeft(v, "/"))
	}
	return nil
}

// checkAuditMode returns the audit mode v names, in lower case.
func checkAuditMode(v string) (string, error) {
	switch m := strings.ToLower(v); m {
	case "simple", "general", "detailed":
		return m, nil
	}
	return "", fmt.Errorf("%q is not an audit mode (want simple, general or detailed)%s", v, commentHint(v))
}
