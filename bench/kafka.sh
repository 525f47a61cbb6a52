#!/usr/bin/env bash
# bench/kafka.sh: ferry's Kafka copy against a plain franz-go
# consume-then-produce loop (issue 21).
#
# Builds ferry and bench/cmd/kafkabench into ROOT/bin, then runs
# kafkabench: two kfake clusters on loopback TCP in its process, the
# source filled with RECORDS records of SIZE bytes, copied ROUNDS times by
# each tool alternately into a fresh destination; prints a markdown table
# of the median records/s and the ratio ferry/loop, with the load average
# before and after. The target is ferry >= 0.8 of the loop.
#
#   bench/kafka.sh                          # 1,000,000 x 1 KiB, 8 partitions, 3 rounds
#   bench/kafka.sh --records 100000 --rounds 1   # a smoke test
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${ROOT:-/dev/shm/ferry-kafka-bench}
ARGS=("$@")  # kafkabench flags: --records, --size, --partitions, --rounds
mkdir -p "$ROOT/bin"
(cd "$REPO" && go build -o "$ROOT/bin/ferry" ./cmd/ferry && go build -o "$ROOT/bin/kafkabench" ./bench/cmd/kafkabench)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(git -C "$REPO" rev-parse --short HEAD)"
"$ROOT/bin/kafkabench" -ferry "$ROOT/bin/ferry" -dir "$ROOT" "${ARGS[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
