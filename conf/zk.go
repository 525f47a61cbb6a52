package conf

import (
	"fmt"
	"strings"
)

// ZooKeeper trees (srcType=zk, destType=zk; DESIGN.md §10): *Domain is the
// connect string, *Prefix the subtree's root znode, *AccessKey and
// *SecretKey a digest user and password when set. A tree is copied only
// to another tree: a znode's ACL and counter have no place in a file.

// zkKeys are the keys a zk side uses beyond its type and prefix.
var zkKeys = map[string]bool{
	"srcDomain": true, "srcAccessKey": true, "srcSecretKey": true,
	"destDomain": true, "destAccessKey": true, "destSecretKey": true,
}

// checkZK checks the zk sides of a job.
func (j *Job) checkZK(d *decoder) error {
	src, dst := j.SrcType == "zk", j.DestType == "zk"
	if !src && !dst {
		return nil
	}
	if src != dst {
		key, other := "destType", "srcType"
		if !src {
			key, other = "srcType", "destType"
		}
		return errAt(d.file, d.line(key), key, fmt.Sprintf("must be zk when %s=zk: a ZooKeeper tree is copied to another tree (its ACLs and counters have no place elsewhere)", other))
	}
	for _, side := range []struct {
		role, domain, prefix, user string
		secret                     Secret
	}{{"src", j.SrcDomain, j.SrcPrefix, j.SrcAccessKey, j.SrcSecretKey}, {"dest", j.DestDomain, j.DestPrefix, j.DestAccessKey, j.DestSecretKey}} {
		r := side.role
		if side.domain == "" {
			return errAt(d.file, d.line(r+"Domain"), r+"Domain",
				fmt.Sprintf("required with %sType=zk, not set (the connect string, e.g. zk1:2181,zk2:2181,zk3:2181 or zk1:2181/chroot)", r))
		}
		if strings.Contains(side.domain, "://") {
			return errAt(d.file, d.line(r+"Domain"), r+"Domain",
				fmt.Sprintf("%q: a connect string is host:port[,host:port...][/chroot], without a scheme", side.domain))
		}
		if side.prefix != "" && !strings.HasPrefix(side.prefix, "/") {
			return errAt(d.file, d.line(r+"Prefix"), r+"Prefix",
				fmt.Sprintf("%q: a znode path starts with / (\"/\" or empty for the whole tree)", side.prefix))
		}
		for _, c := range strings.Split(strings.Trim(side.prefix, "/"), "/") {
			if side.prefix != "/" && side.prefix != "" && (c == "" || c == "." || c == "..") {
				return errAt(d.file, d.line(r+"Prefix"), r+"Prefix", fmt.Sprintf("%q: not a valid znode path", side.prefix))
			}
		}
		if (side.user == "") != (side.secret == "") {
			key, other := r+"SecretKey", r+"AccessKey"
			if side.user == "" {
				key, other = other, key
			}
			return errAt(d.file, d.line(key), key, fmt.Sprintf("required when %s is set (a digest user and its password)", other))
		}
	}
	if j.SrcDomain == j.DestDomain && zkOverlap(j.SrcPrefix, j.DestPrefix) {
		return errAt(d.file, d.line("destPrefix"), "destPrefix",
			fmt.Sprintf("%q overlaps srcPrefix %q on the same ensemble", j.DestPrefix, j.SrcPrefix))
	}
	for _, t := range []struct {
		key string
		set bool
	}{{"importSince", j.ImportSince != 0}, {"modifiedAfter", !j.Filter.ModifiedAfter.IsZero()}, {"modifiedBefore", !j.Filter.ModifiedBefore.IsZero()}} {
		if t.set {
			return errAt(d.file, d.line(t.key), t.key,
				"does not apply to znodes: a copy cannot keep a znode's mtime (incremental rounds compare data, ACLs and counters)")
		}
	}
	return nil
}

// zkOverlap reports whether one znode subtree contains the other.
func zkOverlap(a, b string) bool {
	a, b = "/"+strings.Trim(a, "/"), "/"+strings.Trim(b, "/")
	if a == "/" || b == "/" || a == b {
		return true
	}
	return strings.HasPrefix(a+"/", b+"/") || strings.HasPrefix(b+"/", a+"/")
}
