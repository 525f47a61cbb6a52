package httpd

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ferry/task"
)

// The dashboard: a page of every job and a page per job, rendered on the
// server with html/template and kept current by assets/app.js, which
// polls /api/ twice a second and draws the throughput chart as SVG. The
// actions are the console's: retry (master.Retry) and throttle
// (master.Throttle).

//go:embed assets
var assets embed.FS

type pages struct{ t *template.Template }

func loadPages() *pages {
	t := template.Must(template.New("").Funcs(template.FuncMap{
		"bytes":   humanBytes,
		"percent": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
		"eta":     etaText,
	}).ParseFS(assets, "assets/*.html"))
	return &pages{t: t}
}

func staticFiles() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	return http.FileServerFS(onlyStatic{sub})
}

// onlyStatic serves the scripts and styles, not the templates, nor a
// directory listing.
type onlyStatic struct{ fs.FS }

func (o onlyStatic) Open(name string) (fs.File, error) {
	if !strings.HasSuffix(name, ".js") && !strings.HasSuffix(name, ".css") && !strings.HasSuffix(name, ".svg") {
		return nil, fs.ErrNotExist
	}
	return o.FS.Open(name)
}

func (s *Server) render(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.pages.t.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("dashboard page", "page", name, "err", err)
	}
}

type pageData struct {
	CSRF string
	Jobs []jobView
	Job  *jobDetail
}

func (s *Server) jobViews(ctx context.Context, name string) ([]jobView, error) {
	st, err := s.cfg.Master.Stat(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]jobView, len(st))
	for i, j := range st {
		out[i] = s.view(j)
	}
	return out, nil
}

func (s *Server) detail(ctx context.Context, name string) (*jobDetail, error) {
	v, err := s.jobViews(ctx, name)
	if err != nil {
		return nil, err
	}
	d := &jobDetail{jobView: v[0], Workers: s.workers(name), History: s.hist.get(name), Failed: []failedEntry{}}
	fe, _, err := s.cfg.Master.FailedEntries(name, maxFailedShown)
	if err != nil {
		s.log.Warn("dashboard: read failed entries", "job", name, "err", err)
	}
	for _, f := range fe {
		d.Failed = append(d.Failed, failedEntry{Task: f.Task, Key: f.Key, Reason: f.Detail})
	}
	d.FailedShown = len(d.Failed)
	return d, nil
}

func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	jobs, err := s.jobViews(r.Context(), "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.render(w, http.StatusOK, "jobs", pageData{CSRF: ss.csrf, Jobs: jobs})
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request, ss *session) {
	d, err := s.detail(r.Context(), r.PathValue("name"))
	if errors.Is(err, task.ErrNoJob) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.render(w, http.StatusOK, "job", pageData{CSRF: ss.csrf, Job: d})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) jobsAPI(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.jobViews(r.Context(), "")
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs, "now": time.Now().UnixMilli()})
}

func (s *Server) jobAPI(w http.ResponseWriter, r *http.Request) {
	d, err := s.detail(r.Context(), r.PathValue("name"))
	switch {
	case errors.Is(err, task.ErrNoJob):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such job"})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, d)
	}
}

// retry re-queues a job's failed entries, as `console.sh retry` does.
func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	tasks, entries, err := s.cfg.Master.Retry(r.Context(), name)
	if err != nil {
		s.actionDone(w, r, name, http.StatusConflict, map[string]any{"error": err.Error()})
		return
	}
	s.log.Info("dashboard: retry", "job", name, "tasks", tasks, "entries", entries)
	s.actionDone(w, r, name, http.StatusOK, map[string]any{"tasks": tasks, "entries": entries})
}

// throttle changes a job's bandwidth limit, as `console.sh throttle` does:
// rate in bytes per second (0 unlimited), or reset.
func (s *Server) throttle(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	reset := r.PostFormValue("reset") != ""
	var rate int64
	if !reset {
		f, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("rate")), 64)
		if err != nil || f < 0 || f > 1<<50 {
			s.actionDone(w, r, name, http.StatusBadRequest, map[string]any{"error": "rate: want bytes per second, 0 for no limit"})
			return
		}
		rate = int64(f)
	}
	in, err := s.cfg.Master.Throttle(r.Context(), name, rate, reset)
	if err != nil {
		s.actionDone(w, r, name, http.StatusConflict, map[string]any{"error": err.Error()})
		return
	}
	s.log.Info("dashboard: throttle", "job", name, "bytes_per_sec", in)
	s.actionDone(w, r, name, http.StatusOK, map[string]any{"bytes_per_sec": in})
}

// actionDone answers a script with JSON and a plain form with the job's
// page.
func (s *Server) actionDone(w http.ResponseWriter, r *http.Request, job string, code int, v map[string]any) {
	if r.Header.Get(csrfHeader) != "" {
		writeJSON(w, code, v)
		return
	}
	http.Redirect(w, r, "/jobs/"+job, http.StatusSeeOther)
}

// humanBytes prints a size with a binary unit, as stat does: 35.2MB.
func humanBytes(n any) string {
	var f float64
	switch v := n.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	case int:
		f = float64(v)
	}
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(f, 'f', 0, 64) + "B"
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + units[i]
}

func etaText(sec int64) string {
	if sec < 0 {
		return "-"
	}
	return (time.Duration(sec) * time.Second).String()
}
