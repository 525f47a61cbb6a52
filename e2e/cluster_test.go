package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"
)

// Distributed mode (issue 3, DESIGN.md sections 2, 6 and 8): a master in
// this (root) network namespace, workers deployed over SSH to the hosts of
// a netns.Cluster. These tests need root, ip and sshd: they skip without
// them, except under CI=true, where they fail. They do not run in parallel
// with each other: the lease timings they rely on are short.

// TestClusterDeploy deploys to three hosts and runs a job of at least 30
// tasks on them: every host completes tasks, the destination equals the
// source, `stat --workers` lists the three workers alive, and `stop` stops
// the workers and then the master.
func TestClusterDeploy(t *testing.T) {
	ch := newClusterHome(t, "cluster-deploy", 3)
	genSmallTree(t, ch.src, 3000, 11)
	want := regular(snapshot(t, ch.src))

	mpid := ch.start()
	ch.mustDeploy()
	first := map[int]int{}
	for i := range ch.hosts {
		if first[i] = ch.workerPid(i); first[i] == 0 || !alive(first[i]) {
			t.Fatalf("host %d: no live worker after deploy (worker.pid %d)", i, first[i])
		}
	}
	// Deploying again is safe: the binary is not uploaded again, and each
	// worker is replaced by a new one.
	r, lines := ch.deploy()
	if r.code != 0 {
		t.Fatalf("second deploy: want exit 0:\n%s", r)
	}
	token := strings.TrimSpace(readString(t, filepath.Join(ch.workdir, "master", "token")))
	var wpids []int
	for i := range ch.hosts {
		if l := lines[ch.hostLines()[i]]; !strings.HasPrefix(l, "OK") || !strings.Contains(l, "binary up to date") {
			t.Errorf("second deploy, host %d: want OK with the binary up to date, got %q", i, l)
		}
		pid := ch.workerPid(i)
		if pid == 0 || pid == first[i] || !alive(pid) || alive(first[i]) {
			t.Errorf("host %d: after the second deploy worker.pid is %d (alive %t), the first worker %d alive %t; want a new worker in its place",
				i, pid, alive(pid), first[i], alive(first[i]))
		}
		wpids = append(wpids, pid)
		for _, f := range []string{"conf/token", "conf/sys.properties"} {
			if fi, err := os.Stat(filepath.Join(ch.remoteDir(i), f)); err != nil {
				t.Errorf("host %d: %v", i, err)
			} else if fi.Mode().Perm() != 0o600 {
				t.Errorf("host %d: %s has mode %v, want 0600", i, f, fi.Mode().Perm())
			}
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(b), token) {
			t.Errorf("host %d: the worker's command line holds the master's token", i)
		}
		if strings.Contains(readString(t, filepath.Join(ch.remoteDir(i), "conf", "sys.properties")), "privateKeyFile") {
			t.Errorf("host %d: the worker's sys.properties holds the master's SSH settings", i)
		}
	}

	if out := ch.must(30*time.Second, "submit", ch.jobFile); out != "submit job:cluster-deploy success!\n" {
		t.Errorf("submit printed %q", out)
	}
	start := time.Now()
	ch.waitSucceed(2 * time.Minute)
	t.Logf("job of %d files copied by 3 hosts in %s", len(want), time.Since(start).Round(time.Millisecond))

	checkCopiedOnce(t, ch.home, want)
	as := ch.attempts()
	if len(as) < 30 {
		t.Errorf("%d task attempts, want at least 30 tasks", len(as))
	}
	per := workersOf(as)
	t.Logf("tasks per worker: %v", per)
	for i := range ch.hosts {
		if per[ch.id(i)] == 0 {
			t.Errorf("host %d (worker %s) completed no task; tasks per worker: %v", i, ch.id(i), per)
		}
	}
	if len(per) != len(ch.hosts) {
		t.Errorf("tasks were completed by workers %v, want exactly %v", keysOf(per), ch.hostLines())
	}

	ws := ch.workers()
	for i := range ch.hosts {
		if w, ok := ws[ch.id(i)]; !ok || w.state != "alive" {
			t.Errorf("stat --workers: want worker %s alive, got %+v (all: %v)", ch.id(i), w, ws)
		}
	}
	if len(ws) != len(ch.hosts) {
		t.Errorf("stat --workers lists %d workers, want %d: %v", len(ws), len(ch.hosts), ws)
	}

	out := ch.must(2*time.Minute, "stop")
	if !strings.HasSuffix(out, "master stopped\n") {
		t.Errorf("stop printed %q, want it to end with %q", out, "master stopped\n")
	}
	if alive(mpid) {
		t.Errorf("master pid %d still alive after stop", mpid)
	}
	for i, pid := range wpids {
		if alive(pid) {
			t.Errorf("host %d: worker pid %d still alive after stop", i, pid)
		}
		if ps := ch.nsFerry(i); len(ps) > 0 {
			t.Errorf("host %d: ferry processes left after stop: %q", i, ps)
		}
		if !fileHas(ch.workerLog(i), "the master asked this worker to leave") {
			t.Errorf("host %d: the worker was not drained by the master (its log does not say it was asked to leave):\n%s", i, tail(ch.workerLog(i), 10))
		}
	}
}

