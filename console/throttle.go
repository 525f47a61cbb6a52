package console

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	pb "ferry/proto"
)

func throttleCommand() *cli.Command {
	return &cli.Command{
		Name:      "throttle",
		Usage:     "change a running job's bandwidth limit, no restart",
		ArgsUsage: "<job> <rate>",
		Description: "rate is bytes per second with an optional unit: 20MB, 512KB, 1.5GB (binary units),\n" +
			"0 or unlimited for no limit, or `reset` to go back to the job's maxThroughput /\n" +
			"throughputSchedule. The limit is shared by all the job's workers and takes effect\n" +
			"within about a second.",
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() != 2 {
				return usageErr("throttle needs a job name and a rate, e.g. `console.sh throttle local_test 20MB`")
			}
			name := c.Args().Get(0)
			req := &pb.ThrottleRequest{Job: name}
			if arg := c.Args().Get(1); strings.EqualFold(arg, "reset") {
				req.Reset_ = true
			} else if req.BytesPerSec, err = parseRate(arg); err != nil {
				return usageErr("throttle: %v", err)
			}
			cl, err := e.dialRunning(c.Context)
			if err != nil {
				return failErr("throttle: no master is running (it applies to a running job)")
			}
			defer cl.close()
			r, err := cl.Throttle(c.Context, req)
			if err != nil {
				return rpcErr("throttle", err)
			}
			if r.BytesPerSec == 0 {
				fmt.Fprintf(e.out, "job %s: no bandwidth limit\n", name)
			} else {
				fmt.Fprintf(e.out, "job %s: limited to %s/s\n", name, humanBytes(float64(r.BytesPerSec)))
			}
			return nil
		},
	}
}

// parseRate reads a rate such as 20MB, 512K, 1.5GiB or 1048576 (bytes/s).
func parseRate(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "/s"), "ps")
	if strings.EqualFold(t, "unlimited") {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	u := strings.ToUpper(t)
	mult := 1.0
	for _, x := range units {
		if strings.HasSuffix(u, x.suffix) {
			u, mult = strings.TrimSuffix(u, x.suffix), x.mult
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("rate %q: want bytes per second such as 20MB, 512KB or 0", s)
	}
	return int64(f * mult), nil
}
