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
//
// Two kinds of token are let in. The master's token (the console's)
// authorises every call. A worker host's credential (master/creds.go)
// authorises only the Master and Tracker services' calls, and only for
// the worker ID it was issued to: the tap refuses any other call before
// its body is read, the interceptor a request naming another worker. A
// worker still holding the master's token (deployed before worker
// credentials) is let in, with a warning to deploy again.

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
	token string
	// workerOf says which worker a credential is bound to (valid), or
	// whose it was (revoked or replaced; "" when unknown).
	workerOf func(secret string) (worker string, valid bool)
	log      *slog.Logger
	window   time.Duration // refusalWindow

	mu    sync.Mutex
	peers map[string]*refusals // by host (a client reconnects from new ports), or by what is warned of
}

// boundKey is the context key of the worker ID a call's credential is
// bound to; absent for the master's token.
type boundKey struct{}

// workerMethod reports whether method is one a worker's credential may
// call: the Master and Tracker services' (what rpc.Client calls).
func workerMethod(method string) bool {
	return strings.HasPrefix(method, "/"+pb.Master_ServiceDesc.ServiceName+"/") ||
		strings.HasPrefix(method, "/"+pb.Tracker_ServiceDesc.ServiceName+"/")
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

// tap refuses a stream without a token it knows, and a worker's
// credential on a call that is not a worker's, before its body is read.
// It runs on the connection's reading goroutine: it must not block.
func (g *guard) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	vals := info.Header.Get(TokenHeader)
	why, revoked := "no token", ""
	for _, v := range vals {
		tok := strings.TrimPrefix(v, "Bearer ")
		if subtle.ConstantTimeCompare([]byte(tok), []byte(g.token)) == 1 {
			return ctx, nil
		}
		if g.workerOf == nil {
			continue
		}
		w, valid := g.workerOf(tok)
		if !valid {
			if w != "" {
				revoked = w
			}
			continue
		}
		if !workerMethod(info.FullMethodName) {
			g.refused(ctx, info.FullMethodName, "worker "+w+"'s credential may not make this call")
			return ctx, status.Errorf(codes.PermissionDenied, "%s: a worker's credential may not make this call (the console uses the master's token)", info.FullMethodName)
		}
		return context.WithValue(ctx, boundKey{}, w), nil
	}
	if len(vals) > 0 {
		why = "wrong token"
	}
	if revoked != "" {
		g.refused(ctx, info.FullMethodName, "revoked credential of worker "+revoked)
		return ctx, status.Errorf(codes.Unauthenticated, "the credential of worker %s was revoked or replaced: run `console.sh deploy` on the master to give this host a new one", revoked)
	}
	g.refused(ctx, info.FullMethodName, why)
	return ctx, status.Error(codes.Unauthenticated, "missing or wrong ferry token (run `console.sh deploy` on the master to give this host a new one)")
}

// intercept refuses a request larger than its method needs, and one of a
// worker's credential that names another worker. The token was checked by
// tap, which sees every stream first.
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
	if workerMethod(info.FullMethod) {
		id := ""
		if r, ok := req.(interface{ GetWorkerId() string }); ok {
			id = r.GetWorkerId()
		}
		bound, isWorker := ctx.Value(boundKey{}).(string)
		switch {
		case isWorker && id != bound:
			g.refused(ctx, info.FullMethod, fmt.Sprintf("worker %s's credential used as worker %q", bound, id))
			return nil, status.Errorf(codes.PermissionDenied, "this host's credential is worker %s's, not worker %q's", bound, id)
		case !isWorker:
			g.warn(ctx, "master token:"+id, "a worker uses the master's token: run `console.sh deploy` to give its host a credential of its own",
				"worker", id)
		}
	}
	return h(ctx, req)
}

// refused logs a refused call, unless one of the same peer was logged
// within g.window; the next line says how many were not.
func (g *guard) refused(ctx context.Context, method, why string) {
	addr := peerAddr(ctx)
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if suppressed, ok := g.quiet(host); ok {
		g.log.Warn("rpc refused", "peer", addr, "method", method, "why", why, "suppressed", suppressed)
	}
}

// warn logs msg unless a line of the same key was logged within g.window.
func (g *guard) warn(ctx context.Context, key, msg string, args ...any) {
	if _, ok := g.quiet(key); ok {
		g.log.Warn(msg, append(args, "peer", peerAddr(ctx))...)
	}
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return "unknown"
}

// quiet reports whether a line of key may be logged now, and how many
// were not since the last one.
func (g *guard) quiet(key string) (suppressed int, ok bool) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.peers[key]
	if r == nil {
		if len(g.peers) >= 1024 { // forget quiet keys rather than grow
			for k, r := range g.peers {
				if now.Sub(r.logged) >= g.window {
					delete(g.peers, k)
				}
			}
		}
		r = &refusals{}
		g.peers[key] = r
	}
	if !r.logged.IsZero() && now.Sub(r.logged) < g.window {
		r.suppressed++
		return 0, false
	}
	suppressed = r.suppressed
	r.logged, r.suppressed = now, 0
	return suppressed, true
}
