package upyun

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"ferry/store"
)

// apiError is the JSON body of an Upyun error answer.
type apiError struct {
	Msg  string `json:"msg"`
	Code int    `json:"code"`
	ID   string `json:"id"`
}

// statusError classifies an answer that is not 2xx, in one line: 404 is
// store.ErrNotExist, 401 and 403 store.ErrPermission (naming the keys to
// check), 429 and 5xx are worth retrying, the rest not.
func (s *Upyun) statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var ae apiError
	msg := ""
	if json.Unmarshal(b, &ae) == nil && ae.Msg != "" {
		msg = ae.Msg
		if ae.Code != 0 {
			msg = fmt.Sprintf("%s, code %d", msg, ae.Code)
		}
	} else if t := strings.TrimSpace(string(b)); t != "" && !strings.ContainsAny(t, "\n<") && len(t) < 200 {
		msg = t
	} else {
		msg = http.StatusText(resp.StatusCode)
	}
	role, st := s.cfg.Role, resp.StatusCode
	switch {
	case st == http.StatusNotFound:
		return store.Permanent(fmt.Errorf("%w (%s, HTTP 404)", store.ErrNotExist, msg))
	case st == http.StatusUnauthorized && strings.Contains(strings.ToLower(msg), "date"):
		return store.Permanent(fmt.Errorf("%w: %s: the server refuses the request's date (%s, HTTP 401): fix the local clock (NTP)",
			store.ErrPermission, s.where, msg))
	case st == http.StatusUnauthorized:
		return store.Permanent(fmt.Errorf("%w: %s: the signature is refused (%s, HTTP 401): check %sAccessKey (the operator) and %sSecretKey (its password)",
			store.ErrPermission, s.where, msg, role, role))
	case st == http.StatusForbidden:
		return store.Permanent(fmt.Errorf("%w: %s: access denied (%s, HTTP 403): check that the operator is authorized on %sBucket",
			store.ErrPermission, s.where, msg, role))
	case st == http.StatusRequestedRangeNotSatisfiable:
		return errRange
	case st == http.StatusTooManyRequests || st == http.StatusRequestTimeout || st >= 500:
		return store.Transient(fmt.Errorf("%s (HTTP %d)", msg, st))
	}
	return store.Permanent(fmt.Errorf("%s (HTTP %d)", msg, st))
}

// errRange is the answer to a range that starts past the end.
var errRange = store.Permanent(errors.New("range not satisfiable (HTTP 416)"))

// classifyTransport classifies an error of the HTTP client: a request cut,
// reset or timed out is worth trying again; a TLS failure, an unknown host
// or an invalid request is not.
func classifyTransport(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) ||
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") ||
		strings.Contains(err.Error(), "no such host") {
		return store.Permanent(err)
	}
	return store.Transient(err)
}
