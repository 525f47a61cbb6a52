package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
)

// TestZKCopy: `run` copies a tree of 20,000 znodes (up to 6 levels, data
// of 0 to 100 KiB, digest and ip ACLs, sequential children, an ephemeral
// znode held by a live session) from one ZooKeeper server to another: the
// destination equals the source in paths, data and ACLs; the ephemeral is
// one SKIP line with its reason and every other znode one OK line; and a
// sequential child created at the destination afterwards is numbered
// after every copied one.
func TestZKCopy(t *testing.T) {
	h := newZKHome(t, "zk_copy")
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 20000, 18)
	r := h.ferry(5*time.Minute, "run", h.jobFile)
	if r.code != 0 || !strings.Contains(r.stdout, "job zk_copy: Succeed") {
		t.Fatalf("run: want exit 0 and Succeed:\n%s", r)
	}
	h.same()
	audit := ctlAuditOf(h.attempts())
	wantOK := append([]string{"."}, tr.paths...)
	for _, p := range wantOK {
		k := p
		if p != "." {
			k = zkKey(p)
		}
		rs := audit[k]
		if len(rs) != 1 || rs[0].result != "OK" {
			t.Errorf("%s: want one OK record, got %+v", k, rs)
		}
		delete(audit, k)
	}
	eRec := audit[zkKey(tr.ephemeral)]
	if len(eRec) != 1 || eRec[0].result != "SKIP" || !strings.Contains(eRec[0].detail, "ephemeral") {
		t.Errorf("ephemeral %s: want one SKIP record saying ephemeral, got %+v", tr.ephemeral, eRec)
	}
	delete(audit, zkKey(tr.ephemeral))
	if len(audit) != 0 {
		t.Errorf("%d audit keys that are no znode of the source, e.g. %v", len(audit), head(mapKeys(audit), 5))
	}
	if _, _, err := h.dstC.Get(tr.ephemeral); err != zk.ErrNoNode {
		t.Errorf("the ephemeral znode at the destination: %v, want it absent", err)
	}
	for par, maxSeq := range tr.seqMax {
		p, err := h.dstC.Create(par+"/item-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if err != nil {
			t.Fatalf("new sequential child of %s at the destination: %v", par, err)
		}
		if n, _ := strconv.ParseInt(p[len(p)-10:], 10, 64); n <= maxSeq {
			t.Errorf("new sequential child %s at the destination, but %d was copied", p, maxSeq)
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
