package state

import (
	bolt "go.etcd.io/bbolt"
)

// Large values (a task's manifest, a held audit directory: tens of KiB
// each) live in a bucket of their own, under a key in their parent, rather
// than as the parent's values. bbolt keeps values inline in leaf nodes and
// splits no node of four keys or fewer, so a leaf of the manifests bucket
// held two to four manifests: adding one, or deleting one on completion,
// rewrote (and allocated a buffer for) the others in its leaf. A value in a
// bucket of its own is written once, when put, and its pages are freed
// without a copy when dropped; the parent's leaf holds only bucket headers.
//
// Databases written before this layout hold such values directly; the
// readers below take either form, and a put or drop replaces either.

// keyBig is the key of the value inside its own bucket.
var keyBig = []byte("v")

// putBig stores v under k in parent, in a bucket of its own.
func putBig(parent *bolt.Bucket, k, v []byte) error {
	if parent.Get(k) != nil { // the older layout: a value, not a bucket
		if err := parent.Delete(k); err != nil {
			return err
		}
	}
	b, err := parent.CreateBucketIfNotExists(k)
	if err != nil {
		return err
	}
	return b.Put(keyBig, v)
}

// getBig returns the value under k in parent (nil if none): bbolt's memory,
// valid only in the transaction.
func getBig(parent *bolt.Bucket, k []byte) []byte {
	if b := parent.Bucket(k); b != nil {
		return b.Get(keyBig)
	}
	return parent.Get(k)
}

// dropBig deletes the value under k in parent, if any.
func dropBig(parent *bolt.Bucket, k []byte) error {
	if parent.Bucket(k) != nil {
		return parent.DeleteBucket(k)
	}
	return parent.Delete(k)
}

// forEachBig calls fn with each key of parent and its value, in key order.
func forEachBig(parent *bolt.Bucket, fn func(k, v []byte) error) error {
	return parent.ForEach(func(k, v []byte) error {
		if v == nil { // a bucket: the value is inside
			if b := parent.Bucket(k); b != nil {
				v = b.Get(keyBig)
			}
		}
		return fn(k, v)
	})
}
