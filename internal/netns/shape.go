package netns

import (
	"os/exec"
	"strconv"
)

// Shape holds host i's link to bitsPerSecond in each direction, as a
// real host's network card would: a token bucket filter (tc's tbf) on
// both ends of its veth, the bridge's end for what the host receives and
// the host's eth0 for what it sends. Calling it again changes the rate;
// bitsPerSecond 0 lifts the limit. The qdiscs go with the veth when the
// cluster closes.
//
// The bucket holds 5 ms of traffic (at least 64 KiB, so that a GSO
// segment fits) and queues at most 100 ms of it: TCP then runs at the
// rate without the losses a shallow queue causes.
func (c *Cluster) Shape(i int, bitsPerSecond int64) {
	c.t.Helper()
	h := c.hosts[i]
	if bitsPerSecond == 0 {
		for _, cmd := range [][]string{
			{"tc", "qdisc", "del", "dev", h.veth, "root"},
			{"ip", "netns", "exec", h.info.NS, "tc", "qdisc", "del", "dev", "eth0", "root"},
		} {
			exec.Command(cmd[0], cmd[1:]...).Run() // fails when the link was never shaped: no matter
		}
		return
	}
	if bitsPerSecond < 8000 {
		c.t.Fatalf("netns: Shape(%d, %d): want at least 8000 bits/s, or 0 for no limit", i, bitsPerSecond)
	}
	burst := max(bitsPerSecond/8/200, 64<<10)
	tbf := []string{"root", "tbf", "rate", strconv.FormatInt(bitsPerSecond, 10) + "bit",
		"burst", strconv.FormatInt(burst, 10), "latency", "100ms"}
	c.must("tc", append([]string{"qdisc", "replace", "dev", h.veth}, tbf...)...)
	c.must("ip", append([]string{"netns", "exec", h.info.NS, "tc", "qdisc", "replace", "dev", "eth0"}, tbf...)...)
}
