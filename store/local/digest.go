package local

import (
	"context"
	"crypto/md5"
	"fmt"
	"hash"

	"ferry/internal/md5lanes"
	"ferry/store"
)

const (
	// digestStreams is how many parts of one file PartDigests reads at
	// once: enough to fill MD5 lanes with a single file, few enough that
	// a disk serves them as sequential streams.
	digestStreams = 8
	// mapWindow is the most bytes of a file mapped at once.
	mapWindow = 8 << 20
	// laneMin: shorter parts are hashed by crypto/md5 (see md5lanes).
	laneMin = 1 << 20
)

// digestSlots bounds the parts digested at once in the process, whatever
// the number of files: md5lanes hashes 16 streams at a time, and each
// stream holds a map window of up to mapWindow bytes.
var digestSlots = make(chan struct{}, 16)

// PartDigests implements store.PartDigester: digestStreams parts at a time,
// their MD5s hashed side by side. On Linux the parts are read through
// read-only shared maps of the file (digest_linux.go); elsewhere with
// pread.
//
// Reading the file first is worth it only when the second read (the
// upload's) finds it in the page cache. So on Linux a file on a network
// file system (NFS, SMB, FUSE...: a second read is a second transfer,
// unthrottled) or larger than an eighth of the machine's memory is refused
// with an error, and its parts are hashed as they are sent. The portable
// implementation cannot tell, and reads every file.
func (l *Local) PartDigests(ctx context.Context, key string, partSize int64) ([]store.PartDigest, int64, error) {
	if partSize <= 0 {
		return nil, 0, fmt.Errorf("part digests %q: part size %d", key, partSize)
	}
	return l.partDigests(ctx, key, partSize)
}

// takeDigestSlot waits for one of digestSlots; the caller gives it back
// with <-digestSlots.
func takeDigestSlot(ctx context.Context) error {
	select {
	case digestSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// partHash returns the MD5 hash for a part of n bytes, and a function
// that releases it.
func partHash(n int64) (hash.Hash, func()) {
	if n >= laneMin {
		lh := md5lanes.New()
		return lh, func() { lh.Close() }
	}
	return md5.New(), func() {}
}
