package zk_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
	"ferry/store"
	zkstore "ferry/store/zk"
)

// TestShallowList: a listing reads its znodes' data and children in
// batches (multiRead), so that a shallow one (store.Shallow, a first
// scan's) asks the server a few requests for hundreds of znodes and a full
// one adds a getACL per znode (ZooKeeper has no batched ACL read); the
// entries are what a Stat of each znode says, the shallow ones without
// the ACL, ephemeral and unreadable znodes included.
func TestShallowList(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	mustCreate(t, c, "/s", nil, 0, open)
	const n = 300
	for i := range n {
		mustCreate(t, c, fmt.Sprintf("/s/n%03d", i), []byte(strconv.Itoa(i)), 0, open)
	}
	mustCreate(t, c, "/s/eph", nil, zk.FlagEphemeral, open)
	mustCreate(t, c, "/s/locked", []byte("x"), 0, zk.DigestACL(zk.PermAll, "someone", "else"))
	s := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/s"})

	total := func(m map[int64]int) (sum int) {
		for _, v := range m {
			sum += v
		}
		return sum
	}
	listed := func(ctx context.Context) (map[string]store.Entry, int) {
		before := total(received(t, srv.Addr))
		out := map[string]store.Entry{}
		if err := s.List(ctx, "", "", func(e store.Entry) error { out[e.Key] = e; return nil }); err != nil {
			t.Fatal(err)
		}
		return out, total(received(t, srv.Addr)) - before - 1 // less the cons of received
	}
	full, fullReqs := listed(context.Background())
	shallow, shallowReqs := listed(store.Shallow(context.Background()))
	if fullReqs < n || fullReqs > n+20 || shallowReqs > 20 {
		t.Errorf("requests for %d znodes: full listing %d (want a getACL each and a few more), shallow %d (want a few)", n+3, fullReqs, shallowReqs)
	}
	if len(shallow) != len(full) || len(full) != n+3 {
		t.Fatalf("shallow listing %d entries, full %d, want %d", len(shallow), len(full), n+3)
	}
	for k, f := range full {
		sh := shallow[k]
		if sh.Kind != f.Kind || sh.Size != f.Size || sh.CRC64 != f.CRC64 || sh.Detail != f.Detail {
			t.Errorf("%s: shallow %+v, full %+v", k, sh, f)
		}
		if f.Kind == store.File {
			st, err := s.Stat(context.Background(), k)
			if err != nil || st.Size != f.Size || st.CRC64 != f.CRC64 || st.Meta[zkstore.MetaACL] != f.Meta[zkstore.MetaACL] ||
				st.Meta[zkstore.MetaSeq] != f.Meta[zkstore.MetaSeq] || st.Meta[zkstore.MetaChildren] != f.Meta[zkstore.MetaChildren] {
				t.Errorf("%s: listed %+v, Stat says %+v (%v)", k, f, st, err)
			}
		}
		if _, ok := sh.Meta[zkstore.MetaACL]; ok {
			t.Errorf("%s: the shallow entry has an ACL (%q), read for nothing", k, sh.Meta[zkstore.MetaACL])
		}
	}
	if shallow["eph"].Kind != store.Special || shallow["locked"].Kind != store.Unreadable {
		t.Errorf("eph %v, locked %v; want special and unreadable", shallow["eph"].Kind, shallow["locked"].Kind)
	}
}
