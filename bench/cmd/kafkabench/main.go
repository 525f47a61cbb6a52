// Command kafkabench measures ferry's Kafka copy (issue 21) against the
// ceiling of a plain franz-go consume-then-produce loop, on the same
// clusters in the same run. It starts a kfake source cluster on loopback
// TCP, fills one topic with -records records of -size bytes (keys of 16
// bytes, values half random and half text, a header, timestamps) over -partitions partitions, then, -rounds
// times, alternating which goes first, copies the topic into a fresh kfake
// destination cluster with each tool:
//
//   - loop: one franz-go client consuming every partition (read_committed,
//     64 MiB fetches) and one producing each record to the same partition
//     of the destination (no transactions, acks=all, idempotent, franz-go's
//     default batching), until every record is acknowledged;
//   - ferry: `ferry run` of a once job (exactly once: transactions with
//     their offset checkpoints), timed from the command's start to its
//     exit, with as many task slots as partitions.
//
// Each copy is checked: the destination's records are counted (the loop)
// or ferry's summary must say every record was copied. It prints a
// markdown table of the median records/s and the ratio ferry/loop.
//
//	go run ./bench/cmd/kafkabench -ferry bin/ferry -records 1000000 -size 1024
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const topic = "bench"

func main() {
	ferry := flag.String("ferry", "ferry", "the ferry binary")
	records := flag.Int("records", 1_000_000, "records in the topic")
	size := flag.Int("size", 1024, "bytes of each record's value")
	partitions := flag.Int("partitions", 8, "partitions of the topic")
	rounds := flag.Int("rounds", 3, "copies by each tool")
	dir := flag.String("dir", "", "working directory (default a temporary one)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "kafkabench-")
		check(err)
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx := context.Background()

	src := cluster()
	defer src.Close()
	start := time.Now()
	fill(ctx, src, *records, *size, *partitions)
	fmt.Fprintf(os.Stderr, "source: %d records of %d bytes in %d partitions, written in %s\n",
		*records, *size, *partitions, time.Since(start).Round(time.Millisecond))

	rates := map[string][]float64{}
	for r := range *rounds {
		order := []string{"loop", "ferry"}
		if r%2 == 1 {
			order = []string{"ferry", "loop"}
		}
		for _, tool := range order {
			dst := cluster()
			var took time.Duration
			switch tool {
			case "loop":
				took = loop(ctx, src, dst, *records)
			case "ferry":
				took = runFerry(*ferry, filepath.Join(*dir, fmt.Sprintf("ferry-%d", r)), src, dst, *records, *partitions)
			}
			dst.Close()
			rate := float64(*records) / took.Seconds()
			rates[tool] = append(rates[tool], rate)
			fmt.Fprintf(os.Stderr, "round %d %-5s %8.0f records/s (%s)\n", r+1, tool, rate, took.Round(time.Millisecond))
			runtime.GC()
		}
	}
	l, f := median(rates["loop"]), median(rates["ferry"])
	mb := float64(*size+16) / (1 << 20)
	fmt.Printf("| tool | records/s (median of %d) | MiB/s of keys and values | runs |\n|---|---:|---:|---|\n", *rounds)
	fmt.Printf("| franz-go consume-then-produce loop | %.0f | %.1f | %s |\n", l, l*mb, list(rates["loop"]))
	fmt.Printf("| ferry run (exactly once) | %.0f | %.1f | %s |\n", f, f*mb, list(rates["ferry"]))
	fmt.Printf("\nferry / loop = %.2f (target >= 0.80: %s)\n", f/l, map[bool]string{true: "met", false: "NOT met"}[f/l >= 0.8])
}

func cluster() *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	check(err)
	return c
}

