package conf

import (
	"fmt"
	"strings"
)

// Checks of the sides of a job on Azure Blob Storage (azure) and Upyun
// (youpai). ossimport's keys keep their meaning there: for azure the
// storage account's name in *AccessKey, its key in *SecretKey, the
// container in *Bucket, and in *Domain the EndpointSuffix of the account's
// connection string (or the connection string's endpoint settings, or a
// blob service URL); for youpai the operator in *AccessKey, its password
// in *SecretKey, the service name in *Bucket, the API endpoint in
// *Domain. Their *Domain is checked by the store when the job is
// submitted or run (its forms are the store's to know).

// IsRemoteStore reports whether a srcType or destType value names a store
// reached with the *Domain, *Bucket, *AccessKey and *SecretKey keys: the
// S3-protocol object stores (IsObjectStore), azure and youpai.
func IsRemoteStore(typ string) bool {
	return IsObjectStore(typ) || typ == "azure" || typ == "youpai"
}

// checkOther checks an azure or youpai side of a job; role is "src" or
// "dest". Messages never quote the secret.
func checkOther(d *decoder, role, typ, bucket, prefix, accessKey string, secretKey Secret) error {
	typeKey, bucketKey, prefixKey := role+"Type", role+"Bucket", role+"Prefix"
	what := map[string][3]string{
		"azure":  {"the container", "the storage account name", "the account key"},
		"youpai": {"the service name", "the operator", "the operator's password"},
	}[typ]
	required := func(key, meaning string) error {
		return errAt(d.file, d.line(key), key, fmt.Sprintf("required with %s=%s (%s), not set", typeKey, typ, meaning))
	}
	switch {
	case bucket == "":
		return required(bucketKey, what[0])
	case accessKey == "":
		return required(role+"AccessKey", what[1])
	case secretKey == "":
		return required(role+"SecretKey", what[2])
	}
	if typ == "azure" {
		if msg := containerProblem(bucket); msg != "" {
			return errAt(d.file, d.line(bucketKey), bucketKey, msg)
		}
	} else if strings.ContainsAny(bucket, "/\\?#% ") {
		return errAt(d.file, d.line(bucketKey), bucketKey, fmt.Sprintf("%q is not a service name: give the name alone and a path in %s", bucket, prefixKey))
	}
	if err := checkKeyPrefix(prefix); err != nil {
		return errAt(d.file, d.line(prefixKey), prefixKey, err.Error())
	}
	return nil
}

// containerProblem says what is wrong with an Azure container name (3 to
// 63 of a-z 0-9 -, starting with a letter or digit, no "--"), or "".
func containerProblem(v string) string {
	if i := strings.IndexAny(v, `/\`); i >= 0 {
		return fmt.Sprintf("%q has %q: give the container name alone and a blob prefix in the Prefix key", v, v[i:i+1])
	}
	if len(v) < 3 || len(v) > 63 {
		return fmt.Sprintf("%q is %d characters long (an Azure container name has 3 to 63)", v, len(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Sprintf("%q has %q (an Azure container name has a-z 0-9 -)", v, v[i:i+1])
		}
	}
	if v[0] == '-' || v[len(v)-1] == '-' || strings.Contains(v, "--") {
		return fmt.Sprintf("%q: an Azure container name starts and ends with a letter or digit and has no \"--\"", v)
	}
	return ""
}
