#!/usr/bin/env bash
# bench/chaos.sh: the long chaos run (issue 15). It is e2e's TestChaos with
# a bigger job and a longer fault period: three worker hosts in network
# namespaces copy a job of small files and a few large ones (multipart) to
# the S3 test server, which answers 10% of requests with 503, while workers
# and the master are killed (kill -9) and started again, links go down for
# longer than a lease, and workers are restarted in the middle of a part.
# Then it checks that the bucket equals the source, that each entry was
# counted once, and that nothing temporary is left, and prints the figures.
# Needs root, ip (iproute2) and sshd (openssh-server).
#
#   bench/chaos.sh                        # 20,000 files + 3 x 64 MiB, 5 minutes of faults
#   bench/chaos.sh --files 50000 --minutes 10 --large 6 --large-mib 48
#   bench/chaos.sh --seed 1234            # the faults of an earlier run again
#
# The seed is printed first; every figure line starts with CHAOS. The full
# test log goes to $TMPDIR/ferry-chaos-<seed>.log.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
FILES=20000
MINUTES=5
LARGE=3
LARGE_MIB=64
SEED=

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
	--files) FILES=$2; shift 2 ;;
	--minutes) MINUTES=$2; shift 2 ;;
	--large) LARGE=$2; shift 2 ;;
	--large-mib) LARGE_MIB=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "chaos.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" != 0 ]; then
	echo "chaos.sh: needs root (network namespaces)" >&2
	exit 2
fi
SEED=${SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
LOG=${TMPDIR:-/tmp}/ferry-chaos-$SEED.log
# The test's own limit: the fault period, the copy after it, and the checks.
TIMEOUT=$(awk -v m="$MINUTES" -v f="$FILES" 'BEGIN{printf "%dm", m + 15 + f / 2000}')

echo "CHAOS seed $SEED (bench/chaos.sh --seed $SEED replays its faults); log: $LOG"
start=$(date +%s)
set +e
cd "$REPO" && FERRY_CHAOS_SEED=$SEED FERRY_CHAOS_FILES=$FILES FERRY_CHAOS_MINUTES=$MINUTES \
	FERRY_CHAOS_LARGE=$LARGE FERRY_CHAOS_LARGE_MIB=$LARGE_MIB \
	go test ./e2e/ -run '^TestChaos$' -count=1 -v -timeout "$TIMEOUT" >"$LOG" 2>&1
rc=$?
set -e
took=$(($(date +%s) - start))

# The fault journal, the checks that failed, and the figures.
grep -E 'chaos: t\+' "$LOG" | sed 's/^ *chaos_[a-z_]*test.go:[0-9]*: chaos: /  /' || true
grep -E '^\s+\S+_test.go:[0-9]+: ' "$LOG" | grep -E 'want|differ|left|unexpected|missing|no answer|waited' | head -20 || true
grep -E 'task attempts|proxy:' "$LOG" | sed 's/^ *[a-z_]*test.go:[0-9]*: /  /' || true
grep -oE "CHAOS seed=.*" "$LOG" || echo "CHAOS no summary: the test ended early (see $LOG)"
if [ $rc = 0 ]; then
	echo "CHAOS result PASS in ${took}s"
else
	echo "CHAOS result FAIL (go test exit $rc) in ${took}s; see $LOG"
fi
exit $rc