// TestClusterKillWorker kills one worker with SIGKILL while it holds tasks:
// its leases expire, the other workers take them, and the job finishes with
// an identical destination, every entry counted once; `stat --workers`
// shows the dead worker lost.
func TestClusterKillWorker(t *testing.T) {
	ch := newClusterHome(t, "cluster-kill", 3)
	want := mediumJob(t, ch)
	ch.start()
	ch.mustDeploy()
	const victim = 1
	pid := ch.workerPid(victim)
	if pid == 0 || !alive(pid) {
		t.Fatalf("host %d: no live worker after deploy (worker.pid %d)", victim, pid)
	}
	ch.must(30*time.Second, "submit", ch.jobFile)
	held := ch.waitBusy(victim, 2, time.Minute)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	killed := time.Now()
	t.Logf("killed host %d's worker (pid %d) holding leases %v at %+v", victim, pid, held, ch.statJSON())
	waitFor(t, 10*time.Second, "the killed worker to disappear", func() bool { return !alive(pid) })

	ch.waitSucceed(2 * time.Minute)
	t.Logf("job succeeded %s after the kill", time.Since(killed).Round(time.Millisecond))
	checkCopiedOnce(t, ch.home, want)
	as := ch.attempts()
	if n := reLeased(t, as); n == 0 {
		t.Errorf("no succeeded attempt has attempt > 1: the killed worker's tasks were not re-leased")
	}
	if !fileHas(ch.masterLog(), "lease expired; task back to pending") {
		t.Errorf("master.log does not say the killed worker's leases expired")
	}
	t.Logf("tasks per worker: %v", workersOf(as))

	var ws map[string]workerRow
	waitFor(t, 3*leaseSeconds*time.Second, "stat --workers to show the killed worker lost", func() bool {
		ws = ch.workers()
		return ws[ch.id(victim)].state == "lost"
	})
	for i := range ch.hosts {
		if i != victim && ws[ch.id(i)].state != "alive" {
			t.Errorf("stat --workers: worker %s is %q, want alive (all: %v)", ch.id(i), ws[ch.id(i)].state, ws)
		}
	}
}

