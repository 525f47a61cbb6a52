#!/usr/bin/env bash
# bench/run.sh: ferry against `cp -r` and `rclone copy` (issue 6).
#
# Generates the workloads (deterministically, with bench/cmd/gen; reused
# across runs), runs every tool of a workload in the same run, alternating
# the order each round, N times, and prints a markdown table of medians and
# ratios with the exact commands. Everything (sources, destinations,
# ferry's workdir, the S3 server's objects) is on tmpfs (/dev/shm) unless
# --disk. See bench/RESULTS.md for a run on the reference machine.
#
#   bench/run.sh                      # every workload, 5 runs each, tmpfs
#   bench/run.sh --only small,large -n 5
#   bench/run.sh --quick              # small sets, 1 run: a smoke test
#   bench/run.sh --disk               # on disk (bench/out/disk); every timed command ends in `sync`
#   bench/run.sh --profile            # also CPU, allocation and block profiles of `ferry run` on small
#   bench/run.sh --pgo                # only: write cmd/ferry/default.pgo from runs on small and large
#
# Workloads: small (20,000 x 4 KiB in 200 dirs), large (8 x 256 MiB),
# spread (2,000 files of 512 B to 8 MiB, log-uniform, in 40 dirs: a real
# tree's shape), s3 (small and large, local -> S3 server on loopback ->
# local), medium (40 x 40 MiB local -> S3 server with 60 copying threads
# on both sides: time and peak memory), scan
# (1,000,000 empty files in 1,000 dirs: master scan time and peak RSS),
# dispatch (Go benchmark: lease+complete cycles/s, 100 workers over gRPC),
# scale (Go test: 1, 2, 4 workers in network namespaces shaped to
# 200 Mbit/s each; needs root, ip, tc, sshd).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
N=5
DISK=0
QUICK=0
PROFILE=0
PGO=0
ONLY=small,large,spread,s3,medium,scan,dispatch,scale
ROOT=
OUT=
DISPATCH_DIR=/tmp

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	cat <<EOF
Options:
  -n N            runs per tool (default 5; --quick: 1)
  --only LIST     comma-separated workloads (default $ONLY)
  --quick         fewer files and 1 run, to check that everything works
  --disk          run on disk instead of tmpfs; timed commands end in sync
  --profile       CPU, allocation and block profiles of ferry run on the small workload
  --pgo           only regenerate cmd/ferry/default.pgo, the profile go build optimises
                  ferry with: CPU profiles of 40 runs on small and 3 on large, merged
  --root DIR      working directory (default /dev/shm/ferry-bench, --disk: bench/out/disk)
  --out FILE      also write the report there (default ROOT/report.md)
  --dispatch-dir DIR  where the dispatch benchmark's "tmpdir" master keeps its bbolt
                  and audit directories (default /tmp: this machine's disk)
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-n*) N=${1#-n}; shift ;;
	--only) ONLY=$2; shift 2 ;;
	--only=*) ONLY=${1#--only=}; shift ;;
	--quick) QUICK=1; shift ;;
	--disk) DISK=1; shift ;;
	--profile) PROFILE=1; shift ;;
	--pgo) PGO=1; ONLY=small,large; shift ;;
	--root) ROOT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--dispatch-dir) DISPATCH_DIR=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ "$QUICK" = 1 ] && [ "$N" = 5 ] && N=1
case $N in ''|*[!0-9]*|0) echo "run.sh: -n wants a positive number" >&2; exit 2 ;; esac
if [ -z "$ROOT" ]; then
	if [ "$DISK" = 1 ]; then ROOT=$REPO/bench/out/disk; else ROOT=/dev/shm/ferry-bench; fi
fi
OUT=${OUT:-$ROOT/report.md}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
want() { case ",$ONLY," in *,"$1",*) return 0 ;; esac; return 1; }

# Workload sizes.
if [ "$QUICK" = 1 ]; then
	SMALL_FILES=2000 SMALL_DIRS=20 LARGE_FILES=4 LARGE_SIZE=$((16 << 20))
	SPREAD_FILES=200 SPREAD_DIRS=4 MEDIUM_FILES=8
	SCAN_FILES=20000 SCAN_DIRS=20 DISPATCH_CYCLES=300 SCALE_MB=96
else
	SMALL_FILES=20000 SMALL_DIRS=200 LARGE_FILES=8 LARGE_SIZE=$((256 << 20))
	SPREAD_FILES=2000 SPREAD_DIRS=40 MEDIUM_FILES=40
	SCAN_FILES=1000000 SCAN_DIRS=1000 DISPATCH_CYCLES=4000 SCALE_MB=768
fi
SMALL_SIZE=4096
SPREAD_MIN=512 SPREAD_MAX=$((8 << 20)) MEDIUM_SIZE=$((40 << 20))

mkdir -p "$ROOT"/{bin,data,dst,logs,ferry}
ROOT=$(cd "$ROOT" && pwd)
BIN=$ROOT/bin DATA=$ROOT/data DST=$ROOT/dst LOGS=$ROOT/logs

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---- tools -----------------------------------------------------------------

# small, large and s3 compare with cp and rclone (Debian's package).
if [ "$PGO" = 0 ] && { want small || want large || want s3; }; then
	command -v rclone >/dev/null || die "rclone is not installed (apt-get install rclone), and small, large and s3 compare with it; or use --only scan,dispatch,scale"
fi

# ---- space -----------------------------------------------------------------

