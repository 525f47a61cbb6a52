package s3

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store"
)

// classify turns an error of minio-go into one that says, with the store
// sentinels and store.Transient/Permanent, what it means and whether to try
// again; the classic mistakes get a message saying what to fix. key names
// the object ("" for the bucket).
func (s *S3) classify(key string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	role := s.cfg.Role
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return classifyTransport(err)
	}
	code := er.Code
	switch code {
	case "NoSuchKey":
		return store.Permanent(fmt.Errorf("%w (%s)", store.ErrNotExist, code))
	case "NoSuchUpload":
		return store.Permanent(fmt.Errorf("%w: no such multipart upload (%s)", store.ErrNotExist, code))
	case "NoSuchBucket":
		return store.Permanent(fmt.Errorf("%w: %s does not exist (%s): check %sBucket, and that %sDomain is the endpoint of the bucket's region%s",
			store.ErrNotExist, s.where, code, role, role, s.providerHint()))
	case "InvalidAccessKeyId":
		return store.Permanent(fmt.Errorf("%w: %s: the server does not know the access key (%s): check %sAccessKey%s",
			store.ErrPermission, s.where, code, role, s.providerHint()))
	case "SignatureDoesNotMatch":
		return store.Permanent(fmt.Errorf("%w: %s: the request signature does not match (%s): check %sSecretKey (and %sAccessKey)",
			store.ErrPermission, s.where, code, role, role))
	case "RequestTimeTooSkewed":
		return store.Permanent(fmt.Errorf("%s: the server refuses requests from a clock this far off (%s): %s; fix the local clock (NTP)",
			s.where, code, s.skewText()))
	case "AccessDenied", "AllAccessDisabled", "AccountProblem":
		return store.Permanent(fmt.Errorf("%w: %s: access denied (%s): check the permissions of %sAccessKey on the bucket",
			store.ErrPermission, s.where, code, role))
	case "KeyTooLongError", "InvalidObjectName":
		return store.Permanent(fmt.Errorf("%w: %s (%s)", store.ErrInvalidKey, er.Message, code))
	case "BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody", "InvalidDigest":
		// The body arrived different from what was sent: send it again.
		return store.Transient(fmt.Errorf("body corrupted in transit: %s (%s)", er.Message, code))
	case "SlowDown", "SlowDownRead", "SlowDownWrite", "InternalError", "RequestTimeout", "ServiceUnavailable",
		"Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled", "TooManyRequests":
		return store.Transient(fmt.Errorf("%s (%s, HTTP %d)", er.Message, code, er.StatusCode))
	}
	switch st := er.StatusCode; {
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500:
		return store.Transient(fmt.Errorf("%s (%s, HTTP %d)", er.Message, code, st))
	case st == http.StatusNotFound && key != "":
		return store.Permanent(fmt.Errorf("%w (HTTP 404)", store.ErrNotExist))
	case st == http.StatusForbidden:
		return store.Permanent(fmt.Errorf("%w: %s: %s (%s, HTTP 403)", store.ErrPermission, s.where, er.Message, code))
	}
	return store.Permanent(fmt.Errorf("%s (%s, HTTP %d)", er.Message, code, er.StatusCode))
}

// classifyTransport classifies an error that is not an S3 error response:
// a request that failed on the way (cut, reset, timed out) is worth trying
// again; a TLS failure or an invalid request is not.
func classifyTransport(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err // store.IsRetryable judges (resets, truncated bodies, timeouts)
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) ||
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") ||
		strings.Contains(err.Error(), "unsupported protocol scheme") {
		return store.Permanent(err)
	}
	return store.Transient(err)
}

// skewText says how far the local clock is off, as far as the last
// response's Date header tells.
func (s *S3) skewText() string {
	d := s.tr.clockSkew()
	switch {
	case d > time.Second:
		return fmt.Sprintf("the local clock is about %v ahead of the server's", d)
	case d < -time.Second:
		return fmt.Sprintf("the local clock is about %v behind the server's", -d)
	}
	return "the server did not say its time"
}

// providerHint gives the form of a provider's endpoints.
func (s *S3) providerHint() string {
	switch strings.ToLower(s.cfg.Provider) {
	case "oss":
		return " (OSS endpoints look like oss-cn-hangzhou.aliyuncs.com)"
	case "cos":
		return " (COS endpoints look like cos.ap-guangzhou.myqcloud.com)"
	case "bos":
		return " (BOS endpoints look like s3.bj.bcebos.com)"
	case "ks3":
		return " (KS3 endpoints look like ks3-cn-beijing.ksyuncs.com)"
	case "qiniu":
		return " (Qiniu endpoints look like s3.cn-east-1.qiniucs.com)"
	case "s3":
		return " (AWS endpoints look like s3.us-west-2.amazonaws.com)"
	}
	return ""
}
