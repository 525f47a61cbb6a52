package worker

import (
	"errors"

	"ferry/store"
	"ferry/task"
)

// Server-side copies. When the source and the destination are on one
// server under one access key (store.SameServer), an entry is copied by
// the destination's server (store.ServerCopier) and its bytes never pass
// through the worker: the source is only looked at (a HEAD), never opened.
// A server that refuses (the credentials may not copy into the bucket, or
// it has no such copy) makes the entry go the usual way, streamed. Either
// way the audit line says how it went: "copy=server" or "copy=stream".

// serverSide reports whether the entry can be copied on the server.
func (x *transfer) serverSide() bool {
	sf, df := x.st.srcF, x.st.dstF
	if sf.CopySource == nil || df.ServerCopy == nil || df.CopySource == nil || x.t.x.audit {
		return false
	}
	return store.SameServer(sf.CopySource(x.e.Key), df.CopySource(x.e.Key))
}

// putServer copies the entry on the server. What verify judges of it is
// the source's size and CRC64 as stated when looked at (its CRC64 when
// known), and what the destination says landed.
func (x *transfer) putServer() error {
	b := x.before
	src := x.st.srcF.CopySource(x.e.Key)
	src.ETag = b.ETag // the version looked at, and no other
	e := store.Entry{Key: x.e.Key, Size: b.Size, MTime: b.MTime, Meta: b.Meta, CRC64: b.CRC64, HasCRC: b.HasCRC}
	opt := store.MultipartOptions{PartSize: x.t.lease.Spec.Multipart.PartSize, Threads: x.t.lease.Spec.Multipart.Threads}
	// maxRequestsPerSecond counts each request the copy makes: the copy
	// and the look at what landed, or, in parts, the upload's creation,
	// its parts and its completion besides.
	for range serverCopyRequests(b.Size, x.t.x.mpThreshold, opt.PartSize) {
		if err := x.wait(); err != nil {
			return fail(task.WriteError, err)
		}
	}
	landed, err := x.st.dstF.ServerCopy(x.ctx, x.e.Key, src, b.Size, e, x.t.x.mpThreshold, opt)
	if err != nil {
		switch {
		case errors.Is(err, store.ErrCopyRefused):
			return err
		case errors.Is(err, store.ErrInvalidKey):
			return fail(task.InvalidKey, err)
		case errors.Is(err, store.ErrNotExist):
			return fail(task.SourceMissing, err)
		}
		return fail(task.WriteError, err)
	}
	x.t.bytes.Add(b.Size)
	x.inFlight = b.Size
	x.server = true
	x.landed = landed
	x.read, x.crc, x.hasCRC, x.crcOf = b.Size, b.CRC64, b.HasCRC, "source"
	return nil
}

// serverCopyRequests is how many requests a server-side copy of size bytes
// makes: a copy and a HEAD below threshold; else a creation, a copy per
// part of partSize (a store's default when 0, at least S3's 5 MiB), a
// completion and a HEAD.
func serverCopyRequests(size, threshold, partSize int64) int {
	if size < max(threshold, 1) {
		return 2
	}
	partSize = max(partSize, 5<<20)
	return 3 + int((size+partSize-1)/partSize)
}
