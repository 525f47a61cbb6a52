// Command s3server serves an S3-protocol server (gofakes3, objects held in
// memory) on a loopback port, for the s3 workload of bench/run.sh: ferry
// and rclone copy to and from the same server process, so its cost weighs
// the same on both. It does not check request signatures; any access key
// works. The buckets named by -buckets exist from the start.
//
//	s3server -addr 127.0.0.1:0 -addr-file /dev/shm/s3.addr -buckets bench
//
// It writes "127.0.0.1:PORT" to -addr-file once it is listening and serves
// until SIGINT or SIGTERM. With -counts FILE it counts the requests it
// serves by method and kind (PUT, PUT part, HEAD, GET, ...) and writes the
// counts to FILE, one "kind count" a line, at exit and whenever it gets
// SIGUSR1: what each tool costs the server per object.
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
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	addrFile := flag.String("addr-file", "", "file to write the address to once listening")
	buckets := flag.String("buckets", "bench", "comma-separated buckets to create")
	counts := flag.String("counts", "", "file to write request counts to (at exit and on SIGUSR1)")
	flag.Parse()
	if err := serve(*addr, *addrFile, strings.Split(*buckets, ","), *counts); err != nil {
		fmt.Fprintln(os.Stderr, "s3server:", err)
		os.Exit(1)
	}
}

// counter counts requests by kind.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

// kind names a request: its method, with what the query says it is.
func kind(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "PUT-part"
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return "PUT-copy"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "POST-create-upload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "POST-complete-upload"
	case r.Method == http.MethodPost && q.Has("delete"):
		return "POST-delete"
	case r.Method == http.MethodGet && (q.Has("list-type") || q.Has("prefix") || q.Has("delimiter")):
		return "GET-list"
	case r.Method == http.MethodGet && q.Has("uploads"):
		return "GET-list-uploads"
	case r.Method == http.MethodGet && q.Has("location"):
		return "GET-location"
	}
	return r.Method
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := kind(r)
		c.mu.Lock()
		c.n[k]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *counter) write(file string) error {
	c.mu.Lock()
	keys := make([]string, 0, len(c.n))
	for k := range c.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, c.n[k])
	}
	c.mu.Unlock()
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

func serve(addr, addrFile string, buckets []string, counts string) error {
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
	handler := fake.Server()
	var cnt *counter
	if counts != "" {
		cnt = &counter{n: map[string]int{}}
		handler = cnt.wrap(handler)
		usr := make(chan os.Signal, 1)
		signal.Notify(usr, syscall.SIGUSR1)
		go func() {
			for range usr {
				if err := cnt.write(counts); err != nil {
					fmt.Fprintln(os.Stderr, "s3server:", err)
				}
			}
		}()
		defer cnt.write(counts)
	}
	hs := &http.Server{Handler: handler, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: time.Minute}
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
