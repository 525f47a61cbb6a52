// Command s3server serves an S3-protocol server (gofakes3, objects held in
// memory) on a loopback port, for the s3 workload of bench/run.sh: ferry
// and rclone copy to and from the same server process, so its cost weighs
// the same on both. It does not check request signatures; any access key
// works. The buckets named by -buckets exist from the start.
//
//	s3server -addr 127.0.0.1:0 -addr-file /dev/shm/s3.addr -buckets bench
//
// It writes "127.0.0.1:PORT" to -addr-file once it is listening and serves
// until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	addrFile := flag.String("addr-file", "", "file to write the address to once listening")
	buckets := flag.String("buckets", "bench", "comma-separated buckets to create")
	flag.Parse()
	if err := serve(*addr, *addrFile, strings.Split(*buckets, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "s3server:", err)
		os.Exit(1)
	}
}

func serve(addr, addrFile string, buckets []string) error {
	backend := s3mem.New()
	for _, b := range buckets {
		if b = strings.TrimSpace(b); b != "" {
			if err := backend.CreateBucket(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
	}
	fake := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: fake.Server(), ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: time.Minute}
	if addrFile != "" {
		tmp := addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(lis.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, addrFile); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
