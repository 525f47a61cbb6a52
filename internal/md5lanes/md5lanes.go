// Package md5lanes hashes many MD5 streams side by side on one core.
//
// A migration to S3 sends every byte with its MD5 (Content-MD5), and MD5 is
// a serial hash: crypto/md5 does about 0.5 GB/s per core, which on a small
// machine is most of the client's CPU. github.com/minio/md5-simd runs up to
// 16 independent MD5 streams at once in the lanes of AVX-512 registers (8
// with AVX2; crypto/md5 without either), so parts hashed at the same time
// cost a fraction of a core each. One stream alone gains nothing, so
// callers hash parts concurrently (store/local's PartDigests) and use
// crypto/md5 for small bodies, where handing blocks to the server costs
// more than it saves.
package md5lanes

import (
	"hash"
	"sync"

	md5simd "github.com/minio/md5-simd"
)

// Hash is an MD5 hash.Hash whose blocks are hashed in the process's shared
// lanes. Close it when done; it cannot be used after.
type Hash interface {
	hash.Hash
	Close()
}

var (
	once sync.Once
	srv  md5simd.Server
)

// New returns a hash in the process's lanes. The server behind them starts
// on first use and lives as long as the process; it idles when nothing is
// hashed.
func New() Hash {
	once.Do(func() { srv = md5simd.NewServer() })
	return srv.NewHash()
}
