package azure

import (
	"fmt"
	"net/url"
	"strings"
)

// DefaultSuffix is the EndpointSuffix of Azure's global cloud.
const DefaultSuffix = "core.windows.net"

// serviceURL returns the URL of the blob service of account that domain
// (job.cfg's srcDomain or destDomain) names, and whether domain was a
// connection string. As in ossimport, domain may be the EndpointSuffix of
// the account's connection string alone (core.chinacloudapi.cn: the
// service is https://<account>.blob.<suffix>); ferry also takes the
// connection string's endpoint settings themselves
// (DefaultEndpointsProtocol=http;EndpointSuffix=...;BlobEndpoint=...;
// UseDevelopmentStorage=true, for Azurite) and a blob service URL
// (http://127.0.0.1:10000/devstoreaccount1). Empty means Azure's global
// cloud. The account key never belongs here: a connection string carrying
// AccountKey or SharedAccessSignature is refused, naming the key where it
// goes.
func serviceURL(domain, account, role string) (string, error) {
	d := strings.TrimSpace(domain)
	switch {
	case d == "":
		return "https://" + account + ".blob." + DefaultSuffix, nil
	case strings.Contains(d, "="):
		return fromConnectionString(d, account, role)
	case strings.Contains(d, "://"):
		u, err := url.Parse(d)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" {
			return "", fmt.Errorf("%sDomain %q is not a blob service URL (want http[s]://host[:port][/account])", role, d)
		}
		return strings.TrimSuffix(d, "/"), nil
	case strings.ContainsAny(d, "/?#@;: "):
		return "", fmt.Errorf("%sDomain %q is not an endpoint suffix such as %s (or a connection string, or a blob service URL)",
			role, d, DefaultSuffix)
	}
	return "https://" + account + ".blob." + strings.TrimPrefix(strings.ToLower(d), "blob."), nil
}

// fromConnectionString reads the endpoint settings of an Azure connection
// string (Name=value pairs separated by ';').
func fromConnectionString(s, account, role string) (string, error) {
	proto, suffix, blob := "https", DefaultSuffix, ""
	dev := false
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return "", fmt.Errorf("%sDomain: %q is not Name=value in a connection string", role, part)
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "defaultendpointsprotocol":
			proto = strings.ToLower(strings.TrimSpace(value))
			if proto != "http" && proto != "https" {
				return "", fmt.Errorf("%sDomain: DefaultEndpointsProtocol %q is not http or https", role, value)
			}
		case "endpointsuffix":
			suffix = strings.TrimSpace(value)
		case "blobendpoint":
			blob = strings.TrimSuffix(strings.TrimSpace(value), "/")
		case "accountname":
			if v := strings.TrimSpace(value); v != account {
				return "", fmt.Errorf("%sDomain: AccountName %q is not %sAccessKey %q (the account name goes in %sAccessKey)",
					role, v, role, account, role)
			}
		case "accountkey", "sharedaccesssignature":
			return "", fmt.Errorf("%sDomain holds %s: put the account key in %sSecretKey (it is a secret; %sDomain is not)",
				role, name, role, role)
		case "usedevelopmentstorage":
			dev = strings.EqualFold(strings.TrimSpace(value), "true")
		case "queueendpoint", "tableendpoint", "fileendpoint", "developmentstorageproxyuri":
			// other services' endpoints: not used
		default:
			return "", fmt.Errorf("%sDomain: %q is not a setting of an Azure connection string", role, name)
		}
	}
	switch {
	case blob != "":
		u, err := url.Parse(blob)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "", fmt.Errorf("%sDomain: BlobEndpoint %q is not an http(s) URL", role, blob)
		}
		return blob, nil
	case dev:
		return "http://127.0.0.1:10000/" + account, nil
	}
	return proto + "://" + account + ".blob." + suffix, nil
}
