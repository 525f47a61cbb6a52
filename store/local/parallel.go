package local

import (
	"slices"
	"sync"

	"ferry/store"
)

// Listing ahead (Options.ScanThreads, ScanDepth). A walk through a directory
// less than ScanDepth levels below the root opens the subdirectories after
// the entry it has reached and walks them on other threads, as many at a
// time as there are free slots; each sends its entries into a buffer of its
// own. When the walk reaches such a subdirectory, it passes the buffered
// entries on, in order, then the subtree's error, and frees the slot. So
// List calls fn with the same entries in the same order as on one thread,
// and at most ScanThreads-1 subtrees are ahead of it at any time: on a file
// server, where every directory read and stat waits for the network, their
// waits overlap.

// parallel is what the walks of one List share.
type parallel struct {
	slots chan struct{} // one per subtree listed ahead
	depth int           // directories above this depth list their subtrees ahead
	wg    sync.WaitGroup
}

// subtree is a subdirectory being listed ahead.
type subtree struct {
	entries chan store.Entry
	err     error // the subtree walk's, set before entries is closed
}

// aheadBuffer is how many entries a subtree listed ahead holds before it
// waits for the walk to reach it.
const aheadBuffer = 1024

// startAhead starts listing ahead the subdirectories among items[from:] of
// the directory d, whose keys start with dp, while there are free slots. It
// returns the index of the first item it did not get to.
func (w *walker) startAhead(d dir, dp string, items []item, from int) int {
	for i := from; i < len(items); i++ {
		it := &items[i]
		if !it.dir || it.ahead != nil {
			continue
		}
		select {
		case w.par.slots <- struct{}{}:
		default:
			return i
		}
		// Opened here, not on the other thread: d is closed when this
		// walk returns, which may be before that thread would run.
		child, err := d.open(it.name, it.followed)
		if err != nil || child == nil {
			<-w.par.slots // the walk will come to it and say what is wrong
			continue
		}
		it.ahead = w.listAhead(child, it.key+"/")
	}
	return len(items)
}

// listAhead walks the directory d, whose keys start with dp, on a thread of
// its own, into a subtree.
func (w *walker) listAhead(d dir, dp string) *subtree {
	st := &subtree{entries: make(chan store.Entry, aheadBuffer)}
	sub := &walker{l: w.l, ctx: w.ctx, prefix: w.prefix, after: w.after, anc: slices.Clone(w.anc), par: w.par,
		fn: func(e store.Entry) error {
			select {
			case st.entries <- e:
				return nil
			case <-w.ctx.Done():
				return w.ctx.Err()
			}
		}}
	w.par.wg.Add(1)
	go func() {
		defer w.par.wg.Done()
		st.err = sub.walk(d, dp)
		close(st.entries)
	}()
	return st
}

// drain passes a subtree's entries to fn, then returns its error, and frees
// its slot.
func (w *walker) drain(st *subtree) error {
	defer func() { <-w.par.slots }()
	for e := range st.entries {
		if err := w.fn(e); err != nil {
			return err
		}
	}
	return st.err
}
