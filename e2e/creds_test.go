package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ferry/proto"
	"ferry/rpc"
)

// Worker credentials (issue 15, "workers hold the console's power"): each
// host deploy reaches gets a credential of its own, which lets its worker
// lease and report as itself and nothing else, and `revoke` withdraws.

// credOf reads host i's deployed credential.
func (ch *clusterHome) credOf(i int) string {
	ch.t.Helper()
	return strings.TrimSpace(readString(ch.t, filepath.Join(ch.remoteDir(i), "conf", "token")))
}

// dialAs connects to the running master as a worker host holding secret
// would: TLS with the pinned certificate, the secret as its token.
func (ch *clusterHome) dialAs(secret string) (pb.ControlClient, pb.MasterClient) {
	ch.t.Helper()
	cert, err := os.ReadFile(filepath.Join(ch.workdir, "master", "tls.crt"))
	if err != nil {
		ch.t.Fatal(err)
	}
	conn, err := rpc.DialPinned(ch.addr, secret, cert)
	if err != nil {
		ch.t.Fatal(err)
	}
	ch.t.Cleanup(func() { conn.Close() })
	return pb.NewControlClient(conn), pb.NewMasterClient(conn)
}

// TestClusterCredentials deploys to three hosts and checks that:
//   - each host holds a credential of its own (mode 0600), not the master's
//     token, absent from its worker's command line, from `stat --workers`
//     (which lists the hosts holding one) and from every log;
//   - a host's credential cannot Submit, Clean or Stop (refused, nothing
//     changed), nor register as another host;
//   - `revoke` mid-job stops that host's worker with a one-line error, its
//     tasks go to the other hosts, the job finishes with every entry
//     counted once, and the master logs the refusals a few times, not at
//     every call;
//   - deploying again gives the host a fresh credential that works.
func TestClusterCredentials(t *testing.T) {
	ch := newClusterHome(t, "cluster-creds", 3)
	want := mediumJob(t, ch)
	// Tasks slow enough (8 MiB at some 8 MB/s a worker: about 1 s) that
	// the ones host 0 holds when it is revoked are still running when the
	// revocation lands, even on a loaded machine: at full speed (100 ms a
	// task) it could finish them first, and nothing would be re-leased.
	ch.writeJob(ch.jobFile, kv{"taskObjectCountLimit", "8"}, kv{"maxThroughput", "24MB"})
	mpid := ch.start()
	ch.mustDeploy()
	token := strings.TrimSpace(readString(t, filepath.Join(ch.workdir, "master", "token")))
	creds := map[string]int{}
	for i := range ch.hosts {
		c := ch.credOf(i)
		if c == token || len(c) < 64 {
			t.Fatalf("host %d holds %s, want a credential of its own", i, map[bool]string{true: "the master's token", false: "a short secret"}[c == token])
		}
		if j, dup := creds[c]; dup {
			t.Fatalf("hosts %d and %d hold the same credential", j, i)
		}
		creds[c] = i
		if fi, err := os.Stat(filepath.Join(ch.remoteDir(i), "conf", "token")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("host %d: conf/token: %v %v, want mode 0600", i, fi.Mode(), err)
		}
		pid := ch.workerPid(i)
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || len(b) == 0 {
			t.Fatalf("host %d: read the worker's (pid %d) command line: %v", i, pid, err)
		}
		if strings.Contains(string(b), c) || strings.Contains(string(b), token) {
			t.Errorf("host %d: the worker's command line holds a secret: %q", i, b)
		}
	}
	stat := ch.must(30*time.Second, "stat", "--workers")
	for i := range ch.hosts {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ch.id(i)) + `\s+\d{4}-\d\d-\d\dT`).MatchString(stat) {
			t.Errorf("stat --workers does not list host %d's credential:\n%s", i, stat)
		}
	}

	// A host's credential against the console's calls, over real gRPC.
	ch.must(30*time.Second, "submit", ch.jobFile)
	cc, mc := ch.dialAs(ch.credOf(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cc.Submit(ctx, &pb.SubmitRequest{Spec: &pb.JobSpec{Name: "evil"}})
	wantStatus(t, "Submit with host 0's credential", err, codes.PermissionDenied)
	_, err = cc.Clean(ctx, &pb.CleanRequest{Job: ch.job, Force: true})
	wantStatus(t, "Clean with host 0's credential", err, codes.PermissionDenied)
	_, err = cc.Stop(ctx, &pb.StopRequest{})
	wantStatus(t, "Stop with host 0's credential", err, codes.PermissionDenied)
	_, err = cc.Stat(ctx, &pb.StatRequest{Credentials: true})
	wantStatus(t, "Stat with host 0's credential", err, codes.PermissionDenied)
	_, err = mc.Register(ctx, &pb.RegisterRequest{WorkerId: ch.id(1), Host: ch.id(1)})
	wantStatus(t, "Register as host 1 with host 0's credential", err, codes.PermissionDenied)
	if !alive(mpid) {
		t.Fatal("the master died after the refused calls")
	}
	if r := ch.ferry(30*time.Second, "stat"); r.code != 0 || strings.Contains(r.stdout, "evil") || !strings.Contains(r.stdout, "JobName:"+ch.job) {
		t.Fatalf("after the refused calls, stat says:\n%s", r)
	}

	// The same by hand: host 0's credential, stolen to host 2, claiming
	// host 1's ID: the worker is refused and exits, saying so in one line.
	out, err := exec.Command("ip", "netns", "exec", ch.hosts[2].NS, ferryBin, "--home", filepath.Join(ch.root, "impostor"), "worker",
		"--master", ch.addr, "--token-file", filepath.Join(ch.remoteDir(0), "conf", "token"),
		"--cert-file", filepath.Join(ch.remoteDir(0), "conf", "tls.crt"), "--id", ch.id(1)).CombinedOutput()
	if err == nil || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 || !strings.Contains(string(out), "not worker \""+ch.id(1)+"\"") {
		t.Errorf("a worker with host 0's credential claiming host 1's ID: %v, %q; want a one-line refusal", err, out)
	}
	if ws := ch.workers(); ws[ch.id(1)].host != ws[ch.id(0)].host || len(ws) != 3 {
		t.Errorf("stat --workers after the impostor: %v", ws)
	}

	// Revoke host 0 while it holds tasks.
	const victim = 0
	pid := ch.workerPid(victim)
	held := ch.waitBusy(victim, 2, time.Minute)
	if out := ch.must(30*time.Second, "revoke", ch.id(victim)); out != "revoke worker:"+ch.id(victim)+" success!\n" {
		t.Errorf("revoke printed %q", out)
	}
	revoked := time.Now()
	t.Logf("revoked host %d holding leases %v", victim, held)
	waitFor(t, 15*time.Second, "the revoked worker to exit", func() bool { return !alive(pid) })
	t.Logf("the revoked worker exited %s after the revocation", time.Since(revoked).Round(time.Millisecond))
	byVictim := workersOf(ch.attempts())[ch.id(victim)]
	last := strings.TrimSpace(tail(ch.workerOut(victim), 1))
	if !strings.HasPrefix(last, "ferry: worker "+ch.id(victim)+": ") || !strings.Contains(last, "revoked") || !strings.Contains(last, "console.sh deploy") {
		t.Errorf("the revoked worker's last words: %q; want one line saying it was revoked and what to do", last)
	}
	r := ch.ferry(30*time.Second, "revoke", ch.id(victim))
	if r.code != 1 || !strings.Contains(r.stderr, "holds no credential") {
		t.Errorf("revoke again: want exit 1 saying the host holds no credential:\n%s", r)
	}

	ch.waitSucceed(2 * time.Minute)
	checkCopiedOnce(t, ch.home, want)
	as := ch.attempts()
	if n := reLeased(t, as); n == 0 {
		t.Errorf("no succeeded attempt has attempt > 1: the revoked worker's tasks were not given to others")
	}
	per := workersOf(as)
	t.Logf("tasks per worker: %v", per)
	if per[ch.id(victim)] != byVictim {
		t.Errorf("the revoked host had %d attempts recorded when its worker exited, %d at the end", byVictim, per[ch.id(victim)])
	}
	ws := ch.workers()
	if ws[ch.id(victim)].state != "revoked" || ws[ch.id(1)].state != "alive" || ws[ch.id(2)].state != "alive" {
		t.Errorf("stat --workers: want host %d revoked and the others alive: %v", victim, ws)
	}
	stat = ch.must(30*time.Second, "stat", "--workers")
	if regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ch.id(victim)) + `\s+\d{4}-`).MatchString(stat) {
		t.Errorf("stat --workers still lists the revoked host's credential:\n%s", stat)
	}
	// Refusals are logged, with the peer, a line per window at most.
	mlog := readString(t, ch.masterLog())
	refusals := regexp.MustCompile(`msg="rpc refused" peer=`+regexp.QuoteMeta(ch.hosts[victim].Addr)+`:\d+ .*revoked credential of worker `+regexp.QuoteMeta(ch.id(victim))).FindAllString(mlog, -1)
	if len(refusals) == 0 || len(refusals) > 3 {
		t.Errorf("master.log has %d lines refusing the revoked host; want one or a few (rate-limited):\n%s", len(refusals), tail(ch.masterLog(), 20))
	}

	// Deploy again: a fresh credential, and the host works again.
	old := ch.credOf(victim)
	ch.mustDeploy()
	if c := ch.credOf(victim); c == old {
		t.Error("deploy after revoke shipped the revoked credential again")
	}
	if ws := ch.workers(); ws[ch.id(victim)].state != "alive" {
		t.Errorf("after deploying again, host %d's worker is %q, want alive", victim, ws[ch.id(victim)].state)
	}

	// No secret anywhere it may be read.
	secrets := []string{token, old}
	for i := range ch.hosts {
		secrets = append(secrets, ch.credOf(i))
	}
	for c := range creds {
		secrets = append(secrets, c)
	}
	logs := []string{ch.masterLog(), filepath.Join(ch.workdir, "logs", "tracker.log"), filepath.Join(ch.root, "impostor", "workdir", "logs", "worker.log")}
	for i := range ch.hosts {
		logs = append(logs, ch.workerLog(i), ch.workerOut(i), ch.workerOut(i)+".1")
	}
	stat = ch.must(30*time.Second, "stat", "--workers")
	for _, s := range secrets {
		if strings.Contains(stat, s) {
			t.Errorf("stat --workers shows a secret:\n%s", stat)
		}
		for _, l := range logs {
			if fileHas(l, s) {
				t.Errorf("%s holds a secret", l)
			}
		}
	}
}

// wantStatus fails t unless err has code.
func wantStatus(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: %v, want code %v", what, err, code)
	}
}
