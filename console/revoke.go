package console

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ferry/proto"
)

func revokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "withdraw a worker host's credential: its worker is refused from now on, its tasks go to other workers",
		ArgsUsage: "<host>",
		Description: "<host> is the worker host as conf/workers writes it (host, or host:port when the line\n" +
			"gives a port); `console.sh stat --workers` lists the hosts that hold a credential.\n" +
			"The host's worker is refused at its next call and stops; the tasks it held go back to\n" +
			"pending at once for the other workers. `console.sh deploy` gives the host a new credential.",
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usageErr("revoke needs exactly one worker host, as written in conf/workers (see `console.sh stat --workers`)")
			}
			host := c.Args().First()
			cl, err := e.control(c.Context)
			if err != nil {
				return err
			}
			defer cl.close()
			_, err = cl.RevokeCredential(c.Context, &pb.RevokeCredentialRequest{WorkerId: host})
			if status.Code(err) == codes.NotFound {
				return failErr("worker host %s holds no credential; `console.sh stat --workers` lists those that do", host)
			}
			if err != nil {
				return rpcErr("revoke", err)
			}
			fmt.Fprintf(e.out, "revoke worker:%s success!\n", host)
			return nil
		},
	}
}