// fill writes the source topic: records spread over the partitions in
// turn, each with a 16-byte key, a value of size bytes, a header and a
// timestamp.
func fill(ctx context.Context, c *kfake.Cluster, records, size, partitions int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000))
	check(err)
	defer cl.Close()
	_, err = kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), 1, nil, topic)
	check(err)
	// Values are half random bytes, half text: about as compressible as
	// typical payloads, and each record's its own.
	rng := rand.NewChaCha8([32]byte{21})
	text := bytes.Repeat([]byte("order shipped; "), size/15+1)
	base := time.Now().Add(-time.Hour)
	var failed atomic.Value
	for i := range records {
		value := make([]byte, size)
		rng.Read(value[:size/2])
		copy(value[size/2:], text)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Key: fmt.Appendf(nil, "key-%012d", i),
			Value: value, Headers: []kgo.RecordHeader{{Key: "n", Value: strconv.AppendInt(nil, int64(i), 10)}},
			Timestamp: base.Add(time.Duration(i) * time.Microsecond)}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Store(err)
			}
		})
	}
	check(cl.Flush(ctx))
	if err, _ := failed.Load().(error); err != nil {
		check(err)
	}
}

// loop copies the topic with one consumer and one producer, each record
// to its partition number, and returns the time until the last is
// acknowledged.
func loop(ctx context.Context, src, dst *kfake.Cluster, records int) time.Duration {
	prod, err := kgo.NewClient(kgo.SeedBrokers(dst.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000))
	check(err)
	defer prod.Close()
	adm := kadm.NewClient(prod)
	td, err := kadm.NewClient(mustClient(src)).ListTopics(ctx, topic)
	check(err)
	_, err = adm.CreateTopic(ctx, int32(len(td[topic].Partitions)), 1, nil, topic)
	check(err)
	start := time.Now()
	cons, err := kgo.NewClient(kgo.SeedBrokers(src.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	check(err)
	defer cons.Close()
	var acked atomic.Int64
	var failed atomic.Value
	seen := 0
	for seen < records {
		fs := cons.PollFetches(ctx)
		fs.EachError(func(t string, p int32, err error) { check(fmt.Errorf("fetch %s/%d: %w", t, p, err)) })
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			prod.Produce(ctx, &kgo.Record{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value,
				Headers: r.Headers, Timestamp: r.Timestamp}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Store(err)
				}
				acked.Add(1)
			})
		})
	}
	check(prod.Flush(ctx))
	took := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		check(err)
	}
	if n := acked.Load(); n != int64(records) {
		check(fmt.Errorf("loop: %d records acknowledged, want %d", n, records))
	}
	return took
}

func mustClient(c *kfake.Cluster) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	check(err)
	return cl
}

var copiedRE = regexp.MustCompile(`copied (\d+) records in (\d+) partitions`)

// runFerry runs `ferry run` of a once job copying the topic, in a home of
// its own, and returns how long the command took.
func runFerry(bin, home string, src, dst *kfake.Cluster, records, partitions int) time.Duration {
	check(os.RemoveAll(home)) // a job of an earlier run would count as done
	check(os.MkdirAll(filepath.Join(home, "conf"), 0o755))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := l.Addr().String()
	l.Close()
	sys := fmt.Sprintf("workingDir=%s\nmasterAddress=%s\nworkerTaskThreadNum=4\nworkerMaxTaskNum=%d\nhttpAddress=off\n",
		filepath.Join(home, "work"), addr, partitions)
	job := fmt.Sprintf("jobName=bench\nsrcType=kafka\nsrcPrefix=\nsrcDomain=%s\ndestType=kafka\ndestPrefix=\ndestDomain=%s\ntopics=%s\n",
		strings.Join(src.ListenAddrs(), ","), strings.Join(dst.ListenAddrs(), ","), topic)
	check(os.WriteFile(filepath.Join(home, "conf", "sys.properties"), []byte(sys), 0o644))
	check(os.WriteFile(filepath.Join(home, "conf", "job.cfg"), []byte(job), 0o644))
	cmd := exec.Command(bin, "--home", home, "run", filepath.Join(home, "conf", "job.cfg"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if err != nil {
		check(fmt.Errorf("ferry run: %v\n%s", err, out.String()))
	}
	m := copiedRE.FindStringSubmatch(out.String())
	if m == nil || m[1] != strconv.Itoa(records) || m[2] != strconv.Itoa(partitions) {
		check(fmt.Errorf("ferry run did not copy %d records in %d partitions:\n%s", records, partitions, out.String()))
	}
	return took
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func list(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.FormatFloat(x, 'f', 0, 64))
	}
	return strings.Join(s, ", ")
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkabench:", err)
		os.Exit(1)
	}
}
