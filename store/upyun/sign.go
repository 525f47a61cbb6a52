package upyun

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// Sign returns the Authorization header of a REST request, as Upyun's
// documentation defines it:
//
//	UPYUN <operator>:Base64(HMAC-SHA1(MD5hex(password), METHOD&URI&DATE[&Content-MD5]))
//
// uri is the request path as sent (escaped, starting with /<bucket>),
// date the request's Date header, contentMD5 its Content-MD5 header (left
// out of the signed string when empty).
func Sign(operator, password, method, uri, date, contentMD5 string) string {
	sum := md5.Sum([]byte(password))
	return SignWithMD5(operator, hex.EncodeToString(sum[:]), method, uri, date, contentMD5)
}

// SignWithMD5 is Sign given the password's MD5 (hex, lower case), which is
// all a client needs to keep.
func SignWithMD5(operator, passwordMD5, method, uri, date, contentMD5 string) string {
	parts := []string{method, uri, date}
	if contentMD5 != "" {
		parts = append(parts, contentMD5)
	}
	mac := hmac.New(sha1.New, []byte(passwordMD5))
	mac.Write([]byte(strings.Join(parts, "&")))
	return "UPYUN " + operator + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Date formats t as a request's Date header (RFC 1123, GMT).
func Date(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// EscapePath escapes a path for a request URI: every byte but the
// unreserved ones (A-Z a-z 0-9 - _ . ~) and '/' is percent-encoded.
func EscapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