# What the selected workloads hold at once. The generated sources stay for
# the whole run; each workload's copies (cp's, rclone's and ferry's, or the
# two downloads) and the S3 server's objects are removed before the next
# workload, so at the peak ROOT holds the sources and the largest
# workload's copies. The S3 server keeps objects in RAM, with parts,
# assembled objects and garbage not yet collected: on the reference
# machine (2026-12-07, a whole run) the large set's uploads took the
# server to about 5.5 times the set (the two downloads, later, hold 2
# more while the server holds less), and medium's about 3 times its set.
small_bytes=$((SMALL_FILES * (SMALL_SIZE + 4096)))
large_bytes=$((LARGE_FILES * LARGE_SIZE))
# spread: about 1.6 GB (the mean of a log-uniform size, times the files)
spread_bytes=$((SPREAD_FILES * (SPREAD_MAX - SPREAD_MIN) / 9))
medium_bytes=$((MEDIUM_FILES * MEDIUM_SIZE))
src_bytes=$((64 << 20))
{ want small || want s3; } && src_bytes=$((src_bytes + small_bytes))
{ want large || want s3; } && src_bytes=$((src_bytes + large_bytes))
want spread && src_bytes=$((src_bytes + spread_bytes))
want medium && src_bytes=$((src_bytes + medium_bytes))
want scan && src_bytes=$((src_bytes + SCAN_FILES * 1024))
want scale && src_bytes=$((src_bytes + (SCALE_MB << 20)))
copies=0 # the largest workload's copies on ROOT
server=0 # the most the S3 server holds
peak=0   # the most a workload holds at once: copies and server objects
at_most() { # copies server peak
	[ "$1" -gt "$copies" ] && copies=$1
	[ "$2" -gt "$server" ] && server=$2
	[ "$3" -gt "$peak" ] && peak=$3
	return 0
}
want small && at_most $((3 * small_bytes)) 0 $((3 * small_bytes))
want large && at_most $((3 * large_bytes)) 0 $((3 * large_bytes))
want spread && at_most $((3 * spread_bytes)) 0 $((3 * spread_bytes))
want s3 && at_most $((2 * large_bytes)) $((6 * large_bytes)) $((6 * large_bytes))
want medium && at_most 0 $((3 * medium_bytes)) $((3 * medium_bytes))
want scale && at_most $((SCALE_MB << 20)) 0 $((SCALE_MB << 20))
need_fs=$((src_bytes + copies))
avail_fs=$(($(df -Pk "$ROOT" | awk 'NR==2{print $4}') * 1024))
avail_mem=$(($(awk '/^MemAvailable:/{print $2}' /proc/meminfo) * 1024))
have_data=$(du -sk "$DATA" 2>/dev/null | awk '{printf "%d", $1 * 1024}')
gib() { awk -v b="$1" 'BEGIN{printf "%.1f GiB", b / 1073741824}'; }
if [ $((avail_fs + have_data)) -lt "$need_fs" ]; then
	die "$ROOT has $(gib "$avail_fs") free (+$(gib "$have_data") of generated data), the workloads need $(gib "$need_fs"); free some or use --root / --only"
fi
# In memory on tmpfs: the sources not generated yet and the peak; with
# --disk, the S3 server's objects alone.
need_mem=$((src_bytes > have_data ? src_bytes - have_data + peak : peak))
[ "$DISK" = 1 ] && need_mem=$server
if [ "$avail_mem" -lt "$need_mem" ]; then
	die "$(gib "$avail_mem") of memory available; the sources still to generate, the largest workload's copies and the S3 server's objects need about $(gib "$need_mem"); free some or use --only"
fi
if want scan && [ ! -e "$DATA/scan.stamp" ] && [ "$(df -Pi "$ROOT" | awk 'NR==2{print $4}')" -lt "$SCAN_FILES" ] 2>/dev/null; then
	die "$ROOT has fewer free inodes than the scan workload's $SCAN_FILES files"
fi

# ---- build -----------------------------------------------------------------

log "building ferry and the bench tools into $BIN"
# The same tags as console.sh's build: no man-page writer, no gRPC tracing.
(cd "$REPO" && go build -tags urfave_cli_no_docs,grpcnotrace -o "$BIN/ferry" ./cmd/ferry &&
	go build -tags urfave_cli_no_docs,grpcnotrace -o "$BIN/" ./bench/cmd/gen ./bench/cmd/s3server ./bench/cmd/scan ./bench/cmd/ferryprof ./bench/cmd/floor) ||
	die "go build"
FERRY_VERSION=$("$BIN/ferry" version) || die "$BIN/ferry version"
GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$REPO" diff --quiet HEAD 2>/dev/null || GIT_REV="$GIT_REV+dirty"
# (sed -n 1p, not head -1: head stops reading, the writer can die of
# SIGPIPE, and pipefail with set -e then ended this script without a word)
RCLONE_VERSION=$(rclone version 2>/dev/null | sed -n 1p)
CP_VERSION=$(cp --version | sed -n 1p)

# ---- timing ----------------------------------------------------------------

SYNC=
[ "$DISK" = 1 ] && SYNC=" && sync"

# timeit LOG CMD: runs CMD (a shell command line) and prints its wall time in
# seconds; in --disk mode the timed command ends in sync.
# The command's peak memory (maximum resident set, KiB, of the largest
# process) goes to LOG.rss when /usr/bin/time is there.
timeit() {
	local logf=$1 cmd=$2 t0 t1 tm=()
	[ -x /usr/bin/time ] && tm=(/usr/bin/time -f %M -o "$logf.rss")
	t0=$EPOCHREALTIME
	if ! "${tm[@]}" bash -c "$cmd$SYNC" >"$logf" 2>&1; then
		log "command failed: $cmd"
		tail -20 "$logf" >&2
		return 1
	fi
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}'
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }

# Results: one row per workload and tool.
ROWS=()     # "workload|tool|median|runs|files|bytes|command"
declare -A PEAK=() # "workload|tool" -> the largest peak RSS of its runs, KiB
EXTRA=()    # free-form rows (scan, dispatch, scale)
NOTES=()
TARGETS=()  # "target|measured|met" (issue 6's targets)

# met EXPR: "yes" or "no" by an awk condition; with --quick, the reduced
# workloads say nothing about the targets.
met() {
	if [ "$QUICK" = 1 ]; then echo "n/a (--quick)"; return; fi
	awk "BEGIN{print ($1) ? \"**yes**\" : \"**no**\"}"
}

