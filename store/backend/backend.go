// Package backend opens the store a job names (srcType/destType plus
// prefix), so the master and workers need not know every backend.
package backend

import (
	"context"
	"fmt"
	"os"
	"time"

	"ferry/store"
	"ferry/store/azure"
	httpstore "ferry/store/http"
	"ferry/store/keylist"
	"ferry/store/local"
	"ferry/store/s3"
	"ferry/store/upyun"
	zkstore "ferry/store/zk"
)

// Options carry what opening a store may need beyond type and prefix.
type Options struct {
	FollowSymlinks bool

	// Object stores (types s3, oss, cos, bos, ks3, qiniu, azure, youpai):
	// job.cfg's *Domain, *Bucket, *AccessKey and *SecretKey (for azure the
	// account name and key, the container; for youpai the operator, its
	// password, the service); Region and PathStyle are ferry keys of the
	// S3 ones. The prefix is the store's root in the bucket.
	Domain, Bucket, AccessKey, SecretKey, Region string
	PathStyle                                    bool
	// PutThreshold and PartSize are multipartUploadThreshold and
	// multipartUploadPartSize (0: the backend's defaults).
	PutThreshold, PartSize int64

	// http sources: httpListFilePath, httpPrefixColumn, relativePathColumn,
	// httpFollowRedirects.
	HTTPListFile                         string
	HTTPPrefixColumn, RelativePathColumn int
	HTTPFollowRedirects                  bool

	// ListFile is srcListFile: a source is listed from it (store/keylist)
	// instead of by its own listing, and an object store is then probed
	// without a listing request.
	ListFile string

	// Local sources: scanThreadCount and maxMultiThreadScanDepth (see
	// local.Options).
	ScanThreads, ScanDepth int

	// Timeouts are the deadlines of network stores (http, object
	// stores); zero fields mean store's defaults, or TimeoutEnv's value.
	Timeouts store.Timeouts
}

// TimeoutEnv is an environment variable for tests: a duration ("2s") that,
// when set, replaces the default response-header and idle-read deadlines
// of the network stores (store.DefaultHeaderTimeout and
// store.DefaultIdleTimeout), so that tests with servers that stall end in
// seconds. It is not meant for production: set no such thing there.
const TimeoutEnv = "FERRY_NET_IDLE_TIMEOUT"

// RetryBaseEnv is an environment variable for tests: a duration ("1ms")
// that, when set, replaces the delay before the first retry of the
// network stores (store.DefaultRetry.Base; the attempts stay 10), so that
// tests where every attempt times out end in seconds. Not for production.
const RetryBaseEnv = "FERRY_NET_RETRY_BASE"

