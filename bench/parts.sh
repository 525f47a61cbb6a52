#!/usr/bin/env bash
# Part tasks across hosts (issue 17): one file split into ranges, copied by
# one worker and then by three network-namespace hosts with shaped links,
# to a local destination and to the S3 test server; the three-worker copy
# must take at most 0.45x the one-worker time. Needs root (namespaces, tc).
#   bench/parts.sh [MiB] [Mbit/s]     (default: 2048 MiB at 200 Mbit/s)
# Run it on an otherwise idle machine: one worker must be able to fill its
# link (the log says what share of it it used).
set -euo pipefail
cd "$(dirname "$0")/.."
FERRY_PARTS_TIMED=1 FERRY_PARTS_MIB="${1:-2048}" FERRY_PARTS_MBIT="${2:-200}" \
  go test -count=1 -timeout 60m -run 'TestPartTasksCluster$' -v ./e2e/ 2>&1 | grep -E 'PARTS|^(--- |ok|FAIL|PASS)|want'
