package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zkwire"
)

// The exact copier is the second ceiling of the znode workload (issue
// 18): the fastest plain copier this bench knows that copies what ferry
// copies, built from internal/zkwire and go-zookeeper alone, without
// ferry's engine. It lists the source tree level by level (multiRead of
// data, then of children), reads every znode's ACL (one getACL each,
// pipelined, spread over exactReaders connections: ZooKeeper 3.8 has no
// batched ACL read), and writes the znodes with their data and exact ACL
// into a fresh destination subtree in multi-op transactions of 1,000, two
// in flight, checking each operation's answer. Reads and writes overlap:
// a transaction is sent once its znodes' ACLs are in. Ephemeral znodes
// are left out, as ferry skips them.

// exactReaders is the number of read connections, the number ferry's zk
// store opens (store/zk readSessions).
const exactReaders = 6

// exactBatch is the multiRead batch (ferry's listing reads 100 a request).
const exactBatch = 100

// exactNode is one znode read from the source.
type exactNode struct {
	rel  string // below the source root ("" for the root)
	data []byte
	acl  []zk.ACL
	ast  zk.Stat
	call *zkwire.Call // its getACL
}

// dialReaders opens n zkwire sessions to addr.
func dialReaders(addr string, n int) ([]*zkwire.Conn, error) {
	var cs []*zkwire.Conn
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := zkwire.Dial(ctx, addr, 30*time.Second)
		cancel()
		if err != nil {
			closeAll(cs)
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func closeAll(cs []*zkwire.Conn) {
	for _, c := range cs {
		c.Close()
	}
}

// exactList lists the tree under root, parents before children (level by
// level), sending each listed znode's getACL, and sends the znodes on out
// in that order. It returns the first error.
func exactList(rs []*zkwire.Conn, root string, out chan<- *exactNode) error {
	defer close(out)
	turn := 0
	next := func() *zkwire.Conn { turn++; return rs[turn%len(rs)] }
	level := []string{""}
	for len(level) > 0 {
		// Send every data read of the level, then take the answers in order.
		type chunk struct {
			rels  []string
			reads []zkwire.Read
			call  *zkwire.Call
			kids  []zkwire.Read
			kcall *zkwire.Call
		}
		var chunks []*chunk
		for i := 0; i < len(level); i += exactBatch {
			ck := &chunk{rels: level[i:min(i+exactBatch, len(level))]}
			ck.reads = make([]zkwire.Read, len(ck.rels))
			for j, rel := range ck.rels {
				ck.reads[j].Path = root + rel
			}
			ck.call = next().GoMultiRead(ck.reads)
			chunks = append(chunks, ck)
		}
		for _, ck := range chunks {
			if err := ck.call.Wait(); err != nil {
				return err
			}
			for j, r := range ck.reads {
				if r.Err != nil {
					return fmt.Errorf("%s: %w", r.Path, r.Err)
				}
				if r.Stat.EphemeralOwner != 0 {
					continue
				}
				n := &exactNode{rel: ck.rels[j], data: r.Data}
				n.call = next().GoGetACL(r.Path, &n.acl, &n.ast)
				out <- n
				if r.Stat.NumChildren > 0 {
					ck.kids = append(ck.kids, zkwire.Read{Path: r.Path, Children: true})
				}
			}
			if len(ck.kids) > 0 {
				ck.kcall = next().GoMultiRead(ck.kids)
			}
		}
		var below []string
		for _, ck := range chunks {
			if ck.kcall == nil {
				continue
			}
			if err := ck.kcall.Wait(); err != nil {
				return err
			}
			for _, k := range ck.kids {
				if k.Err != nil {
					return fmt.Errorf("%s children: %w", k.Path, k.Err)
				}
				rel := strings.TrimPrefix(k.Path, root)
				slices.Sort(k.Names)
				for _, name := range k.Names {
					below = append(below, rel+"/"+name)
				}
			}
		}
		level = below
	}
	return nil
}

// exactCopy copies the tree under srcRoot (read over rs) to dstRoot
// (written over dc, which must not exist): znodes per second, and the
// znodes written (relative paths, the root "").
func exactCopy(rs []*zkwire.Conn, srcRoot string, dc *zk.Conn, dstRoot string) (float64, []string, error) {
	start := time.Now()
	nodes := make(chan *exactNode, 4096)
	listErr := make(chan error, 1)
	go func() { listErr <- exactList(rs, srcRoot, nodes) }()
	drain := func() {
		for range nodes {
		}
	}

	// batchOf[path] is the index of the transaction that creates it; a
	// transaction waits for those that create its znodes' parents.
	type txn struct {
		done chan struct{}
		err  error
	}
	batchOf := map[string]int{}
	var txns []*txn
	slots := make(chan struct{}, 2)
	var wg sync.WaitGroup
	var rels []string
	send := func(ops []any, deps []*txn) {
		x := &txn{done: make(chan struct{})}
		txns = append(txns, x)
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer close(x.done)
			for _, d := range deps {
				<-d.done
				if d.err != nil {
					x.err = fmt.Errorf("a parent's transaction failed")
					return
				}
			}
			res, err := dc.Multi(ops...)
			if err == nil && len(res) != len(ops) {
				err = fmt.Errorf("%d answers to %d creates", len(res), len(ops))
			}
			for k := range res {
				if err == nil && res[k].Error != nil {
					err = fmt.Errorf("create %s: %w", ops[k].(*zk.CreateRequest).Path, res[k].Error)
				}
			}
			x.err = err
		}()
	}
	var ops []any
	depSet := map[int]bool{}
	flush := func() {
		deps := make([]*txn, 0, len(depSet))
		for d := range depSet {
			deps = append(deps, txns[d])
		}
		send(ops, deps)
		ops, depSet = nil, map[int]bool{}
	}
	for n := range nodes {
		if err := n.call.Wait(); err != nil {
			drain()
			return 0, nil, fmt.Errorf("getACL %s: %w", srcRoot+n.rel, err)
		}
		p := dstRoot + n.rel
		if n.rel != "" {
			parent := p[:strings.LastIndexByte(p, '/')]
			if b, ok := batchOf[parent]; ok && b < len(txns) {
				depSet[b] = true
			}
		}
		batchOf[p] = len(txns)
		ops = append(ops, &zk.CreateRequest{Path: p, Data: n.data, Acl: n.acl})
		rels = append(rels, n.rel)
		if len(ops) == 1000 {
			flush()
		}
	}
	if len(ops) > 0 {
		flush()
	}
	wg.Wait()
	if err := <-listErr; err != nil {
		return 0, nil, err
	}
	for _, x := range txns {
		if x.err != nil {
			return 0, nil, x.err
		}
	}
	return float64(len(rels)) / time.Since(start).Seconds(), rels, nil
}

// aclReadsAlone reads the ACL of every znode under root (paths as listed,
// relative), pipelined over rs as exactCopy reads them: how long it takes.
func aclReadsAlone(rs []*zkwire.Conn, root string, rels []string) (time.Duration, error) {
	start := time.Now()
	calls := make([]*zkwire.Call, len(rels))
	acls := make([][]zk.ACL, len(rels))
	sts := make([]zk.Stat, len(rels))
	for i, rel := range rels {
		calls[i] = rs[i%len(rs)].GoGetACL(root+rel, &acls[i], &sts[i])
	}
	for i, c := range calls {
		if err := c.Wait(); err != nil {
			return 0, fmt.Errorf("getACL %s: %w", root+rels[i], err)
		}
	}
	return time.Since(start), nil
}
