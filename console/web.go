package console

import (
	"context"
	"log/slog"
	"net"

	"ferry/master/httpd"
	"ferry/store"
	"ferry/store/observe"
	"ferry/task"
)

// observedSource opens a job's source for the master's scans with its
// calls counted in own, for /metrics.
func observedSource(own *observe.Stats) func(task.Spec) (store.Store, error) {
	return func(s task.Spec) (store.Store, error) {
		st, err := openSource(s)
		if err != nil {
			return nil, err
		}
		return observe.Wrap(st, s.Src.Type, own), nil
	}
}

// serveHTTP starts the master's dashboard and /metrics on httpAddress
// (sys.properties) in the engine's group. When the address cannot be
// listened on (taken, say by another ferry), the master runs without it
// and says so in its log: a migration does not stop for its dashboard.
func (e *env) serveHTTP(ctx context.Context, eng *engine, own *observe.Stats, log *slog.Logger) {
	addr := e.sys.HTTPAddress
	if addr == "" {
		return
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("dashboard and /metrics not served: listen on httpAddress failed", "addr", addr, "file", rel(e.sys.File), "err", err)
		return
	}
	eng.httpAddr = lis.Addr().String()
	srv := httpd.New(httpd.Config{Master: eng.m, Token: eng.token, Own: own, Log: log})
	eng.g.Go(func() error { return srv.Serve(ctx, lis) })
	log.Info("dashboard and /metrics serving", "addr", eng.httpAddr)
}