# bench WORKLOAD FILES BYTES CHECK TOOL... : each TOOL is "name|prep|command",
# prep (untimed) clears the destination; CHECK (untimed, may be empty)
# prints the number of files that landed, compared with FILES.
bench() {
	local wl=$1 files=$2 bytes=$3 check=$4
	shift 4
	local tools=("$@") k=${#@} round i idx name prep cmd t got
	declare -A runs=()
	for ((round = 0; round < N; round++)); do
		for ((i = 0; i < k; i++)); do
			idx=$(((round + i) % k))
			IFS='|' read -r name prep cmd <<<"${tools[$idx]}"
			bash -c "$prep" >/dev/null 2>&1 || die "$wl/$name: prep: $prep"
			[ "$DISK" = 1 ] && sync
			t=$(timeit "$LOGS/$wl-$name-$round.log" "$cmd") || die "$wl/$name run $((round + 1))"
			if [ -n "$check" ]; then
				got=$(bash -c "${check//@TOOL@/$name}")
				[ "$got" = "$files" ] || die "$wl/$name: $got files landed, want $files (log: $LOGS/$wl-$name-$round.log)"
			fi
			runs[$name]="${runs[$name]:-} $t"
			if [ -s "$LOGS/$wl-$name-$round.log.rss" ]; then
				local kib
				kib=$(tail -1 "$LOGS/$wl-$name-$round.log.rss")
				[ "$kib" -gt "${PEAK[$wl|$name]:-0}" ] 2>/dev/null && PEAK[$wl|$name]=$kib
			fi
			log "$wl $name run $((round + 1))/$N: ${t}s"
		done
	done
	for ((i = 0; i < k; i++)); do
		IFS='|' read -r name prep cmd <<<"${tools[$i]}"
		ROWS+=("$wl|$name|$(echo "${runs[$name]}" | median)|${runs[$name]# }|$files|$bytes|$cmd")
	done
}

count_files() { echo "find '$1' -type f | wc -l"; }

# ---- ferry homes -----------------------------------------------------------

# ferry_home NAME KEY=VALUE...: a home with a default sys.properties (only
# workingDir set) and NAME.cfg holding the given job keys; ferry's
# verification stays at its defaults (CRC64 of every byte read against what
# landed, source size/mtime re-check, isAuditAfterImport=true general).
ferry_home() {
	local name=$1 h=$ROOT/ferry/$1
	shift
	mkdir -p "$h/conf"
	printf 'workingDir=%s\n' "$h/workdir" >"$h/conf/sys.properties"
	{
		printf 'jobName=%s\n' "$name"
		printf '%s\n' "$@"
	} >"$h/$name.cfg"
	echo "$h"
}
ferry_cmd() { echo "$BIN/ferry --home $1 run $1/$2.cfg"; }
ferry_prep() { echo "rm -rf $1/workdir $2"; }

# ---- generation --------------------------------------------------------------

gen() { # name files dirs size [max-size: sizes log-uniform from size to it]
	log "generating $1: $2 files of $4${5:+ to $5} bytes in $3 dirs (reused when already there)"
	"$BIN/gen" -out "$DATA/$1" -files "$2" -dirs "$3" -size "$4" ${5:+-max-size "$5"} -seed 1 || die "gen $1"
}
want small || want s3 && gen small $SMALL_FILES $SMALL_DIRS $SMALL_SIZE
want large || want s3 && gen large $LARGE_FILES 1 $LARGE_SIZE
want spread && gen spread $SPREAD_FILES $SPREAD_DIRS $SPREAD_MIN $SPREAD_MAX
want medium && gen medium $MEDIUM_FILES 1 $MEDIUM_SIZE
want scan && gen scan $SCAN_FILES $SCAN_DIRS 0
[ "$DISK" = 1 ] && sync

# ---- profile-guided optimisation -------------------------------------------

# go build optimises ferry with cmd/ferry/default.pgo (inlining and
# devirtualising the hot paths; about 1% less CPU on small). Its profile comes
# from the workloads here, as a CPU profile of each run, merged.
if [ "$PGO" = 1 ]; then
	profs=()
	for wl in small large; do
		n=40
		[ $wl = large ] && n=3
		h=$(ferry_home "$wl-pgo" srcType=local "srcPrefix=$DATA/$wl/" destType=local "destPrefix=$DST/$wl-pgo/")
		log "profiling $n runs of ferry on $wl"
		for ((i = 0; i < n; i++)); do
			rm -rf "$h/workdir" "$DST/$wl-pgo"
			FERRY_CPUPROFILE=$ROOT/pgo-$wl-$i.pprof "$BIN/ferryprof" --home "$h" run "$h/$wl-pgo.cfg" >"$LOGS/pgo.log" 2>&1 ||
				die "profiled run on $wl (log: $LOGS/pgo.log)"
			profs+=("$ROOT/pgo-$wl-$i.pprof")
		done
		rm -rf "$h/workdir" "$DST/$wl-pgo"
	done
	(cd "$REPO" && go tool pprof -proto "${profs[@]}" >cmd/ferry/default.pgo.tmp && mv cmd/ferry/default.pgo.tmp cmd/ferry/default.pgo) ||
		die "merging the profiles"
	rm -f "${profs[@]}"
	log "wrote $REPO/cmd/ferry/default.pgo; rebuild ferry to use it"
	exit 0
fi

# ---- local workloads ---------------------------------------------------------

local_workload() { # name files size rclone-flags
	local wl=$1 files=$2 bytes=$3 rflags=$4 h d
	h=$(ferry_home "$wl" srcType=local "srcPrefix=$DATA/$wl/" destType=local "destPrefix=$DST/$wl-ferry/")
	d=$DST/$wl
	bench "$wl" "$files" "$bytes" "$(count_files "$DST/$wl-@TOOL@")" \
		"cp|rm -rf $d-cp|cp -r $DATA/$wl $d-cp" \
		"rclone|rm -rf $d-rclone|rclone copy $rflags $DATA/$wl $d-rclone" \
		"ferry|$(ferry_prep "$h" "$d-ferry")|$(ferry_cmd "$h" "$wl")"
	rm -rf "$d"-cp "$d"-rclone "$d"-ferry "$h/workdir"
}

# floor WORKLOAD THREADS: the floor under a local workload, the system calls
# of the sequence ferry's guarantees take with no engine around them
# (bench/cmd/floor -seq ferry: each chunk read, CRC-64, written, read back
# and checked), and cp's own in-kernel copy (-seq kernel, copy_file_range,
# nothing checked), both on THREADS threads, alternated with cp -r round by
# round. Sets FLOOR[WORKLOAD|ferry], FLOOR[WORKLOAD|kernel] and
# FLOOR[WORKLOAD|cp] (medians). Large files need more threads than cores
# to keep both cores busy (page allocation waits): 8, as ferry's worker
# copies 8 of them at once.
declare -A FLOOR
floor() {
	local wl=$1 th=$2 runs_f= runs_k= runs_c= round i seq t
	log "$wl: system-call floor (bench/cmd/floor -seq ferry and -seq kernel, $th threads, alternated with cp -r, $N rounds)"
	for ((round = 0; round < N; round++)); do
		for ((i = 0; i < 3; i++)); do
			case $(((round + i) % 3)) in
			0)
				rm -rf "$DST/$wl-cp"
				t=$(timeit "$LOGS/floor-$wl-cp-$round.log" "cp -r $DATA/$wl $DST/$wl-cp") || die "floor round: cp"
				rm -rf "$DST/$wl-cp"
				runs_c="$runs_c $t"
				continue
				;;
			1) seq=ferry ;;
			2) seq=kernel ;;
			esac
			"$BIN/floor" -src "$DATA/$wl" -dst "$DST/floor" -seq $seq -threads "$th" -n 1 >"$LOGS/floor-$wl-$seq-$round.log" 2>&1 || { tail -5 "$LOGS/floor-$wl-$seq-$round.log" >&2; die "floor"; }
			t=$(sed -n "s/^FLOOR seq=$seq threads=$th .*seconds=\([0-9.]*\).*/\1/p" "$LOGS/floor-$wl-$seq-$round.log")
			[ -n "$t" ] || die "floor: no figure in $LOGS/floor-$wl-$seq-$round.log"
			if [ $seq = ferry ]; then runs_f="$runs_f $t"; else runs_k="$runs_k $t"; fi
		done
	done
	rm -rf "$DST/$wl-cp" "$DST/floor"
	FLOOR[$wl|ferry]=$(echo "$runs_f" | median) FLOOR[$wl|kernel]=$(echo "$runs_k" | median) FLOOR[$wl|cp]=$(echo "$runs_c" | median)
	FLOOR[$wl|threads]=$th
	EXTRA+=("$wl floor|system calls only, no engine|ferry's guarantees' sequence, $th threads: ${FLOOR[$wl|ferry]} s (runs:$runs_f); cp's copy_file_range, $th threads: ${FLOOR[$wl|kernel]} s (runs:$runs_k); cp -r in the same rounds: ${FLOOR[$wl|cp]} s (runs:$runs_c)|$(awk -v a="${FLOOR[$wl|ferry]}" -v k="${FLOOR[$wl|kernel]}" -v b="${FLOOR[$wl|cp]}" -v th="$th" 'BEGIN{printf "verified sequence %.2fx cp -r, unverified kernel copy on %d threads %.2fx cp -r", a / b, th, k / b}'): what a verified copy costs with no engine around it, and what cp's own copy gains from more threads|-|\`$BIN/floor -src $DATA/$wl -dst $DST/floor -seq ferry -threads $th -n 1\`")
}