// TestClusterLinkDown cuts one host off for longer than the lease while it
// holds tasks, then reconnects it: the master gives its tasks to the
// others, its own completions of them are refused (or it abandons them when
// it learns its leases are lost), nothing is counted twice and nothing is
// lost.
func TestClusterLinkDown(t *testing.T) {
	ch := newClusterHome(t, "cluster-link", 3)
	want := mediumJob(t, ch)
	ch.start()
	ch.mustDeploy()
	const victim = 2
	ch.must(30*time.Second, "submit", ch.jobFile)
	held := ch.waitBusy(victim, 2, time.Minute)
	ch.c.LinkDown(victim)
	down := time.Now()
	t.Logf("host %d cut off holding leases %v at %+v", victim, held, ch.statJSON())

	waitFor(t, 2*leaseSeconds*time.Second, "stat --workers to show the cut-off worker lost", func() bool {
		return ch.workers()[ch.id(victim)].state == "lost"
	})
	t.Logf("worker %s shown lost %s after the cut", ch.id(victim), time.Since(down).Round(time.Millisecond))
	time.Sleep(time.Until(down.Add(12 * time.Second)))
	ch.c.LinkUp(victim)
	t.Logf("host %d reconnected after %s; job: %+v", victim, time.Since(down).Round(time.Millisecond), ch.statJSON())

	ch.waitSucceed(2 * time.Minute)
	// The reconnected worker learns that its leases are gone: the master
	// refuses its completions, or its renewal names them lost, or their
	// deadline passed without a renewal.
	var seen string
	waitFor(t, 40*time.Second, "the reconnected worker to give up its stale tasks", func() bool {
		b, _ := os.ReadFile(ch.workerLog(victim))
		wlog := string(b)
		switch {
		case fileHas(ch.masterLog(), `msg="stale completion refused" worker=`+ch.id(victim)):
			seen = "master.log: stale completion refused"
		case strings.Contains(wlog, "completion refused"):
			seen = "worker.log: completion refused"
		case strings.Contains(wlog, "lease lost; abandoning task"):
			seen = "worker.log: lease lost"
		case strings.Contains(wlog, "lease deadline passed without renewal"):
			seen = "worker.log: lease deadline passed without renewal"
		}
		return seen != "" && len(ch.inflight(victim)) == 0
	})
	t.Logf("the cut-off worker's stale tasks: %s", seen)
	checkCopiedOnce(t, ch.home, want)
	as := ch.attempts()
	if n := reLeased(t, as); n == 0 {
		t.Errorf("no succeeded attempt has attempt > 1: the cut-off worker's tasks were not re-leased")
	}
	// The master recorded an attempt of the cut-off worker only for the
	// leases the worker itself saw completed, never one it refused, and
	// at least one lease it held when cut off was taken back.
	done := ch.logLeases(ch.workerLog(victim), `msg="task completed"`)
	refused := ch.logLeases(ch.masterLog(), `msg="stale completion refused"`)
	for _, a := range as {
		l := taskField(t, a, "lease")
		if refused[l] {
			t.Errorf("attempt %s was recorded under lease %s, whose completion master.log says was refused", a.path, l)
		}
		if a.worker == ch.id(victim) && !done[l] {
			t.Errorf("attempt %s of the cut-off worker was recorded under lease %s, which the worker never saw completed", a.path, l)
		}
	}
	var stale []string
	for _, l := range held {
		if !done[l] {
			stale = append(stale, l)
		}
	}
	if len(stale) == 0 {
		t.Errorf("the worker completed every lease it held when it was cut off (%v): none was taken back", held)
	}
	t.Logf("leases taken back from the cut-off worker: %v; completions refused by the master: %v", stale, keysOf(refused))
	t.Logf("tasks per worker: %v", workersOf(as))
	waitFor(t, 3*leaseSeconds*time.Second, "the reconnected worker to be alive again", func() bool {
		return ch.workers()[ch.id(victim)].state == "alive"
	})
}

// TestClusterDeployFailures deploys to four hosts: one good, one whose
// password is not the one in sys.properties, one whose known_hosts entry
// holds another key, and one cut off. deploy (which starts the master
// itself) reports each with its reason, deploys the good host and exits
// non-zero.
func TestClusterDeployFailures(t *testing.T) {
	ch := newClusterHome(t, "cluster-failures", 4)
	const good, wrongPassword, wrongKey, unreachable = 0, 1, 2, 3
	// known_hosts with host 2's address bound to host 1's key.
	var known []string
	for i, h := range ch.hosts {
		line := h.KnownHosts
		if i == wrongKey {
			line = knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(h.Addr, "22"))}, ch.hosts[wrongPassword].HostKey)
		}
		known = append(known, line)
	}
	kh := filepath.Join(ch.root, "known_hosts")
	writeFile(t, kh, strings.Join(known, "\n")+"\n")
	// Passwords only: host 0's is right, host 1's differs.
	ch.writeClusterSys(kv{"privateKeyFile", ""}, kv{"workerPassword", ch.hosts[good].Password}, kv{"knownHostsFile", kh})
	ch.c.LinkDown(unreachable)

	r, lines := ch.deploy()
	t.Logf("deploy printed:\n%s", r.stdout)
	if len(lines) == 0 {
		t.Fatalf("deploy printed no line for any host:\n%s", r)
	}
	if r.code == 0 {
		t.Errorf("deploy with failing hosts: want a non-zero exit status:\n%s", r)
	}
	want := map[int]string{good: "OK", wrongPassword: "auth failed: ", wrongKey: "host key mismatch: ", unreachable: "unreachable: "}
	for i, prefix := range want {
		l, ok := lines[ch.hostLines()[i]]
		if !ok || !strings.HasPrefix(l, prefix) {
			t.Errorf("deploy: host %d (%s): want a line %q..., got %q:\n%s", i, ch.hostLines()[i], ch.hostLines()[i]+": "+prefix, l, r)
		}
	}
	if len(lines) != len(ch.hosts) {
		t.Errorf("deploy: want %d host lines, got %d:\n%s", len(ch.hosts), len(lines), r)
	}
	for i, h := range ch.hosts {
		if strings.Contains(r.stdout+r.stderr, h.Password) {
			t.Errorf("deploy's output shows host %d's password:\n%s", i, r)
		}
	}
	ws := ch.workers()
	if w := ws[ch.id(good)]; w.state != "alive" || len(ws) != 1 {
		t.Errorf("stat --workers: want only the good host's worker %s, alive; got %v", ch.id(good), ws)
	}
	for _, i := range []int{wrongPassword, wrongKey} {
		if _, err := os.Stat(ch.remoteDir(i)); err == nil {
			t.Errorf("host %d: deploy created %s although it failed to log in", i, ch.remoteDir(i))
		}
	}
	if !strings.Contains(lines[ch.hostLines()[wrongKey]], "ssh-keygen -R") {
		t.Errorf("deploy: the host key mismatch line does not say how to fix it: %q", lines[ch.hostLines()[wrongKey]])
	}
}

