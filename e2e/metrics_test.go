package e2e

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMetricsPrometheus has a real Prometheus (Debian's) scrape a running
// master every 500 ms during a 20,000-file job, then reads its HTTP API:
// the job's copied-entries metric equals stat --json's count at the end,
// the pending tasks, seen above 0 while it ran, fall to 0; the store
// requests of the worker are there; promtool finds nothing to say about
// the exposition; and the master exports fewer than 300 series.
func TestMetricsPrometheus(t *testing.T) {
	promtool := requireBin(t, "promtool", "prometheus")
	h := newHome(t, "promjob")
	genSizedTree(t, h.src, 20000, 1024, 7)
	addr := h.withHTTP()
	// About 8 s of copying, so that Prometheus sees the job run.
	h.writeJob(h.jobFile, kv{"taskObjectCountLimit", "500"}, kv{"maxThroughput", "2500K"})
	h.start()
	p := startPrometheus(t, addr, h.tokenFile())
	waitFor(t, 30*time.Second, "prometheus scraping the master", func() bool {
		v, ok := p.one(`up{instance="` + addr + `"}`)
		return ok && v == 1
	})
	h.must(30*time.Second, "submit", h.jobFile)
	start := time.Now()
	var st jobStat
	waitFor(t, 5*time.Minute, "the job to succeed", func() bool {
		st = h.statJSON()
		return st.JobState == "Succeed"
	})
	t.Logf("job done in %s: %d files", time.Since(start).Round(time.Millisecond), st.FilesDone)
	waitFor(t, 30*time.Second, "a scrape after the end", func() bool {
		v, ok := p.one(`ferry_job_state{job="promjob",state="Succeed"}`)
		return ok && v == 1
	})
	copied, ok := p.one(`ferry_job_entries{job="promjob",result="copied"}`)
	if want := st.FilesDone - st.FilesSkipped; !ok || int64(copied) != want || want != 20000 {
		t.Errorf("ferry_job_entries copied = %v (%v), stat --json says %d copied (%d done, %d skipped); want 20000", copied, ok, want, st.FilesDone, st.FilesSkipped)
	}
	if v, ok := p.one(`ferry_job_tasks{job="promjob",state="pending"}`); !ok || v != 0 {
		t.Errorf("pending tasks at the end: %v (%v), want 0", v, ok)
	}
	if v, ok := p.one(`max_over_time(ferry_job_tasks{job="promjob",state="pending"}[10m])`); !ok || v == 0 {
		t.Errorf("pending tasks never seen above 0 while the job ran: %v (%v)", v, ok)
	}
	if v, ok := p.one(`ferry_job_pending_entries{job="promjob"}`); !ok || v != 0 {
		t.Errorf("pending entries at the end: %v (%v), want 0", v, ok)
	}
	if v, ok := p.one(`max_over_time(ferry_job_throughput_bytes_per_second{job="promjob"}[10m])`); !ok || v <= 0 {
		t.Errorf("throughput never above 0: %v (%v)", v, ok)
	}
	if v, ok := p.one(`sum(ferry_store_request_duration_seconds_count{store="local",class="ok",op=~"put|put_multipart"})`); !ok || v < 20000 {
		t.Errorf("store requests: %v puts (%v), want at least 20000", v, ok)
	}
	if v, ok := p.one(`sum(ferry_store_request_duration_seconds_count{store="local",op="list"})`); !ok || v < 1 {
		t.Errorf("store requests: %v lists (%v), want the master's scan", v, ok)
	}
	n, _ := p.one(`count({instance="` + addr + `"})`)
	t.Logf("series of the master in Prometheus: %v", n)
	if n <= 0 || n >= 300 {
		t.Errorf("%v series, want fewer than 300", n)
	}

	text := scrape(t, addr, h.token())
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, secret := range []string{"f0001.bin", "d00", h.src, h.token()} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics contains %q", secret)
		}
	}
}