if want small; then
	local_workload small $SMALL_FILES $((SMALL_FILES * SMALL_SIZE)) "--transfers 16 --checkers 16"
	# Not with --disk, where cp's time includes a sync the floor's does not.
	if [ "$DISK" = 0 ]; then
		floor small 2
	fi
fi
if want large; then
	local_workload large $LARGE_FILES $((LARGE_FILES * LARGE_SIZE)) "--transfers 4"
	[ "$DISK" = 0 ] && floor large 8
fi
if want spread; then
	local_workload spread $SPREAD_FILES "$(find "$DATA/spread" -type f -printf '%s\n' | awk '{s += $1} END{printf "%d", s}')" "--transfers 16 --checkers 16"
	[ "$DISK" = 0 ] && floor spread 8
fi

# ---- s3 --------------------------------------------------------------------

S3PID=
stop_s3() { [ -n "$S3PID" ] && kill "$S3PID" 2>/dev/null && wait "$S3PID" 2>/dev/null; S3PID=; }
trap stop_s3 EXIT

if want s3 || want medium; then
	rm -f "$ROOT/s3.addr"
	"$BIN/s3server" -addr 127.0.0.1:0 -addr-file "$ROOT/s3.addr" -buckets bench >"$LOGS/s3server.log" 2>&1 &
	S3PID=$!
	for _ in $(seq 100); do [ -s "$ROOT/s3.addr" ] && break; sleep 0.05; done
	[ -s "$ROOT/s3.addr" ] || die "s3server did not start (see $LOGS/s3server.log)"
	S3=$(cat "$ROOT/s3.addr")
	log "s3server (gofakes3, in memory) on $S3"
	# rclone's remote "bs3", from the environment; Debian's rclone 1.60
	# refuses S3 remotes while AWS_CA_BUNDLE is set.
	export RCLONE_CONFIG_BS3_TYPE=s3 RCLONE_CONFIG_BS3_PROVIDER=Other RCLONE_CONFIG_BS3_ENDPOINT=http://$S3 \
		RCLONE_CONFIG_BS3_ACCESS_KEY_ID=benchkey RCLONE_CONFIG_BS3_SECRET_ACCESS_KEY=benchsecret \
		RCLONE_CONFIG_BS3_REGION=us-east-1 RCLONE_CONFIG_BS3_FORCE_PATH_STYLE=true
	RC="env -u AWS_CA_BUNDLE rclone"
	s3keys() { # role prefix
		printf '%s\n' "${1}Domain=http://$S3" "${1}Bucket=bench" "${1}Prefix=$2" "${1}AccessKey=benchkey" \
			"${1}SecretKey=benchsecret" "${1}Region=us-east-1" "${1}PathStyle=true"
	}
	for set in small large; do
		want s3 || break
		if [ $set = small ]; then
			files=$SMALL_FILES bytes=$((SMALL_FILES * SMALL_SIZE)) rflags="--transfers 16 --checkers 16"
		else
			# ferry's multipart defaults: 50m parts, 3 per file; rclone gets the same.
			files=$LARGE_FILES bytes=$((LARGE_FILES * LARGE_SIZE)) rflags="--transfers 8 --checkers 16 --s3-chunk-size 50M --s3-upload-concurrency 3"
		fi
		# Up: local -> S3. Each tool's prefix is emptied before its run.
		mapfile -t keys < <(echo srcType=local "srcPrefix=$DATA/$set/" destType=s3 | tr ' ' '\n'; s3keys dest "up/$set-ferry/")
		h=$(ferry_home "s3up-$set" "${keys[@]}")
		bench "s3-up-$set" "$files" "$bytes" "" \
			"rclone|$RC purge bs3:bench/up/$set-rclone; true|$RC copy $rflags $DATA/$set bs3:bench/up/$set-rclone" \
			"ferry|$RC purge bs3:bench/up/$set-ferry; $(ferry_prep "$h" ""); true|$(ferry_cmd "$h" "s3up-$set")"
		n=$($RC size bs3:bench/up/$set-ferry 2>/dev/null | awk '/Total objects/{gsub(/[()]/,"",$4); print $4}')
		[ "$n" = "$files" ] || die "s3-up-$set: $n objects under up/$set-ferry, want $files"
		$RC purge bs3:bench/up/$set-rclone >/dev/null 2>&1 || true
		$RC purge bs3:bench/up/$set-ferry >/dev/null 2>&1 || true
		rm -rf "$h/workdir"
		# Down: S3 -> local, from objects put there by rclone (untimed).
		log "loading $set into the S3 server"
		$RC copy $rflags "$DATA/$set" "bs3:bench/data/$set" >"$LOGS/s3-load-$set.log" 2>&1 || die "load $set"
		mapfile -t keys < <(s3keys src "data/$set/"; echo destType=local "destPrefix=$DST/s3down-$set-ferry/" | tr ' ' '\n'; echo srcType=s3)
		h=$(ferry_home "s3down-$set" "${keys[@]}")
		d=$DST/s3down-$set
		bench "s3-down-$set" "$files" "$bytes" "$(count_files "$d-@TOOL@")" \
			"rclone|rm -rf $d-rclone|$RC copy $rflags bs3:bench/data/$set $d-rclone" \
			"ferry|$(ferry_prep "$h" "$d-ferry")|$(ferry_cmd "$h" "s3down-$set")"
		$RC purge "bs3:bench/data/$set" >/dev/null 2>&1 || true
		rm -rf "$d"-rclone "$d"-ferry "$h/workdir"
	done
	# medium: files below the multipart threshold but too large to hold
	# whole per thread, with ossimport's template's 60 copying threads
	# (workerTaskThreadNum, ferry's default) and rclone --transfers 60.
	if want medium; then
		mapfile -t keys < <(echo srcType=local "srcPrefix=$DATA/medium/" destType=s3 | tr ' ' '\n'; s3keys dest "up/medium-ferry/")
		h=$(ferry_home "s3up-medium" "${keys[@]}")
		printf 'workerTaskThreadNum=60\n' >>"$h/conf/sys.properties"
		bench "s3-up-medium" "$MEDIUM_FILES" "$medium_bytes" "" \
			"rclone|$RC purge bs3:bench/up/medium-rclone; true|$RC copy --transfers 60 --checkers 16 $DATA/medium bs3:bench/up/medium-rclone" \
			"ferry|$RC purge bs3:bench/up/medium-ferry; $(ferry_prep "$h" ""); true|$(ferry_cmd "$h" "s3up-medium")"
		n=$($RC size bs3:bench/up/medium-ferry 2>/dev/null | awk '/Total objects/{gsub(/[()]/,"",$4); print $4}')
		[ "$n" = "$MEDIUM_FILES" ] || die "s3-up-medium: $n objects under up/medium-ferry, want $MEDIUM_FILES"
		$RC purge bs3:bench/up/medium-rclone >/dev/null 2>&1 || true
		$RC purge bs3:bench/up/medium-ferry >/dev/null 2>&1 || true
		rm -rf "$h/workdir"
	fi
	stop_s3