// TestClusterWrongToken starts a worker by hand on a host with a token that
// is not the master's: the master refuses it (Unauthenticated) and never
// lists it. The same command with the right token registers.
func TestClusterWrongToken(t *testing.T) {
	ch := newClusterHome(t, "cluster-token", 1)
	ch.start()
	cert := filepath.Join(ch.workdir, "master", "tls.crt")
	tokB, err := os.ReadFile(filepath.Join(ch.workdir, "master", "token"))
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("0", len(strings.TrimSpace(string(tokB))))

	// worker runs `ferry worker` in host 0's namespace with the given token,
	// its own home and ID; it returns a channel closed when the process
	// exits, and the worker's log.
	worker := func(id, token string) (<-chan struct{}, string) {
		home := filepath.Join(ch.root, id)
		tf := filepath.Join(home, "token")
		mkdirs(t, home)
		if err := os.WriteFile(tf, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("ip", "netns", "exec", ch.hosts[0].NS, ferryBin, "--home", home, "worker",
			"--master", ch.addr, "--token-file", tf, "--cert-file", cert, "--id", id)
		out, err := os.Create(filepath.Join(home, "worker.out"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { out.Close() })
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		return exited, filepath.Join(home, "workdir", "logs", "worker.log")
	}

	intruder, ilog := worker("intruder", wrong)
	var said string
	waitFor(t, 15*time.Second, "the worker with a wrong token to be refused", func() bool {
		if _, ok := ch.workers()["intruder"]; ok {
			t.Fatalf("the master lists the worker with a wrong token: %v", ch.workers())
		}
		b, _ := os.ReadFile(ilog)
		o, _ := os.ReadFile(filepath.Join(ch.root, "intruder", "worker.out"))
		said = string(b) + string(o)
		return strings.Contains(said, "Unauthenticated")
	})
	t.Logf("the worker with a wrong token says: %s", strings.TrimSpace(tail(ilog, 1)))
	// It may go on retrying; the master must go on refusing it.
	time.Sleep(2 * time.Second)
	if _, ok := ch.workers()["intruder"]; ok {
		t.Errorf("the master lists the worker with a wrong token: %v", ch.workers())
	}
	select {
	case <-intruder:
		t.Logf("the worker with a wrong token exited by itself")
	default:
		t.Logf("the worker with a wrong token is still running (retrying)")
	}
	if fileHas(ch.masterLog(), `msg="worker registered" worker=intruder`) {
		t.Errorf("master.log names the refused worker as if it had been let in:\n%s", tail(ch.masterLog(), 10))
	}

	// Control: the same command with the master's token is let in.
	worker("rightful", strings.TrimSpace(string(tokB)))
	waitFor(t, 15*time.Second, "the worker with the right token to register", func() bool {
		return ch.workers()["rightful"].state == "alive"
	})
}

// TestClusterAcceptance is issue 3's acceptance walk-through, following
// the README's "Distributed mode" steps as a user would: deploy to three
// hosts (which starts the master), submit, watch `stat` and
// `stat --workers`, kill a worker on its host, and the job finishes with a
// destination `verify` finds identical; `stop` then stops everything.
func TestClusterAcceptance(t *testing.T) {
	ch := newClusterHome(t, "cluster-accept", 3)
	want := mediumJob(t, ch)
	r, lines := ch.deploy()
	if r.code != 0 || len(lines) != len(ch.hosts) {
		t.Fatalf("deploy: want exit 0 and one line per host:\n%s", r)
	}
	if !strings.Contains(r.stdout, "master started") {
		t.Errorf("deploy did not say it started the master:\n%s", r)
	}
	for i, l := range ch.hostLines() {
		if !strings.HasPrefix(lines[l], "OK") {
			t.Errorf("deploy: host %d: want OK, got %q", i, lines[l])
		}
	}
	if out := ch.must(30*time.Second, "submit"); out != "submit job:cluster-accept success!\n" {
		t.Errorf("submit printed %q", out)
	}
	// Watch stat until the copy is under way, then kill a worker the way a
	// user on that host would.
	waitFor(t, time.Minute, "stat to show progress", func() bool {
		st := ch.stat()
		if st.state != "Scanning" && st.state != "Running" {
			t.Fatalf("job is %s before any worker was killed", st.state)
		}
		return len(ch.inflight(0)) > 0
	})
	if ws := ch.workers(); len(ws) != 3 || ws[ch.id(0)].state != "alive" {
		t.Errorf("stat --workers: want 3 workers alive, got %v", ws)
	}
	if out, err := ch.c.Exec(0, "sh", "-c", "kill -9 $(cat "+ch.remoteDir(0)+"/worker.pid)"); err != nil {
		t.Fatalf("kill the worker on host 0: %v: %s", err, out)
	}
	waitFor(t, 2*time.Minute, "stat to say Succeed", func() bool {
		st := ch.stat()
		if st.state == "Failed" || st.state == "Cancelled" {
			t.Fatalf("job ended %s", st.state)
		}
		return st.state == "Succeed"
	})
	st := ch.stat()
	if n := int64(len(want)); st.files != n || st.filesTotal != n || st.filesFailed != 0 {
		t.Errorf("stat: %+v; want Files:%d/%d Failed:0", st, n, n)
	}
	if r := ch.ferry(2*time.Minute, "verify", ch.job); r.code != 0 {
		t.Errorf("verify: want exit 0:\n%s", r)
	}
	checkTree(t, want, ch.dst)
	out := ch.must(2*time.Minute, "stop")
	if !strings.HasSuffix(out, "master stopped\n") {
		t.Errorf("stop printed %q, want it to end with %q", out, "master stopped\n")
	}
	for i := range ch.hosts {
		if ps := ch.nsFerry(i); len(ps) > 0 {
			t.Errorf("host %d: ferry processes left after stop: %q", i, ps)
		}
	}
}

// TestClusterJoin adds a host to conf/workers while a job runs and deploys
// again: the new worker takes tasks in the running job, the redeployed ones
// carry on, and the job ends identical, every entry counted once.
func TestClusterJoin(t *testing.T) {
	ch := newClusterHome(t, "cluster-join", 3)
	genSizedTree(t, ch.src, 640, 1<<20, 7)
	// Held to 96 MB/s, so that the job outlasts the second deploy on a
	// fast machine too (unthrottled, it once ended within it).
	ch.writeJob(ch.jobFile, kv{"taskObjectCountLimit", "8"}, kv{"maxThroughput", "96M"})
	want := regular(snapshot(t, ch.src))
	const joiner = 2
	ch.writeWorkers(ch.hostLines()[:joiner]...)
	ch.start()
	r, lines := ch.deploy()
	if r.code != 0 || len(lines) != joiner {
		t.Fatalf("deploy to hosts 0 and 1: want exit 0 and 2 lines:\n%s", r)
	}
	ch.must(30*time.Second, "submit", ch.jobFile)
	ch.waitBusy(0, 1, time.Minute)

	ch.writeWorkers(ch.hostLines()...)
	ch.mustDeploy()
	st := ch.statJSON()
	t.Logf("host %d joined at %d/%d files, %d tasks pending", joiner, st.FilesDone, st.FilesTotal, st.PendingTasks)
	if st.JobState == "Succeed" {
		t.Fatalf("the job finished before host %d joined: make it bigger", joiner)
	}
	ch.waitSucceed(2 * time.Minute)
	checkCopiedOnce(t, ch.home, want)
	per := workersOf(ch.attempts())
	t.Logf("tasks per worker: %v", per)
	for i := range ch.hosts {
		if per[ch.id(i)] == 0 {
			t.Errorf("host %d (worker %s) completed no task; tasks per worker: %v", i, ch.id(i), per)
		}
	}
}
