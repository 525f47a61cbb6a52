package s3test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// sigV4 refuses requests that are not signed with one of its keys, as S3
// does: InvalidAccessKeyId for an unknown access key, SignatureDoesNotMatch
// for a signature made with another secret. It is written from AWS's
// Signature Version 4 specification, independently of the client's signer.
//
// It checks the signature of the request (method, path, query, signed
// headers and the declared payload hash). It does not check the declared
// payload hash against the body, nor the per-chunk signatures of
// "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" bodies: body integrity is what
// Content-MD5 is for, and gofakes3 checks that.
//
// Like S3, it refuses requests whose X-Amz-Date is more than 15 minutes
// off its clock with RequestTimeTooSkewed.
type sigV4 struct {
	keys  map[string]string // access key -> secret
	clock *skewedClock
	next  http.Handler
}

// maxSkew is how far off S3 lets a request's time be.
const maxSkew = 15 * time.Minute

func (s *sigV4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat)) // the server's clock, skewed or not
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		writeError(w, r, http.StatusForbidden, "AccessDenied", "Anonymous access is denied (s3test wants AWS4-HMAC-SHA256).")
		return
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(auth[len(algo):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		writeError(w, r, http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
		return
	}
	secret, ok := s.keys[cred[0]]
	if !ok {
		writeError(w, r, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
		return
	}
	want := signature(r, secret, cred[1:], strings.Split(fields["SignedHeaders"], ";"))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		writeError(w, r, http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	}
	if at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date")); err == nil {
		if d := s.clock.Now().Sub(at); d > maxSkew || d < -maxSkew {
			writeError(w, r, http.StatusForbidden, "RequestTimeTooSkewed",
				"The difference between the request time and the server's time is too large.")
			return
		}
	}
	s.next.ServeHTTP(w, r)
}

// signature computes the hex signature of r for the credential scope
// (date, region, service, "aws4_request") and the signed header names.
func signature(r *http.Request, secret string, scope, signed []string) string {
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(uriEncode(r.URL.Path, false) + "\n")
	canon.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		default:
			vals := r.Header.Values(h)
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		canon.WriteString(h + ":" + v + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n")
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = "UNSIGNED-PAYLOAD"
	}
	canon.WriteString(payload)

	sum := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" +
		strings.Join(scope, "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, part := range scope {
		key = hmacSHA256(key, part)
	}
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalQuery sorts the query by name, encoding names and values.
func canonicalQuery(raw string) string {
	q, _ := url.ParseQuery(raw)
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		for _, v := range q[k] {
			parts = append(parts, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	return strings.Join(parts, "&")
}

// uriEncode percent-encodes every byte but the unreserved characters
// A-Z a-z 0-9 - _ . ~ (and '/', unless slash is set).
func uriEncode(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !slash:
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}