// retryBase returns RetryBaseEnv's duration, or 0.
func retryBase() time.Duration {
	d, err := time.ParseDuration(os.Getenv(RetryBaseEnv))
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

// timeouts returns opt.Timeouts with TimeoutEnv applied to the fields
// left zero.
func (opt Options) timeouts() store.Timeouts {
	t := opt.Timeouts
	if d, err := time.ParseDuration(os.Getenv(TimeoutEnv)); err == nil && d > 0 {
		if t.Header == 0 {
			t.Header = d
		}
		if t.Idle == 0 {
			t.Idle = d
		}
	}
	return t
}

// objectTypes are the srcType/destType values served by store/s3.
var objectTypes = map[string]bool{"s3": true, "oss": true, "cos": true, "bos": true, "ks3": true, "qiniu": true}

// Source opens a job's source for listing and reading; with
// opt.ListFile, listed from that list.
func Source(typ, prefix string, opt Options) (store.Store, error) {
	s, err := source(typ, prefix, opt)
	if err != nil || opt.ListFile == "" {
		return s, err
	}
	cfg := keylist.Config{File: opt.ListFile, Prefix: prefix}
	if objectTypes[typ] {
		cfg.Bucket = opt.Bucket
	} else {
		cfg.Prefix = "" // an inventory of a bucket lists its whole keys
	}
	return keylist.Wrap(s, cfg), nil
}

func source(typ, prefix string, opt Options) (store.Store, error) {
	switch {
	case typ == "local":
		return local.New(prefix, local.Options{FollowSymlinks: opt.FollowSymlinks, ScanThreads: opt.ScanThreads, ScanDepth: opt.ScanDepth})
	case typ == "http":
		h, err := httpstore.New(opt.HTTPListFile, opt.HTTPPrefixColumn, opt.RelativePathColumn, opt.timeouts())
		if err != nil {
			return nil, err
		}
		h.SetFollowRedirects(opt.HTTPFollowRedirects)
		if d := retryBase(); d > 0 {
			p := store.DefaultRetry
			p.Base = d
			h.SetRetry(p)
		}
		return h, nil
	case objectTypes[typ]:
		cfg := objectConfig("src", typ, prefix, opt)
		cfg.NoList = opt.ListFile != ""
		return s3.New(context.Background(), cfg)
	case typ == "azure":
		return azure.New(context.Background(), azureConfig("src", prefix, opt))
	case typ == "youpai":
		return upyun.New(context.Background(), upyun.Config{Endpoint: opt.Domain, Operator: opt.AccessKey,
			Password: opt.SecretKey, Bucket: opt.Bucket, Prefix: prefix, Role: "src", Timeouts: opt.timeouts(), RetryBase: retryBase()})
	case typ == "zk":
		return zkstore.New(context.Background(), zkConfig("src", prefix, opt))
	}
	return nil, fmt.Errorf("source type %q is not supported yet", typ)
}

// Dest opens a job's destination for writing, creating a local root. An
// empty type is "oss", as in ossimport.
func Dest(typ, prefix string, opt Options) (store.Store, error) {
	switch {
	case typ == "local":
		return local.New(prefix, local.Options{Create: true})
	case typ == "":
		typ = "oss"
		fallthrough
	case objectTypes[typ]:
		return s3.New(context.Background(), objectConfig("dest", typ, prefix, opt))
	case typ == "azure":
		return azure.New(context.Background(), azureConfig("dest", prefix, opt))
	case typ == "zk":
		return zkstore.New(context.Background(), zkConfig("dest", prefix, opt))
	}
	return nil, fmt.Errorf("destination type %q is not supported yet", typ)
}

func azureConfig(role, prefix string, opt Options) azure.Config {
	return azure.Config{Domain: opt.Domain, Account: opt.AccessKey, Key: opt.SecretKey, Container: opt.Bucket, Prefix: prefix,
		Role: role, Timeouts: opt.timeouts(), RetryBase: retryBase(), PutThreshold: opt.PutThreshold, BlockSize: opt.PartSize}
}

func objectConfig(role, typ, prefix string, opt Options) s3.Config {
	return s3.Config{Endpoint: opt.Domain, Bucket: opt.Bucket, Prefix: prefix, AccessKey: opt.AccessKey,
		SecretKey: opt.SecretKey, Region: opt.Region, PathStyle: opt.PathStyle, Provider: typ, Role: role,
		PutThreshold: opt.PutThreshold, PartSize: opt.PartSize, Timeouts: opt.timeouts(), RetryBase: retryBase()}
}

// ZKSessionEnv is an environment variable for tests: a duration ("4s")
// that, when set, is the ZooKeeper session timeout ferry asks for and the
// wait for a first session, so that tests of lost sessions and
// unreachable ensembles end in seconds. Not for production.
const ZKSessionEnv = "FERRY_ZK_SESSION_TIMEOUT"

// zkConfig is the configuration of a zk store: Domain is the connect
// string, AccessKey and SecretKey the digest user and password.
func zkConfig(role, prefix string, opt Options) zkstore.Config {
	c := zkstore.Config{Connect: opt.Domain, Prefix: prefix, User: opt.AccessKey, Password: opt.SecretKey, Role: role}
	if d, err := time.ParseDuration(os.Getenv(ZKSessionEnv)); err == nil && d > 0 {
		c.SessionTimeout, c.ConnectTimeout = d, d
	}
	if d := retryBase(); d > 0 {
		c.Retry = store.DefaultRetry
		c.Retry.Base = d
	}
	return c
}
