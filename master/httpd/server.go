// Package httpd is the master's HTTP listener (httpAddress in
// sys.properties): /metrics in Prometheus' text format, read from the
// master's state at each scrape (metrics.go), and a web dashboard of the
// jobs and the workers, updated live, with the retry and throttle actions
// (dashboard.go). Everything it serves is in the binary (assets/, embedded);
// it links to no other site.
//
// All of it needs the master's token: the dashboard through a login form
// that sets a session cookie (HttpOnly, SameSite=Strict), its actions
// through POSTs that also carry the session's anti-forgery token
// (auth.go); /metrics takes the session or the token as a bearer
// credential, which Prometheus sends from a file (credentials_file).
package httpd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ferry/master"
	"ferry/store/observe"
)

// Config is what the listener serves.
type Config struct {
	Master *master.Master
	Token  string // the master's token: the password of the dashboard
	// Own, when set, is the master's own store measurements (its scans),
	// added to what the workers report.
	Own *observe.Stats
	Log *slog.Logger
}

// Server serves the dashboard and /metrics of one master.
type Server struct {
	cfg      Config
	log      *slog.Logger
	reg      *prometheus.Registry
	sessions sessions
	hist     history
	pages    *pages
	handler  http.Handler
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Log, reg: prometheus.NewRegistry(), pages: loadPages()}
	s.reg.MustRegister(collector{s}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.handler = s.routes()
	return s
}

// Handler returns the server's handler (for tests with httptest).
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slogAdapter{s.log}})
	mux.Handle("GET /metrics", s.scraper(metrics))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.Handle("POST /logout", s.action(s.logout))
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles()))
	mux.Handle("GET /{$}", s.page(s.jobsPage))
	mux.Handle("GET /jobs/{name}", s.page(s.jobPage))
	mux.Handle("GET /api/jobs", s.api(s.jobsAPI))
	mux.Handle("GET /api/jobs/{name}", s.api(s.jobAPI))
	mux.Handle("POST /api/jobs/{name}/retry", s.action(s.retry))
	mux.Handle("POST /api/jobs/{name}/throttle", s.action(s.throttle))
	return secure(mux)
}

// secure sets the headers every answer carries: nothing from elsewhere,
// no framing, no sniffing, no caching, no referrer to other sites.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin") // never to another site; Origin stays set on our POSTs
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// Serve answers on lis until ctx is done, sampling the jobs' rates for the
// dashboard's charts meanwhile.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.sample(ctx)
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(lis)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// slogAdapter gives promhttp a logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Println(v ...any) { a.l.Warn("metrics", "err", v) }
