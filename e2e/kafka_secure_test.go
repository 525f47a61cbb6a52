package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/internal/kafkatest"
)

// TestKafkaSecured: Kafka jobs reach clusters that require SASL (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512) and TLS with a certificate of the test's
// own CA (srcTlsCaFile): kcat, reaching them the same way, reads every
// destination partition equal to the source's. A wrong password and an
// untrusted certificate are one clear line each; the passwords are in no
// output, log or audit line of ferry.
func TestKafkaSecured(t *testing.T) {
	kafkatest.RequireKcat(t)
	ca := kafkatest.NewCA(t)
	pass := map[string]string{"B": "b-Pa55-word-9f3", "C": "c-Pa55-word-7c1", "D": "d-Pa55-word-2e8"}
	a := kafkatest.StartSecure(t, kafkatest.Security{CA: ca})
	b := kafkatest.StartSecure(t, kafkatest.Security{Mechanism: "SCRAM-SHA-256", User: "bob", Password: pass["B"]})
	c := kafkatest.StartSecure(t, kafkatest.Security{Mechanism: "SCRAM-SHA-512", User: "carol", Password: pass["C"], CA: ca})
	d := kafkatest.StartSecure(t, kafkatest.Security{Mechanism: "PLAIN", User: "dave", Password: pass["D"]})
	a.CreateTopic("secret-orders", 3, nil)
	var rs []*kgo.Record
	for i := range 600 {
		rs = append(rs, &kgo.Record{Topic: "secret-orders", Partition: int32(i % 3), Key: fmt.Appendf(nil, "k%d", i),
			Value: fmt.Appendf(nil, "v%d", i), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}})
	}
	a.Produce(rs...)
	a.ProduceAll("secret-orders", 1, []string{"by=kcat"}, []string{"kc1\tfrom kcat", "kc2\tfrom kcat too"}) // kcat over TLS

	h := newHome(t, "kafka-sec")
	if err := os.WriteFile(filepath.Join(h.dir, "conf", "ca.pem"), ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	// side is the job keys of one side: brokers, and its user, password,
	// mechanism and CA file when it has them.
	side := func(role string, cl *kafkatest.Cluster, user, mech string, tls bool) []kv {
		out := []kv{{role + "Domain", cl.Addr()}, {role + "AccessKey", user}, {role + "SecretKey", pass[user]},
			{role + "SaslMechanism", mech}, {role + "TlsCaFile", ""}}
		if user != "" {
			out[2][1] = map[string]string{"bob": pass["B"], "carol": pass["C"], "dave": pass["D"]}[user]
		}
		if tls {
			out[4][1] = "conf/ca.pem" // relative: to the home
		}
		return out
	}
	sides := map[string][]kv{}
	sides["A"] = side("src", a, "", "", true)
	var outputs []string
	keep := func(r result) result {
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	run := func(name string, src, dst []kv) {
		t.Helper()
		job := append([]kv{{"jobName", name}, {"srcType", "kafka"}, {"srcPrefix", ""}, {"destType", "kafka"}, {"destPrefix", ""},
			{"topics", "secret-orders"}, {"taskObjectCountLimit", ""}}, append(src, dst...)...)
		h.writeJob(h.jobFile, job...)
		r := keep(h.ferry(2*time.Minute, "run", h.jobFile))
		if r.code != 0 || !strings.Contains(r.stdout, "copied 602 records in 3 partitions") {
			t.Fatalf("run %s: want exit 0 and 602 records:\n%s", name, r)
		}
		if r := keep(h.ferry(2*time.Minute, "verify", name)); r.code != 0 {
			t.Errorf("verify %s: want exit 0:\n%s", name, r)
		}
		keep(h.ferry(30*time.Second, "stat", "--json", name))
	}
	srcOf := func(dst []kv) []kv {
		out := make([]kv, len(dst))
		for i, x := range dst {
			out[i] = kv{"src" + strings.TrimPrefix(x[0], "dest"), x[1]}
		}
		return out
	}
	toB := side("dest", b, "bob", "SCRAM-SHA-256", false)
	toC := side("dest", c, "carol", "SCRAM-SHA-512", true)
	toD := side("dest", d, "dave", "PLAIN", false)
	run("a-to-b", sides["A"], toB) // TLS with the test's CA to SCRAM-SHA-256
	run("b-to-c", srcOf(toB), toC) // SCRAM-SHA-256 to SCRAM-SHA-512 over TLS
	run("c-to-d", srcOf(toC), toD) // SCRAM-SHA-512 over TLS to PLAIN
	for p := range int32(3) {
		want := a.ReadAll("secret-orders", p) // kcat, over TLS
		if len(want) == 0 {
			t.Fatalf("secret-orders/%d: kcat read nothing on the source", p)
		}
		for name, cl := range map[string]*kafkatest.Cluster{"B": b, "C": c, "D": d} {
			if got := cl.ReadAll("secret-orders", p); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("secret-orders/%d on %s: %d records, the source %d, or they differ", p, name, len(got), len(want))
			}
		}
	}

	// A wrong password: one line naming the side, its user and mechanism.
	bad := side("dest", b, "bob", "SCRAM-SHA-256", false)
	bad[2][1] = "not-" + pass["B"]
	h.writeJob(h.jobFile, append([]kv{{"jobName", "bad"}, {"srcType", "kafka"}, {"srcPrefix", ""}, {"destType", "kafka"},
		{"destPrefix", ""}, {"topics", "secret-orders"}}, append(sides["A"], bad...)...)...)
	r := keep(h.ferry(time.Minute, "submit", "--dry-run", h.jobFile))
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "destination destDomain="+b.Addr()) ||
		!strings.Contains(r.stderr+r.stdout, `(user "bob", mechanism SCRAM-SHA-256`) {
		t.Errorf("a wrong destination password: want an error naming the side, user and mechanism:\n%s", r)
	}
	t.Logf("wrong password: %s", r.stderr)
	// TLS without the CA: the broker's certificate is not trusted.
	noCA := append(side("src", a, "", "", false), kv{"srcTls", "true"})
	h.writeJob(h.jobFile, append([]kv{{"jobName", "bad"}, {"srcType", "kafka"}, {"srcPrefix", ""}, {"destType", "kafka"},
		{"destPrefix", ""}, {"topics", "secret-orders"}}, append(noCA, toB...)...)...)
	r = keep(h.ferry(time.Minute, "submit", "--dry-run", h.jobFile))
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "source srcDomain="+a.Addr()) || !strings.Contains(r.stderr+r.stdout, "certificate") {
		t.Errorf("TLS to a broker whose CA is not trusted: want an error naming the source and the certificate:\n%s", r)
	}
	t.Logf("no CA: %s", r.stderr)
	// A CA file that is not one.
	notCA := append([]kv(nil), toB...)
	notCA[4][1] = h.jobFile
	h.writeJob(h.jobFile, append([]kv{{"jobName", "bad"}, {"srcType", "kafka"}, {"srcPrefix", ""}, {"destType", "kafka"},
		{"destPrefix", ""}, {"topics", "secret-orders"}}, append(sides["A"], notCA...)...)...)
	r = keep(h.ferry(time.Minute, "submit", "--dry-run", h.jobFile))
	if r.code == 0 || !strings.Contains(r.stderr, "destTlsCaFile: "+h.jobFile+" holds no PEM certificate") {
		t.Errorf("a CA file without a certificate: want an error naming the key and file:\n%s", r)
	}

	// No password anywhere ferry printed or wrote (its database aside).
	var files []string
	filepath.Walk(h.workdir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(p, ".db") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 3 {
		t.Fatalf("only %d files under the working directory: %v", len(files), files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		outputs = append(outputs, f+":\n"+string(b))
	}
	for i, o := range outputs {
		for _, p := range pass {
			if strings.Contains(o, p) {
				t.Errorf("a password is in ferry's output or files (#%d):\n%s", i, o)
			}
		}
	}
}
