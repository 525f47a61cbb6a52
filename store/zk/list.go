package zk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"

	"ferry/store"
)

// window is how many znodes of one level are read ahead of the one being
// listed: their reads are in flight together on the session's connection
// instead of one round trip after another.
const window = 256

// batchReads is how many znodes' data one multiRead request reads (each
// up to 1 MiB: the answer is bounded by zkwire.MaxFrame).
const batchReads = 100

// List calls fn for each znode of the subtree whose key starts with prefix
// and sorts after startAfter, in byte order of the keys, streaming: it
// holds the child names of the znodes on the current path and a window of
// znodes read ahead, never the tree. In byte order a znode comes before
// its children, but not always right before them: "a", "a-b", "a/c".
//
// A destination whose root does not exist yet lists as empty. Under
// store.Shallow the entries carry no ACL (see readShallow).
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	w := &walker{s: s, prefix: prefix, after: startAfter, fn: fn, shallow: store.IsShallow(ctx)}
	root := &node{key: RootKey, path: s.root, done: make(chan struct{})}
	s.fetch(ctx, root, true, w.shallow)
	switch {
	case root.gone && s.cfg.Role != "src":
		return nil
	case root.gone:
		return s.describe(zk.ErrNoNode, s.root)
	case root.err != nil:
		return root.err
	case root.e.Kind == store.Unreadable:
		return fmt.Errorf("cannot list the subtree: %s", root.e.Detail)
	}
	return w.level(ctx, "", root)
}

// walker is one listing.
type walker struct {
	s      *Store
	prefix string
	after  string
	fn     func(store.Entry) error
	// shallow: the caller keeps no ACL (store.Shallow), which is not read
	shallow bool
}

// node is one znode of a level, read ahead of its turn.
type node struct {
	key, path string
	done      chan struct{}
	e         store.Entry // its entry (Unreadable when it could not be read)
	kids      []string    // its children's names, when listed
	gone      bool        // it vanished before it was read
	err       error       // a failure of the listing itself
}

// emits reports whether the listing calls fn for key.
func (w *walker) emits(key string) bool {
	return key > w.after && strings.HasPrefix(key, w.prefix)
}

// descends reports whether the subtree below key can hold keys to list.
func (w *walker) descends(key string) bool {
	sub := key + "/"
	if w.after >= sub && !strings.HasPrefix(w.after, sub) {
		return false // every key below is before startAfter
	}
	return strings.HasPrefix(sub, w.prefix) || strings.HasPrefix(w.prefix, sub)
}

// level lists the children of parent (whose key is dirKey, "" for the
// root) and their subtrees in byte order. At the root level the root's
// own entry takes its place among the children's ("." sorts among them).
func (w *walker) level(ctx context.Context, dirKey string, parent *node) error {
	names := parent.kids
	if dirKey == "" && w.s.root == "/" {
		names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "zookeeper" })
	}
	slices.Sort(names)
	nodes := make([]*node, 0, len(names)+1)
	if dirKey == "" {
		nodes = append(nodes, parent) // already read
	}
	for _, n := range names {
		key := n
		if dirKey != "" {
			key = dirKey + "/" + n
		}
		if !w.emits(key) && !w.descends(key) {
			continue
		}
		p := parent.path + "/" + n
		if parent.path == "/" {
			p = "/" + n
		}
		nodes = append(nodes, &node{key: key, path: p, done: make(chan struct{})})
	}
	slices.SortFunc(nodes, func(a, b *node) int { return strings.Compare(a.key, b.key) })
	// Tokens: each znode's own key, and key+"/" for its subtree, in byte
	// order. A subtree comes after its znode, not always right after.
	type token struct {
		n   *node
		sub bool
		s   string
	}
	tokens := make([]token, 0, 2*len(nodes))
	for _, n := range nodes {
		tokens = append(tokens, token{n, false, n.key})
		if n != parent {
			tokens = append(tokens, token{n, true, n.key + "/"})
		}
	}
	slices.SortFunc(tokens, func(a, b token) int { return strings.Compare(a.s, b.s) })

	// Read ahead: a feeder starts the reads in key order, at most window
	// ahead of what has been consumed; every node's read ends before the
	// level returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, window)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		// The reads go in batches (fetchBatch) of up to batchReads
		// znodes: as many as are queued when a slot is free at once.
		var batch []*node
		send := func() {
			if len(batch) > 0 {
				go w.s.fetchBatch(ctx, batch, w.descends, w.shallow)
				batch = nil
			}
		}
		for _, n := range nodes {
			if n == parent {
				continue
			}
			select {
			case slots <- struct{}{}:
			default:
				send()
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					n.err = ctx.Err()
					close(n.done)
					continue
				}
			}
			batch = append(batch, n)
			if len(batch) == batchReads {
				send()
			}
		}
		send()
	}()
	defer func() {
		cancel()
		<-fed
	}()
	for _, t := range tokens {
		n := t.n
		if !t.sub {
			if n != parent {
				<-n.done
				<-slots // read ahead of the next one, even while this one's subtree waits its turn
			}
			if n.err != nil {
				return n.err
			}
			if n.gone || !w.emits(n.key) {
				continue
			}
			if err := w.fn(n.e); err != nil {
				return err
			}
			continue
		}
		if len(n.kids) > 0 && w.descends(n.key) {
			if err := w.level(ctx, n.key, n); err != nil {
				return err
			}
		}
		n.kids = nil
	}
	return nil
}

// fetch reads node n: its data (for the size and CRC64, then dropped),
// its ACL unless shallow and, when kids is set and it has children, their
// names. A znode that vanished is gone; one this session may not read is
// Unreadable.
func (s *Store) fetch(ctx context.Context, n *node, kids, shallow bool) {
	defer close(n.done)
	read := s.read
	if shallow {
		read = s.readShallow
	}
	e, st, err := read(ctx, n.key, n.path)
	switch {
	case errors.Is(err, store.ErrNotExist):
		n.gone = true
		return
	case errors.Is(err, store.ErrPermission):
		n.e = unreadable(n.key, err)
		return
	case err != nil:
		n.err = err
		return
	}
	n.e = e
	if !kids || st.NumChildren == 0 {
		return
	}
	names, err := s.children(ctx, n.path)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		n.gone = true
	case errors.Is(err, zk.ErrNoAuth):
		n.e = unreadable(n.key, fmt.Errorf("znode %s: its children cannot be listed as %s (its ACL does not allow READ)", n.path, s.identity()))
	case err != nil:
		n.err = s.describe(err, n.path)
	default:
		n.kids = names
	}
}