fi

# ---- profile ---------------------------------------------------------------

if [ "$PROFILE" = 1 ]; then
	[ -d "$DATA/small" ] || gen small $SMALL_FILES $SMALL_DIRS $SMALL_SIZE
	h=$(ferry_home small-prof srcType=local "srcPrefix=$DATA/small/" destType=local "destPrefix=$DST/small-prof/")
	rm -rf "$h/workdir" "$DST/small-prof"
	log "CPU, allocation and block profiles of ferry run on small"
	FERRY_CPUPROFILE=$ROOT/ferry-small.cpu.pprof FERRY_BLOCKPROFILE=$ROOT/ferry-small.block.pprof \
		FERRY_MEMPROFILE=$ROOT/ferry-small.allocs.pprof \
		"$BIN/ferryprof" --home "$h" run "$h/small-prof.cfg" >"$LOGS/profile.log" 2>&1 || die "profiled run"
	(cd "$REPO" && go tool pprof -top -nodecount=30 "$BIN/ferryprof" "$ROOT/ferry-small.cpu.pprof") >"$ROOT/ferry-small.cpu.top" 2>&1
	(cd "$REPO" && go tool pprof -top -cum -nodecount=40 "$BIN/ferryprof" "$ROOT/ferry-small.cpu.pprof") >"$ROOT/ferry-small.cpu.cum" 2>&1
	(cd "$REPO" && go tool pprof -sample_index=alloc_objects -top -nodecount=30 "$BIN/ferryprof" "$ROOT/ferry-small.allocs.pprof") >"$ROOT/ferry-small.allocs.top" 2>&1
	rm -rf "$h/workdir" "$DST/small-prof"
	NOTES+=("Profiles of \`ferry run\` on small: CPU $ROOT/ferry-small.cpu.pprof (top: $ROOT/ferry-small.cpu.top, cumulative: $ROOT/ferry-small.cpu.cum), allocations $ROOT/ferry-small.allocs.pprof (top: $ROOT/ferry-small.allocs.top), blocking $ROOT/ferry-small.block.pprof")
