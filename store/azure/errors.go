package azure

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"ferry/store"
)

// classify turns an error of the SDK into one line that says, with the
// store sentinels and store.Transient/Permanent, what it means and whether
// to try again. The SDK's own messages span lines and hold the request
// URL: only the status and Azure's error code are kept. key names the blob
// ("" for the container).
func (a *Azure) classify(key string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return classifyTransport(err)
	}
	role, code, st := a.cfg.Role, re.ErrorCode, re.StatusCode
	if code == "" {
		code = http.StatusText(st)
	}
	switch code {
	case "BlobNotFound":
		return store.Permanent(fmt.Errorf("%w (%s)", store.ErrNotExist, code))
	case "ContainerNotFound":
		return store.Permanent(fmt.Errorf("%w: %s does not exist (%s): check %sBucket", store.ErrNotExist, a.where, code, role))
	case "AuthenticationFailed", "InvalidAuthenticationInfo", "AuthorizationFailure":
		// Azure says AuthenticationFailed for a wrong key; Azurite, and
		// Azure for a network rule, AuthorizationFailure.
		return store.Permanent(fmt.Errorf("%w: %s: the request is refused (%s, HTTP %d): check %sSecretKey (the account key) and %sAccessKey (the account name)",
			store.ErrPermission, a.where, code, st, role, role))
	case "AccountIsDisabled", "AuthorizationPermissionMismatch", "InsufficientAccountPermissions":
		return store.Permanent(fmt.Errorf("%w: %s: access denied (%s, HTTP %d)", store.ErrPermission, a.where, code, st))
	case "ConditionNotMet":
		return store.Permanent(fmt.Errorf("blob changed while it was read (%s, HTTP %d)", code, st))
	case "InvalidResourceName", "InvalidUri":
		return store.Permanent(fmt.Errorf("%w: Azure refuses the name (%s, HTTP %d)", store.ErrInvalidKey, code, st))
	case "Md5Mismatch", "InvalidMd5", "Crc64Mismatch", "InvalidBlockList":
		// The body arrived different from what was sent, or a block of
		// it was lost: send it again.
		return store.Transient(fmt.Errorf("body corrupted in transit (%s, HTTP %d)", code, st))
	case "ServerBusy", "OperationTimedOut", "InternalError":
		return store.Transient(fmt.Errorf("Azure is busy or failed (%s, HTTP %d)", code, st))
	}
	switch {
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500:
		return store.Transient(fmt.Errorf("%s (HTTP %d)", code, st))
	case st == http.StatusNotFound && key != "":
		return store.Permanent(fmt.Errorf("%w (%s, HTTP 404)", store.ErrNotExist, code))
	case st == http.StatusNotFound:
		return store.Permanent(fmt.Errorf("%w: %s: %s (HTTP 404): check %sDomain and %sBucket", store.ErrNotExist, a.where, code, role, role))
	case st == http.StatusForbidden:
		return store.Permanent(fmt.Errorf("%w: %s: %s (HTTP 403)", store.ErrPermission, a.where, code))
	case st == http.StatusPreconditionFailed:
		return store.Permanent(fmt.Errorf("blob changed while it was read (%s, HTTP 412)", code))
	}
	return store.Permanent(fmt.Errorf("%s (HTTP %d)", code, st))
}

// classifyTransport classifies an error that is not an answer of Azure: a
// request cut, reset or timed out is worth trying again; a TLS failure or
// an invalid request is not.
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
		strings.Contains(err.Error(), "unsupported protocol scheme") || strings.Contains(err.Error(), "no such host") {
		return store.Permanent(err)
	}
	return store.Transient(err)
}
