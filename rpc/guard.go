package rpc

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"

	pb "ferry/proto"
	"ferry/tracker"
)

// What the server checks before a handler runs: the caller's token, before
// a byte of the request's body is read (a tap handle, on the stream's
// headers), and the request's size against what its method needs (an
// interceptor, on the decoded request). Refusals are logged, a line per
// peer per refusalWindow at most.

// Request size caps, in encoded bytes. gRPC's receive limit is one for the
// whole server, so it is the largest cap (Report's); the interceptor holds
// every other method to its own. Replies are not capped here: a lease's
// manifest can be large, and the client's receive limit (MaxMsgSize)
// bounds it.
const (
	// reportCap fits one Report: a worker sends its queued audit records
	// in reports of at most tracker.ReportBytes (16 MiB) as
	// Record.ReportSize counts them, which overstates their encoding; the
	// other half is room for the progress entries and the record that
	// crosses the budget (a report holds at least one).
	reportCap = 2 * tracker.ReportBytes
	// completeCap fits a Complete of a task of a million entries (conf's
	// maxTaskObjects) that all failed: about 10 MB, a result being at most
	// 12 bytes on the wire as it carries no detail (outcomeToPB).
	completeCap = 16 << 20
	// uploadCap fits a multipart upload's state: up to 10,000 parts of
	// about 100 bytes of JSON each.
	uploadCap = 4 << 20
	// smallCap is for everything else: a job spec (a few KiB, more with
	// many filter patterns), lease references, names.
	smallCap = 1 << 20

	// maxHeaderBytes bounds a request's headers, which are read before
	// the token can be checked: the token and gRPC's own fit in far less.
	maxHeaderBytes = 64 << 10
)

// requestCaps are the methods whose requests may exceed smallCap.
var requestCaps = map[string]int{
	pb.Tracker_Report_FullMethodName:    reportCap,
	pb.Master_Complete_FullMethodName:   completeCap,
	pb.Master_SaveUpload_FullMethodName: uploadCap,
}

// refusalWindow is how often refusals of one peer are logged at most: a
// misconfigured worker retrying, or a scanner, is a line per 10 s, not a
// flood.
var refusalWindow = 10 * time.Second

// guard checks a master's callers.
type guard struct {
	token  string
	log    *slog.Logger
	window time.Duration // refusalWindow

	mu    sync.Mutex
	peers map[string]*refusals // by host: a client reconnects from new ports
}

type refusals struct {
	logged     time.Time // last line
	suppressed int       // refusals since, not logged
}

// serverOptions are the gRPC options that make g check every call.
func (g *guard) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InTapHandle(g.tap),
		grpc.UnaryInterceptor(g.intercept),
		grpc.MaxRecvMsgSize(reportCap),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.MaxSendMsgSize(MaxMsgSize),
	}
}

// tap refuses a stream without the token before its body is read. It runs
// on the connection's reading goroutine: it must not block.
func (g *guard) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	for _, v := range info.Header.Get(TokenHeader) {
		if subtle.ConstantTimeCompare([]byte(strings.TrimPrefix(v, "Bearer ")), []byte(g.token)) == 1 {
			return ctx, nil
		}
	}
	why := "no token"
	if len(info.Header.Get(TokenHeader)) > 0 {
		why = "wrong token"
	}
	g.refused(ctx, info.FullMethodName, why)
	return ctx, status.Error(codes.Unauthenticated, "missing or wrong ferry token")
}

// intercept refuses a request larger than its method needs. The token was
// checked by tap, which sees every stream first.
func (g *guard) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	limit, ok := requestCaps[info.FullMethod]
	if !ok {
		limit = smallCap
	}
	if m, ok := req.(proto.Message); ok {
		if n := proto.Size(m); n > limit {
			g.refused(ctx, info.FullMethod, fmt.Sprintf("request of %d bytes, over its cap of %d", n, limit))
			return nil, status.Errorf(codes.ResourceExhausted, "%s: request of %d bytes is larger than the %d this call takes", info.FullMethod, n, limit)
		}
	}
	return h(ctx, req)
}

// refused logs a refused call, unless one of the same peer was logged
// within g.window; the next line says how many were not.
func (g *guard) refused(ctx context.Context, method, why string) {
	addr := "unknown"
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	now := time.Now()
	g.mu.Lock()
	r := g.peers[host]
	if r == nil {
		if len(g.peers) >= 1024 { // forget quiet peers rather than grow
			for h, r := range g.peers {
				if now.Sub(r.logged) >= g.window {
					delete(g.peers, h)
				}
			}
		}
		r = &refusals{}
		g.peers[host] = r
	}
	if !r.logged.IsZero() && now.Sub(r.logged) < g.window {
		r.suppressed++
		g.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.logged, r.suppressed = now, 0
	g.mu.Unlock()
	g.log.Warn("rpc refused", "peer", addr, "method", method, "why", why, "suppressed", suppressed)
}
