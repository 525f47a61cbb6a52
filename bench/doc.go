// Package bench is ferry's benchmark suite (issue 6). run.sh times ferry
// against `cp -r` and `rclone copy` on generated workloads and prints a
// markdown table. The Go benchmarks here measure the master's hot paths
// over its real interfaces:
//
//   - BenchmarkDispatch: lease-and-complete cycles per second of one
//     master (bbolt in a temporary directory) with 100 simulated workers
//     over real gRPC on TCP with TLS and the token, as deployed workers
//     reach it;
//   - BenchmarkScan: entries per second scanned from a generated tree and
//     split into tasks stored in bbolt;
//   - BenchmarkCRC64, BenchmarkAuditLine, BenchmarkLeaseWire: the per-byte
//     and per-entry work every copy pays.
//
// Run them with
//
//	go test -run '^$' -bench . ./bench/
//
// chaos.sh is the long chaos run: e2e's TestChaos (three worker hosts in
// network namespaces, kill -9 of workers and master, links down, restarts
// in the middle of a multipart part, 503s from the S3 server) with a job of
// 20,000 files for 5 minutes of faults; it prints the faults by kind and
// the result.
//
// TestScale (run only with FERRY_BENCH_SCALE=1, as root) is the scale
// workload: workers in network namespaces whose links are shaped to
// 200 Mbit/s. TestZKThroughput (run only with FERRY_BENCH_ZK=1; needs
// Debian's zookeeper package) is the znode workload: 100,000 small znodes
// copied by `ferry run` between two local ZooKeeper servers, against a
// plain multi-op writer on the same servers. The programs under cmd/ are run.sh's helpers: gen writes the
// workloads, s3server is the S3 server every tool talks to, scan measures
// the master's scan of a million files and its peak memory, ferryprof is
// bin/ferry with pprof profiles.
package bench