fi

# ---- scan --------------------------------------------------------------------

if want scan; then
	secs=() rss=()
	for ((round = 0; round < N; round++)); do
		[ "$DISK" = 1 ] && sync
		out=$(/usr/bin/time -f 'maxrss_kib=%M' "$BIN/scan" -src "$DATA/scan" -workdir "$ROOT/ferry/scan-master" 2>&1) ||
			die "scan: $out"
		s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
		m=$(sed -n 's/.*maxrss_kib=\([0-9]*\).*/\1/p' <<<"$out")
		e=$(sed -n 's/.*entries=\([0-9]*\).*/\1/p' <<<"$out")
		[ "$e" = "$SCAN_FILES" ] || die "scan: $e entries, want $SCAN_FILES: $out"
		secs+=("$s") rss+=("$m")
		log "scan run $((round + 1))/$N: ${s}s, peak RSS $((m / 1024)) MiB"
	done
	rm -rf "$ROOT/ferry/scan-master"
	s=$(echo "${secs[*]}" | median)
	m=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
	TARGETS+=("scan: 1M entries scanned and split in under 30 s, peak RSS under 200 MiB|$s s, $((m / 1024)) MiB|$(met "$s < 30 && $m < 200 * 1024")")
	EXTRA+=("scan|ferry master|$s s (runs: ${secs[*]})|$(awk -v n="$SCAN_FILES" -v s="$s" 'BEGIN{printf "%.0f entries/s", n / s}'); peak RSS $((m / 1024)) MiB (max of runs, \`/usr/bin/time\` %M)|under 30 s, under 200 MiB|\`/usr/bin/time -f %M $BIN/scan -src $DATA/scan -workdir $ROOT/ferry/scan-master\`")
fi

# ---- dispatch ----------------------------------------------------------------

if want dispatch; then
	log "dispatch: go test -bench Dispatch ($DISPATCH_CYCLES cycles, $N times)"
	cmd="TMPDIR=$DISPATCH_DIR go test -run '^\$' -bench 'Dispatch' -benchtime ${DISPATCH_CYCLES}x -count $N ./bench/"
	(cd "$REPO" && bash -c "$cmd") >"$LOGS/dispatch.log" 2>&1 || { tail -20 "$LOGS/dispatch.log" >&2; die "dispatch benchmark"; }
	for v in tmpdir tmpdir-audit shm shm-audit; do
		vals=$(awk -v v="^BenchmarkDispatch/$v(-[0-9]+)?\$" '$1 ~ v {for (i = 1; i < NF; i++) if ($(i+1) == "cycles/s") print $i}' "$LOGS/dispatch.log" | tr '\n' ' ')
		[ -n "$vals" ] || continue
		wpc=$(awk -v v="^BenchmarkDispatch/$v(-[0-9]+)?\$" '$1 ~ v {for (i = 1; i < NF; i++) if ($(i+1) == "writes/commit") print $i}' "$LOGS/dispatch.log" | tr '\n' ' ')
		where="bbolt in $DISPATCH_DIR"
		case $v in shm*) where="bbolt in /dev/shm" ;; esac
		case $v in *-audit) where="$where, plus one audit Report per task" ;; esac
		med=$(echo "$vals" | median)
		TARGETS+=("dispatch ($v): at least 2,000 lease+complete cycles/s, 100 workers|$med cycles/s ($where)|$(met "$med >= 2000")")
		EXTRA+=("dispatch ($v)|ferry master, 100 workers|$med cycles/s (runs: ${vals% })|$where; writes per bbolt commit (group commit): ${wpc% }|at least 2,000 cycles/s|\`$cmd\`")
	done
fi

# ---- scale -------------------------------------------------------------------

if want scale; then
	if [ "$(id -u)" != 0 ] || ! command -v tc >/dev/null || ! command -v ip >/dev/null || [ ! -x /usr/sbin/sshd ]; then
		NOTES+=("scale: skipped (needs root, ip, tc and /usr/sbin/sshd)")
		log "scale: skipped (needs root, ip, tc, sshd)"
	else
		log "scale: 1, 2, 4 workers in network namespaces, 200 Mbit/s each ($SCALE_MB MB)"
		cmd="FERRY_BENCH_SCALE=1 FERRY_BENCH_SCALE_MB=$SCALE_MB FERRY_BENCH_ROOT=$ROOT/scale go test -run '^TestScale\$' -v -timeout 60m ./bench/"
		(cd "$REPO" && bash -c "$cmd") >"$LOGS/scale.log" 2>&1 || { tail -30 "$LOGS/scale.log" >&2; die "scale test"; }
		one=
		while read -r w s mbs; do
			[ -z "$one" ] && one=$mbs
			EXTRA+=("scale ($w worker$([ "$w" = 1 ] || echo s))|ferry, master + workers|$s s, $mbs MB/s|$(awk -v a="$mbs" -v b="$one" 'BEGIN{printf "%.2fx one worker", a / b}')|4 workers at least 3.6x one|\`$cmd\`")
			[ "$w" = 4 ] && TARGETS+=("scale: 4 workers at least 3.6x one worker's throughput|$(awk -v a="$mbs" -v b="$one" 'BEGIN{printf "%.2fx", a / b}')|$(met "$mbs / $one >= 3.6")")
		done < <(sed -n 's/.*SCALE workers=\([0-9]*\) seconds=\([0-9.]*\) MBps=\([0-9.]*\).*/\1 \2 \3/p' "$LOGS/scale.log")
		grep -q '^SCALE-NOTE' "$LOGS/scale.log" && NOTES+=("scale: $(grep -m1 '^SCALE-NOTE' "$LOGS/scale.log" | sed 's/^SCALE-NOTE //')")
		rm -rf "$ROOT/scale"
	fi
