package zk

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zkwire"
)

// fetchBatch is fetch for several znodes of one level, in three requests
// on one read session instead of two or three each: a multiRead of their
// data and stat, then together a multiRead of the children of those with
// children (when kids says their subtree is listed) and, unless shallow,
// a getACL of each (ZooKeeper reads no ACL in a multiRead), pipelined.
// Without a read session, or when it fails, each znode is fetched alone
// (fetch), on whichever session is left.
func (s *Store) fetchBatch(ctx context.Context, nodes []*node, kids func(key string) bool, shallow bool) {
	c := s.reader()
	alone := func(ns []*node) {
		for _, n := range ns {
			go s.fetch(ctx, n, kids(n.key), shallow)
		}
	}
	if c == nil {
		alone(nodes)
		return
	}
	reads := make([]zkwire.Read, len(nodes))
	for i, n := range nodes {
		reads[i].Path = n.path
	}
	if err := wait(ctx, c.GoMultiRead(reads)); err != nil {
		if ctx.Err() != nil {
			for _, n := range nodes {
				n.err = ctx.Err()
				close(n.done)
			}
			return
		}
		alone(nodes)
		return
	}
	acls := make([][]zk.ACL, len(nodes))
	astats := make([]zk.Stat, len(nodes))
	aclCalls := make([]*zkwire.Call, len(nodes))
	var kidReads []zkwire.Read
	var kidOf []int
	ok := make([]bool, len(nodes)) // read, and waiting for its ACL or children
	for i, n := range nodes {
		r := &reads[i]
		switch {
		case errors.Is(r.Err, zk.ErrNoNode):
			n.gone = true
		case errors.Is(r.Err, zk.ErrNoAuth):
			n.e = unreadable(n.key, s.describe(r.Err, n.path))
		case r.Err != nil:
			n.err = s.describe(r.Err, n.path)
		case r.Stat.EphemeralOwner != 0:
			n.e = entryOf(n.key, &r.Stat, nil, nil)
		default:
			ok[i] = true
			if !shallow { // spread over the read sessions: each carries some 14,000 a second
				ac := s.reader()
				if ac == nil {
					ac = c
				}
				aclCalls[i] = ac.GoGetACL(n.path, &acls[i], &astats[i])
			}
			if r.Stat.NumChildren > 0 && kids(n.key) {
				kidReads = append(kidReads, zkwire.Read{Path: n.path, Children: true})
				kidOf = append(kidOf, i)
			}
			continue
		}
		close(n.done)
	}
	var kidCall *zkwire.Call
	if len(kidReads) > 0 {
		kidCall = c.GoMultiRead(kidReads)
	}
	var again []*node // to fetch alone: the session failed under them
	kidErr := error(nil)
	if kidCall != nil {
		kidErr = wait(ctx, kidCall)
	}
	said := make([]bool, len(nodes)) // the children's read settled the node
	listed := make([]bool, len(nodes))
	for j, i := range kidOf {
		n := nodes[i]
		switch r := kidReads[j]; {
		case kidErr != nil:
			continue
		case errors.Is(r.Err, zk.ErrNoNode):
			n.gone = true
		case errors.Is(r.Err, zk.ErrNoAuth):
			n.e = unreadable(n.key, fmt.Errorf("znode %s: its children cannot be listed as %s (its ACL does not allow READ)", n.path, s.identity()))
		case r.Err != nil:
			n.err = s.describe(r.Err, n.path)
		default:
			n.kids = r.Names
			listed[i] = true
			continue
		}
		said[i] = true
	}
	for i, n := range nodes {
		if !ok[i] {
			continue
		}
		var aclErr error
		if aclCalls[i] != nil {
			aclErr = wait(ctx, aclCalls[i])
		}
		switch {
		case ctx.Err() != nil:
			n.err = ctx.Err()
		case (kidErr != nil && !said[i] && !listed[i] && reads[i].Stat.NumChildren > 0 && kids(n.key)) ||
			(aclErr != nil && (transient(aclErr) || errors.Is(aclErr, zk.ErrClosing))):
			n.gone, n.err, n.kids = false, nil, nil
			again = append(again, n)
			continue
		case said[i]:
		case errors.Is(aclErr, zk.ErrNoNode):
			n.gone = true
		case errors.Is(aclErr, zk.ErrNoAuth):
			n.e = unreadable(n.key, s.describe(aclErr, n.path))
		case aclErr != nil:
			n.err = s.describe(aclErr, n.path)
		default:
			n.e = entryOf(n.key, &reads[i].Stat, reads[i].Data, acls[i])
			if shallow {
				delete(n.e.Meta, MetaACL)
			}
		}
		close(n.done)
	}
	alone(again)
}
