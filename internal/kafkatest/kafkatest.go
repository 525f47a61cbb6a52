// Package kafkatest runs Kafka clusters for tests: kfake brokers (the
// Kafka protocol, in process, on real loopback TCP ports), and kcat
// (Debian's librdkafka client, which shares no code with ferry) to read
// back what landed. Tests that need kcat call RequireKcat: under CI=true
// a missing kcat fails the test, elsewhere it skips naming the package.
package kafkatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Cluster is one kfake cluster, closed when the test ends.
type Cluster struct {
	*kfake.Cluster
	t   testing.TB
	sec *Security // nil: plain TCP, no SASL
}

// Start starts a one-broker cluster on a loopback port.
func Start(t testing.TB, opts ...kfake.Opt) *Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return &Cluster{Cluster: c, t: t}
}

// Security is how a secured cluster is reached: a SASL mechanism (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512; "" none) with its user and password,
// and TLS with a certificate CA signs (CAFile, made by NewCA; "" none).
type Security struct {
	Mechanism, User, Password string
	CA                        *CA
}

// StartSecure starts a cluster that requires sec: its user is the only
// one (a superuser), and with sec.CA it speaks only TLS.
func StartSecure(t testing.TB, sec Security) *Cluster {
	t.Helper()
	var opts []kfake.Opt
	if sec.Mechanism != "" {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(sec.Mechanism, sec.User, sec.Password))
	}
	if sec.CA != nil {
		opts = append(opts, kfake.TLS(sec.CA.Server))
	}
	c := Start(t, opts...)
	c.sec = &sec
	return c
}