fi

# ---- report ------------------------------------------------------------------

report() {
	local mode="tmpfs ($ROOT)"
	[ "$DISK" = 1 ] && mode="disk ($ROOT), every timed command followed by sync"
	echo "## ferry benchmarks, $(date '+%Y-%m-%d %H:%M %Z')"
	echo
	echo "- machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); load average (1, 5, 15 min) at the start: $LOAD_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- storage: $mode; runs per tool: $N$([ "$QUICK" = 1 ] && echo ' (--quick: reduced workloads)'), order rotated each round"
	echo "- ferry: $FERRY_VERSION (git $GIT_REV), default settings, **verification on**: CRC64 of every byte read compared with what landed, source size/mtime re-checked, isAuditAfterImport=true (auditMode=general), one syncfs per task"
	echo "- peers: $CP_VERSION; $RCLONE_VERSION"
	echo
	echo "| workload | tool | median s | runs (s) | files/s | MB/s | time vs cp | speed vs rclone | command |"
	echo "|---|---|---:|---|---:|---:|---:|---:|---|"
	local row wl tool med runs files bytes cmd cpt rct vcp vrc
	for row in "${ROWS[@]}"; do
		IFS='|' read -r wl tool med runs files bytes cmd <<<"$row"
		cpt= rct=
		for r in "${ROWS[@]}"; do
			IFS='|' read -r w2 t2 m2 _ <<<"$r"
			[ "$w2" = "$wl" ] && [ "$t2" = cp ] && cpt=$m2
			[ "$w2" = "$wl" ] && [ "$t2" = rclone ] && rct=$m2
		done
		vcp=- vrc=-
		[ -n "$cpt" ] && vcp=$(awk -v a="$med" -v b="$cpt" 'BEGIN{printf "%.2fx", a / b}')
		[ -n "$rct" ] && vrc=$(awk -v a="$med" -v b="$rct" 'BEGIN{printf "%.2fx", b / a}')
		local label=$tool
		[ "$tool" = ferry ] && label="ferry (verify on)"
		awk -v wl="$wl" -v tool="$label" -v med="$med" -v runs="$runs" -v f="$files" -v b="$bytes" -v vcp="$vcp" -v vrc="$vrc" -v cmd="$cmd" \
			'BEGIN{fps = f / med; ff = fps >= 100 ? sprintf("%.0f", fps) : sprintf("%.2f", fps)
			printf "| %s | %s | %.2f | %s | %s | %.1f | %s | %s | `%s` |\n", wl, tool, med, runs, ff, b / 1e6 / med, vcp, vrc, cmd}'
	done
	echo
	echo "\"time vs cp\" is the tool's median time over cp's (issue 6: ferry within 1.25x on small, under 1x on large); \"speed vs rclone\" is rclone's median time over the tool's (ferry at least 2x on small, 4x on large, 1.5x on s3)."
	if [ "${#EXTRA[@]}" -gt 0 ]; then
		echo
		echo "| workload | what | measured | detail | target | command |"
		echo "|---|---|---|---|---|---|"
		for row in "${EXTRA[@]}"; do
			IFS='|' read -r a b c d e f <<<"$row"
			echo "| $a | $b | $c | $d | $e | $f |"
		done
	fi
	local r w2 t2 m2 fm cm rm a b c
	# ratio WORKLOAD: "ferry/cp rclone/ferry" medians of one workload
	# ratio WORKLOAD sets fm, cm, rm (medians) and pr, the median of the
	# per-round ratios ferry/cp (each round runs the tools back to back,
	# so a drift of the machine's speed between rounds cancels out).
	local fr cr
	ratio() {
		fm= cm= rm= fr= cr= pr=
		for r in "${ROWS[@]}"; do
			IFS='|' read -r w2 t2 m2 runs2 _ <<<"$r"
			[ "$w2" = "$1" ] || continue
			case $t2 in ferry) fm=$m2 fr=$runs2 ;; cp) cm=$m2 cr=$runs2 ;; rclone) rm=$m2 ;; esac
		done
		if [ -n "$fr" ] && [ -n "$cr" ]; then
			pr=$(paste -d' ' <(tr ' ' '\n' <<<"$fr") <(tr ' ' '\n' <<<"$cr") | awk '$2 > 0 {print $1 / $2}' | median)
		fi
	}
	local all=() pr
	# floor_note WORKLOAD: the floor's ratios, for a target's line.
	floor_note() {
		[ -n "${FLOOR[$1|cp]:-}" ] || return 0
		awk -v a="${FLOOR[$1|ferry]}" -v k="${FLOOR[$1|kernel]}" -v b="${FLOOR[$1|cp]}" -v th="${FLOOR[$1|threads]}" 'BEGIN{printf "; with no engine, on %d threads: the verified sequence %.2fx cp, cp'"'"'s unverified copy %.2fx cp", th, a / b, k / b}'
	}
	ratio small
	[ -n "$fm" ] && [ -n "$cm" ] && [ -n "$rm" ] && all+=("small: ferry within 1.25x of cp -r's time (so well over 2x rclone's files/s)|$(awk -v f="$fm" -v c="$cm" -v r="$rm" -v pr="$pr" -v fl="${FLOOR[small|ferry]:-}" -v flc="${FLOOR[small|cp]:-}" 'BEGIN{printf "%.2fx cp (median of the per-round ratios: %.2fx; %.2fx rclone)", f / c, pr, r / f; if (fl != "" && flc != "") printf "; the system calls of ferry'"'"'s guarantees alone, on 2 threads: %.2fx cp", fl / flc}')|$(met "$fm / $cm <= 1.25 && $pr <= 1.25")")
	[ -n "$fm" ] && [ -n "$cm" ] && all+=("small (issue 22): ferry at most 1.0x cp -r's time|$(awk -v f="$fm" -v c="$cm" -v pr="$pr" 'BEGIN{printf "%.2fx cp (per-round median %.2fx)", f / c, pr}')|$(met "$fm / $cm <= 1.0")")
	ratio large
	[ -n "$fm" ] && [ -n "$cm" ] && [ -n "$rm" ] && all+=("large: ferry faster than cp -r, at least 4x rclone|$(awk -v f="$fm" -v c="$cm" -v r="$rm" 'BEGIN{printf "%.2fx cp, %.2fx rclone", f / c, r / f}')|$(met "$fm < $cm && $rm / $fm >= 4")")
	[ -n "$fm" ] && [ -n "$cm" ] && all+=("large (issue 22): ferry at most 0.5x cp -r's time|$(awk -v f="$fm" -v c="$cm" -v pr="$pr" 'BEGIN{printf "%.2fx cp (per-round median %.2fx)", f / c, pr}')$(floor_note large)|$(met "$fm / $cm <= 0.5")")
	ratio spread
	[ -n "$fm" ] && [ -n "$cm" ] && all+=("spread (issue 22): ferry at most 0.6x cp -r's time|$(awk -v f="$fm" -v c="$cm" -v pr="$pr" -v r="$rm" 'BEGIN{printf "%.2fx cp (per-round median %.2fx), %.2fx rclone", f / c, pr, r / f}')$(floor_note spread)|$(met "$fm / $cm <= 0.6")")
	local s3m= s3ok=1
	for w in s3-up-small s3-down-small s3-up-large s3-down-large; do
		ratio "$w"
		[ -n "$fm" ] && [ -n "$rm" ] || continue
		s3m="$s3m${s3m:+, }${w#s3-} $(awk -v f="$fm" -v r="$rm" 'BEGIN{printf "%.2fx", r / f}')"
		[ "$(met "$rm / $fm >= 1.5")" = "**no**" ] && s3ok=0
	done
	if [ -n "$s3m" ]; then
		local v="**no**"
		[ "$s3ok" = 1 ] && v="**yes**"
		[ "$QUICK" = 1 ] && v="n/a (--quick)"
		all+=("s3: ferry at least 1.5x rclone both ways|$s3m|$v")
	fi
	ratio s3-up-small
	[ -n "$fm" ] && [ -n "$rm" ] && all+=("s3 up small (issue 22): at least 2.5x rclone's files/s|$(awk -v f="$fm" -v r="$rm" 'BEGIN{printf "%.2fx", r / f}')|$(met "$rm / $fm >= 2.5")")
	ratio s3-down-small
	[ -n "$fm" ] && [ -n "$rm" ] && all+=("s3 down small (issue 22): at least 3x rclone's files/s|$(awk -v f="$fm" -v r="$rm" 'BEGIN{printf "%.2fx", r / f}')|$(met "$rm / $fm >= 3")")
	ratio s3-up-medium
	if [ -n "$fm" ] && [ -n "$rm" ]; then
		local fp=${PEAK[s3-up-medium|ferry]:-0} rp=${PEAK[s3-up-medium|rclone]:-0}
		all+=("s3 up medium, 40 x 40 MiB, 60 threads (issue 22): peak memory under 512 MiB, at most 0.8x rclone's time|$(awk -v f="$fm" -v r="$rm" -v fp="$fp" -v rp="$rp" 'BEGIN{printf "%.2fx rclone'"'"'s time; peak RSS %d MiB (rclone %d MiB)", f / r, fp / 1024, rp / 1024}')|$(met "$fp > 0 && $fp < 512 * 1024 && $fm / $rm <= 0.8")")
	fi
	TARGETS=("${all[@]}" "${TARGETS[@]}")
	if [ "${#TARGETS[@]}" -gt 0 ]; then
		echo
		echo "Targets (issues 6 and 22), from this run:"
		echo
		echo "| target | measured | met? |"
		echo "|---|---|---|"
		for r in "${TARGETS[@]}"; do
			IFS='|' read -r a b c <<<"$r"
			echo "| $a | $b | $c |"
		done
	fi
	if want s3; then
		echo
		echo "S3 server: \`bench/cmd/s3server\` (gofakes3, objects in memory) on 127.0.0.1, one process for both tools. rclone's remote \`bs3\` comes from the environment: RCLONE_CONFIG_BS3_TYPE=s3 RCLONE_CONFIG_BS3_PROVIDER=Other RCLONE_CONFIG_BS3_ENDPOINT=http://127.0.0.1:PORT RCLONE_CONFIG_BS3_ACCESS_KEY_ID=benchkey RCLONE_CONFIG_BS3_SECRET_ACCESS_KEY=benchsecret RCLONE_CONFIG_BS3_REGION=us-east-1 RCLONE_CONFIG_BS3_FORCE_PATH_STYLE=true. ferry's job files: \`$ROOT/ferry/<job>/<job>.cfg\` (destType/srcType=s3, *Domain, *Bucket=bench, *PathStyle=true). Downloads read objects put there by rclone (untimed)."
	fi
	for n in "${NOTES[@]}"; do
		echo
		echo "$n"
	done
}
report | tee "$OUT"
log "report written to $OUT"
