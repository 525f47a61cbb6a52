package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireBin returns the path of a program the test needs: under CI=true
// its absence fails the test, elsewhere it skips, naming the package.
func requireBin(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: install Debian's %s (apt-get install %s)", name, pkg, pkg)
	}
	t.Skipf("%s not found: install Debian's %s (apt-get install %s) to run this test", name, pkg, pkg)
	return ""
}

// webHome is a home whose master serves its dashboard and /metrics on a
// free port of its own.
func (h *home) withHTTP(over ...kv) string {
	h.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(h.t))
	h.writeSys(append([]kv{{"httpAddress", addr}}, over...)...)
	return addr
}

func (h *home) tokenFile() string { return filepath.Join(h.workdir, "master", "token") }

func (h *home) token() string {
	h.t.Helper()
	b, err := os.ReadFile(h.tokenFile())
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// scrape returns the master's /metrics, read with the token.
func scrape(t *testing.T, addr, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	return string(b)
}

// metricValue returns the value of the series whose name and labels are
// exactly series's (labels in alphabetical order, as written: `ferry_job_tasks{job="j",state="pending"}`)
// in a /metrics text, and whether it is there.
func metricValue(text, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(l[len(series):]), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// prometheus is a Prometheus server started by a test.
type prometheus struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
	log  string
}

// startPrometheus starts Debian's prometheus scraping target every 500 ms
// with the token in tokenFile, on a free port, with its data in the test's
// directory; it is stopped (by its PID) when the test ends.
func startPrometheus(t *testing.T, target, tokenFile string) *prometheus {
	t.Helper()
	bin := requireBin(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, fmt.Sprintf(`global:
  scrape_interval: 500ms
  scrape_timeout: 500ms
scrape_configs:
  - job_name: ferry-master
    honor_labels: true
    authorization:
      credentials_file: %s
    static_configs:
      - targets: ['%s']
`, tokenFile, target))
	p := &prometheus{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), log: filepath.Join(dir, "prometheus.log")}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	pid := p.cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
	})
	waitFor(t, 30*time.Second, "prometheus ready", func() bool {
		resp, err := http.Get("http://" + p.addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// sample is one series of an instant query's answer.
type sample struct {
	Metric map[string]string
	Value  float64
}

// query runs an instant query through Prometheus' HTTP API.
func (p *prometheus) query(q string) []sample {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.addr+"/api/v1/query?query="+url.QueryEscape(q), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("prometheus query %s: %v", q, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		p.t.Fatalf("prometheus query %s: %v %s %s", q, err, r.Status, r.Error)
	}
	var out []sample
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			p.t.Fatalf("prometheus query %s: value %v", q, s.Value)
		}
		out = append(out, sample{s.Metric, v})
	}
	return out
}

// one runs a query that must answer one series and returns its value, or
// false when it answers none.
func (p *prometheus) one(q string) (float64, bool) {
	p.t.Helper()
	r := p.query(q)
	switch len(r) {
	case 0:
		return 0, false
	case 1:
		return r[0].Value, true
	}
	p.t.Fatalf("prometheus query %s: %d series, want one: %+v", q, len(r), r)
	return 0, false
}

// dashLogin logs in to the dashboard with token and returns a client that
// holds the session cookie.
func dashLogin(t *testing.T, addr, token string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm("http://"+addr+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/" || resp.StatusCode != 200 {
		t.Fatalf("log in: ended at %s with %s, want / and 200 OK", resp.Request.URL, resp.Status)
	}
	return c
}

// dashJob is the part of /api/jobs/{name} the tests read.
type dashJob struct {
	Name        string  `json:"name"`
	State       string  `json:"state"`
	FilesDone   int64   `json:"files_done"`
	FilesFailed int64   `json:"files_failed"`
	RateNow     float64 `json:"rate_now"`
	Limit       int64   `json:"limit_bytes_per_sec"`
	Tasks       struct {
		Pending, Failed int64
	} `json:"tasks"`
	Workers []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Holds []struct {
			Task uint64 `json:"task"`
		} `json:"holds"`
	} `json:"workers"`
	Failed []struct {
		Key, Reason string
	} `json:"failed"`
}

func dashGetJob(t *testing.T, c *http.Client, addr, job string) dashJob {
	t.Helper()
	resp, err := c.Get("http://" + addr + "/api/jobs/" + job)
	if err != nil {
		t.Fatalf("GET /api/jobs/%s: %v", job, err)
	}
	defer resp.Body.Close()
	var j dashJob
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/jobs/%s: %s %v", job, resp.Status, err)
	}
	return j
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