// TestMetricsWorkerLost kills (kill -9) one of two worker processes while
// it holds tasks: within a lease period the metrics count the expired
// leases and show the worker lost, and so does the dashboard; the other
// worker finishes the job.
func TestMetricsWorkerLost(t *testing.T) {
	const lease = 5 * time.Second
	h := newHome(t, "lostjob")
	genSizedTree(t, h.src, 1000, 4096, 3)
	addr := h.withHTTP(kv{"taskLeaseSeconds", "5"}, kv{"workerMaxThroughput(KB/s)", "400"})
	writeFile(t, h.dir+"/conf/workers", "127.0.0.1\n") // distributed: no local worker
	h.writeJob(h.jobFile, kv{"taskObjectCountLimit", "40"})
	h.start()
	h.must(30*time.Second, "submit", h.jobFile)
	w1 := h.background(t.Context(), "worker", "--id", "w1")
	w2 := h.background(t.Context(), "worker", "--id", "w2")
	t.Cleanup(func() {
		for _, w := range []*bgRun{w1, w2} {
			w.cmd.Process.Kill()
		}
	})
	tok := h.token()
	waitFor(t, 60*time.Second, "w1 holding tasks", func() bool {
		v, ok := metricValue(scrape(t, addr, tok), `ferry_worker_tasks_running{worker="w1"}`)
		return ok && v > 0
	})
	before, _ := metricValue(scrape(t, addr, tok), `ferry_lease_expiries_total{job="lostjob"}`)
	if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var lostAt, expiredAt time.Duration
	for lostAt == 0 || expiredAt == 0 {
		if time.Since(killed) > 3*lease {
			t.Fatalf("after %s: lost at %s, leases expired at %s (0: not yet)\n%s", 3*lease, lostAt, expiredAt, scrape(t, addr, tok))
		}
		text := scrape(t, addr, tok)
		if v, _ := metricValue(text, `ferry_worker_state{state="lost",worker="w1"}`); v == 1 && lostAt == 0 {
			lostAt = time.Since(killed)
		}
		if v, _ := metricValue(text, `ferry_lease_expiries_total{job="lostjob"}`); v > before && expiredAt == 0 {
			expiredAt = time.Since(killed)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("after kill -9 of w1: shown lost in %s, its leases expired in %s (lease %s)", lostAt.Round(time.Millisecond), expiredAt.Round(time.Millisecond), lease)
	// The last heartbeat was up to a second before the kill; the reaper
	// looks every 500 ms.
	if lostAt > lease+time.Second || expiredAt > lease+time.Second {
		t.Errorf("lost after %s, leases expired after %s: want within the lease period (%s) and the reaper's tick", lostAt, expiredAt, lease)
	}
	if v, _ := metricValue(scrape(t, addr, tok), `ferry_worker_state{state="alive",worker="w2"}`); v != 1 {
		t.Errorf("w2 not alive in the metrics")
	}
	// The dashboard says the same; by the end of the lease period w1
	// holds nothing (a lease granted just before the kill expires last).
	c := dashLogin(t, addr, tok)
	var states map[string]string
	var held []uint64
	for {
		j := dashGetJob(t, c, addr, "lostjob")
		states, held = map[string]string{}, nil
		for _, w := range j.Workers {
			states[w.ID] = w.State
			if w.ID == "w1" {
				for _, x := range w.Holds {
					held = append(held, x.Task)
				}
			}
		}
		if states["w1"] == "lost" && len(held) == 0 || time.Since(killed) > lease+time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("dashboard %s after the kill: workers %v, w1 holds %v", time.Since(killed).Round(time.Millisecond), states, held)
	if states["w1"] != "lost" || states["w2"] != "alive" || len(held) != 0 {
		t.Errorf("dashboard workers: %v, w1 holding %v; want w1 lost holding nothing and w2 alive", states, held)
	}
	resp, err := c.Get("http://" + addr + "/jobs/lostjob")
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if !strings.Contains(page, `data-worker="w1" data-state="lost"`) {
		t.Errorf("job page does not show w1 lost:\n%s", page)
	}
	waitFor(t, 5*time.Minute, "w2 to finish the job", func() bool { return h.statJSON().JobState == "Succeed" })
	if st := h.statJSON(); st.FilesDone != 1000 || st.FilesFailed != 0 {
		t.Errorf("end: %+v, want 1000 files done", st)
	}
}