// clientOpts are the options that reach the cluster as its user.
func (c *Cluster) clientOpts() []kgo.Opt {
	o := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	if c.sec == nil {
		return o
	}
	switch c.sec.Mechanism {
	case "PLAIN":
		o = append(o, kgo.SASL(plain.Auth{User: c.sec.User, Pass: c.sec.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		o = append(o, kgo.SASL(scram.Auth{User: c.sec.User, Pass: c.sec.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		o = append(o, kgo.SASL(scram.Auth{User: c.sec.User, Pass: c.sec.Password}.AsSha512Mechanism()))
	}
	if c.sec.CA != nil {
		o = append(o, kgo.DialTLSConfig(c.sec.CA.Client()))
	}
	return o
}

// Kcat is how kcat reaches the cluster: "-b addr", and for a secured
// cluster "-F file" with its security settings (so that the password is
// not in kcat's argv either).
func (c *Cluster) Kcat() []string {
	args := []string{"-b", c.Addr()}
	if c.sec == nil {
		return args
	}
	proto := "SASL_PLAINTEXT"
	switch {
	case c.sec.Mechanism == "" && c.sec.CA != nil:
		proto = "SSL"
	case c.sec.CA != nil:
		proto = "SASL_SSL"
	}
	conf := "security.protocol=" + proto + "\n"
	if c.sec.Mechanism != "" {
		conf += fmt.Sprintf("sasl.mechanisms=%s\nsasl.username=%s\nsasl.password=%s\n", c.sec.Mechanism, c.sec.User, c.sec.Password)
	}
	if c.sec.CA != nil {
		conf += "ssl.ca.location=" + c.sec.CA.File + "\nssl.endpoint.identification.algorithm=none\n"
	}
	f := filepath.Join(c.t.TempDir(), "kcat.conf")
	if err := os.WriteFile(f, []byte(conf), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return append(args, "-F", f)
}

// Addr is the cluster's bootstrap address, host:port.
func (c *Cluster) Addr() string { return strings.Join(c.ListenAddrs(), ",") }

// Client returns a franz-go client of the cluster, closed at the end of
// the test.
func (c *Cluster) Client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	cl, err := kgo.NewClient(append(c.clientOpts(), opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// Admin returns an admin client of the cluster.
func (c *Cluster) Admin() *kadm.Client { return kadm.NewClient(c.Client()) }

// CreateTopic creates a topic with partitions and configs.
func (c *Cluster) CreateTopic(name string, partitions int32, configs map[string]string) {
	c.t.Helper()
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = &v
	}
	if _, err := c.Admin().CreateTopic(context.Background(), partitions, 1, cfg, name); err != nil {
		c.t.Fatalf("create topic %s: %v", name, err)
	}
}

// Produce writes records synchronously (each to its Partition).
func (c *Cluster) Produce(rs ...*kgo.Record) {
	c.t.Helper()
	cl := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxBufferedRecords(1<<20))
	for _, r := range rs {
		cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err != nil {
				c.t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

// ProduceTxn writes records in one transaction, committed or aborted.
func (c *Cluster) ProduceTxn(id string, commit bool, rs ...*kgo.Record) {
	c.t.Helper()
	cl := c.Client(kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		c.t.Fatal(err)
	}
	for _, r := range rs {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		c.t.Fatal(err)
	}
	cl.Close()
}

// RequireKcat fails the test under CI=true when kcat is missing, and
// skips it otherwise.
func RequireKcat(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err == nil {
		return p
	}
	const install = "apt-get install -y kcat"
	if os.Getenv("CI") == "true" {
		t.Fatalf("kcat not found (%v); CI must run this test: %s", err, install)
	}
	t.Skipf("kcat not found (%v); to run this test: %s", err, install)
	return ""
}

// Rec is a record as kcat prints it: key, value, headers ("k=v,k=v") and
// timestamp (ms), without its offset.
type Rec struct {
	Key, Value, Headers string
	Timestamp           int64
}

func (r Rec) String() string {
	return fmt.Sprintf("%q=%q [%s] @%d", r.Key, r.Value, r.Headers, r.Timestamp)
}

// ReadPartition reads a partition from the beginning to its end with
// kcat, read_committed, and returns its records in order. Keys, values and
// headers must hold no tab or newline.
func ReadPartition(t testing.TB, addr, topic string, partition int32) []Rec {
	t.Helper()
	return ReadFrom(t, addr, topic, partition, -1, 0)
}

// ReadAll reads a partition of c as ReadPartition does: with kcat,
// reaching c as c.Kcat says, except on a cluster that requires SASL,
// which kcat cannot reach (librdkafka 2.0 needs SASLHandshake v0, which
// kfake does not serve), read with franz-go, in kcat's form.
func (c *Cluster) ReadAll(topic string, partition int32) []Rec {
	c.t.Helper()
	if c.sec == nil || c.sec.Mechanism == "" {
		return readWith(c.t, c.Kcat(), topic, partition, -1, 0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ends, err := kadm.NewClient(c.Client()).ListCommittedOffsets(ctx, topic)
	if err != nil {
		c.t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	end, _ := ends.Lookup(topic, partition)
	var recs []Rec
	if end.Offset <= 0 {
		return recs
	}
	cl := c.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	defer cl.Close()
	for pos := int64(-1); pos+1 < end.Offset; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("read %s/%d: stopped at offset %d of %d", topic, partition, pos, end.Offset)
		}
		fs.EachRecord(func(r *kgo.Record) {
			pos = r.Offset
			if r.Attrs.IsControl() || r.Offset >= end.Offset {
				return
			}
			var hs []string
			for _, h := range r.Headers {
				hs = append(hs, h.Key+"="+string(h.Value))
			}
			recs = append(recs, Rec{Key: string(r.Key), Value: string(r.Value), Headers: strings.Join(hs, ","), Timestamp: r.Timestamp.UnixMilli()})
		})
	}
	return recs
}

// ReadFrom reads a partition from offset off (-1: the beginning), at most
// max records (0: to its end), with kcat, read_committed.
func ReadFrom(t testing.TB, addr, topic string, partition int32, off int64, max int) []Rec {
	t.Helper()
	return readWith(t, []string{"-b", addr}, topic, partition, off, max)
}

func readWith(t testing.TB, reach []string, topic string, partition int32, off int64, max int) []Rec {
	t.Helper()
	kcat := RequireKcat(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	from := "beginning"
	if off >= 0 {
		from = fmt.Sprint(off)
	}
	args := append([]string{"-C"}, reach...)
	args = append(args, "-t", topic, "-p", fmt.Sprint(partition), "-o", from, "-e", "-q",
		"-X", "isolation.level=read_committed", "-Z", "-f", "%k\t%s\t%h\t%T\n")
	if max > 0 {
		args = append(args, "-c", fmt.Sprint(max))
	}
	cmd := exec.CommandContext(ctx, kcat, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat read %s/%d: %v\n%s", topic, partition, err, stderr.String())
	}
	var recs []Rec
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("kcat line %q: not 4 fields", line)
		}
		var ts int64
		fmt.Sscan(f[3], &ts)
		recs = append(recs, Rec{Key: f[0], Value: f[1], Headers: f[2], Timestamp: ts})
	}
	return recs
}

// ProduceKcat writes key\tvalue lines to a partition with kcat, each with
// the same headers.
func ProduceKcat(t testing.TB, addr, topic string, partition int32, headers []string, lines []string) {
	t.Helper()
	produceWith(t, []string{"-b", addr}, topic, partition, headers, lines)
}

// ProduceAll writes lines as ProduceKcat does, reaching c as c.Kcat says.
func (c *Cluster) ProduceAll(topic string, partition int32, headers []string, lines []string) {
	c.t.Helper()
	produceWith(c.t, c.Kcat(), topic, partition, headers, lines)
}

func produceWith(t testing.TB, reach []string, topic string, partition int32, headers []string, lines []string) {
	t.Helper()
	kcat := RequireKcat(t)
	args := append([]string{"-P"}, reach...)
	args = append(args, "-t", topic, "-p", fmt.Sprint(partition), "-K", "\t", "-q")
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	cmd := exec.Command(kcat, args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce %s/%d: %v\n%s", topic, partition, err, out)
	}
}
