#!/bin/bash
# bench/run.sh: how fast is visits behind nginx, next to nginx by itself
# and next to the limit of the path between them.
#
#   bench/run.sh            the benchmark (./dev bench builds first, then
#                           runs this); about 6 minutes with the defaults
#   bench/run.sh --smoke    1 round, 1 s a case: checks that every
#                           measurement was made and that every answer was
#                           a 200 (never how fast); TAP; status 0 if all ran
#
# Three stacks (tests/lib/stack.sh: nginx + spawn-fcgi + a FastCGI program
# on free ports of 127.0.0.1, in a directory under $TMPDIR), all behind the
# same nginx.conf: visits-fcgi --durable, visits-fcgi --no-durable, and
# bench/null-fcgi, the cheapest responder there can be (a fixed 200 of the
# same size as /visits's, no work at all).  Every round runs every case
# once at each connection count, the cases at one count back to back and
# each round starting one case further down the list, so that the noise of
# this shared machine falls on all cases alike:
#
#   ceiling          GET /nginx-healthz on the durable stack's nginx:
#                    nginx's own `return 200` (access_log off there)
#   limit            GET /visits answered by null-fcgi: the limit of the
#                    nginx-to-FastCGI path (nginx, its FastCGI module, the
#                    Unix socket, the kernel); nothing behind nginx can be
#                    faster
#   time-durable     GET /time, counting, durable (fsync file + directory)
#   time-nodurable   GET /time, counting, --no-durable
#   visits           GET /visits (reads the count; durable stack)
#   base-time-durable, base-visits
#                    with BASE=DIR only: the same two on another tree
#                    (DIR's nginx/nginx.conf, fcgi/visits-serve and
#                    build-static/fcgi/visits-fcgi), to compare a change
#                    with the tree without it in the same rounds
#
# each at every CONNS with `wrk -t2 -cN -dDURATION --latency`.  The limit,
# /time and /visits cases write nginx's JSON access log (to a file here, as
# the pod writes it to stdout); the ceiling does not.  Then: RSS of each
# visits-fcgi after the load (VmRSS, VmHWM = peak), the group commit size
# (visits_store_committed_visits_total / visits_store_commits_total over
# the durable /time runs), the CPU time a request took in the nginx
# workers, in the program, in wrk and in the rest of the machine, and how
# much of the machine stayed idle, per run; and the time from starting spawn-fcgi
# + visits-fcgi (nginx already up) to the first 200 on /healthz, STARTS
# times.  The report: every round's values; the medians over rounds; each
# case's req/s as a ratio to the ceiling and to the limit of the same round
# and connection count, and to its own req/s at the first connection count
# of the same round (does it fall as connections grow?), each the median of
# the per-round ratios; the targets; and a Markdown table for
# doc/PERFORMANCE.md with the machine and its load average at start and
# end.
#
# Knobs (environment):
#   ROUNDS=7       rounds (>= 3 for a median worth the name; this shared
#                  machine's noise wants more)
#   DURATION=2     seconds of each measurement
#   WARMUP=1       seconds of unmeasured load before each measurement, at
#                  its connection count (nginx opens its connections to
#                  the program then; 0: none)
#   CONNS="64 256 1024"  wrk connection counts; "of cN" ratios are to the
#                  first
#   CASES="..."    which cases, of those above [all; base-* with BASE]
#   THREADS=2      wrk threads
#   STARTS=5       start-to-first-answer repetitions
#   STORE_SECONDS=0.5  seconds per way and round of bench/store-bench
#                  (the cost of one counter file update in each of its
#                  ways, synced or not, in the data directory's
#                  filesystem); 0 skips it
#   STORE_BENCH    that program [bench/store-bench in VISITS_FCGI's build
#                  tree; make bench/store-bench builds it]
#   NULL_FCGI      the limit's responder [bench/null-fcgi there too]
#   VISITS_FCGI    the program [build/fcgi/visits-fcgi]; it is copied
#                  first, so a rebuild during the run changes nothing
#   BASE           another tree, built with ./dev bench or ./build-static
#                  there, to run the base-* cases on (e.g. a worktree of
#                  main)
#   TMPDIR         where the stacks live; the counter files are there, so
#                  this picks the filesystem the durable case syncs on
#   The program's VISITS_* settings pass through
#                  (the data dir and durability are set per stack)
# e.g. ROUNDS=9 DURATION=5 CONNS="32 64 128" ./dev bench
set -uo pipefail

prog=bench
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$bench_dir/.." && pwd)

smoke=0
case ${1:-} in
--smoke) smoke=1 ;;
'') ;;
-h | --help)
	sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0"
	exit 0
	;;
*)
	echo "$prog: unknown argument '$1' (try --help)" >&2
	exit 2
	;;
esac

if [ $smoke = 1 ]; then
	ROUNDS=1 DURATION=1 WARMUP=0 STARTS=2 STORE_SECONDS=0.1
fi
: "${STORE_SECONDS:=0.5}"
: "${ROUNDS:=7}" "${DURATION:=2}" "${WARMUP:=1}" "${CONNS:=64 256 1024}"
: "${THREADS:=2}" "${STARTS:=5}" "${BASE:=}"
ALL_CASES="ceiling limit time-durable time-nodurable visits"
[ -z "$BASE" ] || ALL_CASES="$ALL_CASES base-time-durable base-visits"
read -r -a CASES <<<"${CASES:-$ALL_CASES}"

# shellcheck source=tests/lib/tap.sh
. "$top/tests/lib/tap.sh"

say() {
	if [ $smoke = 1 ]; then
		diag "$*"
	else
		echo "$*"
	fi
}

die() {
	if [ $smoke = 1 ]; then
		fail "$*"
		done_testing
	else
		echo "$prog: $*" >&2
	fi
	exit 1
}

is_uint() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
}

for v in ROUNDS DURATION WARMUP THREADS STARTS; do
	is_uint "${!v}" || die "$v='${!v}' is not a whole number"
done
[ "$ROUNDS" -ge 1 ] && [ "$DURATION" -ge 1 ] && [ "$THREADS" -ge 1 ] &&
	[ "$STARTS" -ge 1 ] ||
	die "ROUNDS, DURATION, THREADS and STARTS must be at least 1"
for c in $CONNS; do
	is_uint "$c" && [ "$c" -ge 1 ] || die "CONNS: '$c' is not a count"
done
[ -n "${CONNS// /}" ] || die "CONNS is empty"
[ ${#CASES[@]} -gt 0 ] || die "CASES is empty"
for c in "${CASES[@]}"; do
	case " $ALL_CASES " in
	*" $c "*) ;;
	*) die "CASES: '$c' is not one of: $ALL_CASES" ;;
	esac
done
[[ $STORE_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
	die "STORE_SECONDS='$STORE_SECONDS' is not a number of seconds"

for cmd in wrk curl python3 nginx spawn-fcgi setsid awk; do
	command -v "$cmd" >/dev/null 2>&1 ||
		die "$cmd is not installed (run ./dev deps)"
done
: "${VISITS_FCGI:=$top/build/fcgi/visits-fcgi}"
[ -x "$VISITS_FCGI" ] ||
	die "no program at $VISITS_FCGI (build it first: ./dev build)"

: "${STORE_BENCH:=$(dirname "$VISITS_FCGI")/../bench/store-bench}"
: "${NULL_FCGI:=$(dirname "$VISITS_FCGI")/../bench/null-fcgi}"
[ -x "$NULL_FCGI" ] ||
	die "no null responder at $NULL_FCGI (make bench/null-fcgi builds it)"
if [ -n "$BASE" ]; then
	BASE=$(cd "$BASE" 2>/dev/null && pwd) || die "BASE: no directory $BASE"
	base_fcgi=$BASE/build-static/fcgi/visits-fcgi
	[ -x "$base_fcgi" ] && [ -f "$BASE/nginx/nginx.conf" ] ||
		die "BASE: no $base_fcgi or $BASE/nginx/nginx.conf" \
		    "(./dev bench there builds it)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vbench.XXXXXX") ||
	die "cannot create a directory under ${TMPDIR:-/tmp}"
# Copies: a rebuild during the run changes nothing.
cp "$VISITS_FCGI" "$tmp/visits-fcgi" && cp "$NULL_FCGI" "$tmp/null-fcgi" ||
	die "cannot copy $VISITS_FCGI or $NULL_FCGI"
if [ -n "$BASE" ]; then
	cp "$base_fcgi" "$tmp/base-visits-fcgi" || die "cannot copy $base_fcgi"
fi
prog_src=$VISITS_FCGI
VISITS_FCGI=$tmp/visits-fcgi
export VISITS_FCGI

# shellcheck source=tests/lib/stack.sh
. "$top/tests/lib/stack.sh"

# stack.sh keeps one stack in its STACK_* variables; the stacks live side
# by side here, each saved under a prefix (D_, N_, L_, B_) and brought back
# into the STACK_* variables to be restarted or stopped.  Each has its own
# program and may have its own tree (nginx.conf, visits-serve).
STACK_VARS="STACK_DIR STACK_SOCK STACK_NGINX_DIR STACK_NGINX_CONF
STACK_PORT STACK_PORT_AUTO STACK_BASE_URL STACK_FCGI_PID STACK_NGINX_PID
STACK_DATA_DIR STACK_LOG_DIR STACK_SRCDIR VISITS_FCGI"
stacks=()

stack_save() {
	local v
	for v in $STACK_VARS; do
		printf -v "${1}_$v" '%s' "${!v-}"
	done
}

stack_use() {
	local v n
	for v in $STACK_VARS; do
		n=${1}_$v
		printf -v "$v" '%s' "${!n-}"
	done
	export VISITS_FCGI	# fcgi/visits-serve reads it
}

stack_forget() {
	local v
	for v in $STACK_VARS; do
		unset "$v"
	done
	STACK_FCGI_PID= STACK_NGINX_PID= STACK_PORT_AUTO=0
}

cleanup() {
	local s
	trap - EXIT INT TERM HUP
	if [ -n "${poller_pid:-}" ]; then
		kill "$poller_pid" 2>/dev/null
		wait "$poller_pid" 2>/dev/null
	fi
	if [ -n "${wrk_pid:-}" ]; then
		kill "$wrk_pid" 2>/dev/null
		wait "$wrk_pid" 2>/dev/null
	fi
	for s in "${stacks[@]}"; do
		stack_use "$s"
		stack_stop >/dev/null 2>&1 || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# start_stack PREFIX SUBDIR TREE PROGRAM ARGS...: a stack in $tmp/SUBDIR,
# TREE's nginx.conf in front of PROGRAM with ARGS, saved as PREFIX.
start_stack() {
	local p=$1 d=$tmp/$2 tree=$3 program=$4
	shift 4
	stack_forget
	STACK_SRCDIR=$tree
	export VISITS_FCGI=$program
	STACK_DATA_DIR=$d/data
	STACK_LOG_DIR=$d/log
	STACK_FCGI_ARGS=("$@")
	stacks+=("$p")
	if ! stack_start "$d"; then
		stack_save "$p"
		return 1
	fi
	stack_save "$p"
}

# metric URL NAME: metric_value := the sample NAME (no labels) of URL.
metric() {
	metric_value=$(curl -s --max-time 5 "$1/metrics" |
	    awk -v n="$2" '$1 == n { print $2; exit }')
}

# group_commit: commits and committed := the durable stack's updates of
# the counter file so far, and the visits they carried.
group_commit() {
	metric "$D_STACK_BASE_URL" visits_store_commits_total
	commits=$metric_value
	metric "$D_STACK_BASE_URL" visits_store_committed_visits_total
	committed=$metric_value
}

# parse_wrk FILE: one line "rps p50_us p99_us non2xx socket_errors
# requests", from wrk's --latency output; latencies in microseconds.
parse_wrk() {
	awk '
	function us(s,    n) {
		n = s + 0
		if (s ~ /us$/) return n
		if (s ~ /ms$/) return n * 1000
		if (s ~ /[0-9.]s$/) return n * 1000000
		if (s ~ /m$/) return n * 60000000
		if (s ~ /h$/) return n * 3600000000
		return -1
	}
	$1 == "50%" { p50 = us($2) }
	$1 == "99%" { p99 = us($2) }
	$1 == "Requests/sec:" { rps = $2 }
	/requests in/ { reqs = $1 }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/Socket errors:/ {
		gsub(/,/, "")
		err = $4 + $6 + $8 + $10
	}
	END {
		if (rps == "" || p50 == "" || p99 == "" || reqs == "")
			exit 1
		printf "%s %.1f %.1f %d %d %d\n", rps, p50, p99, bad, err, reqs
	}' "$1"
}

# case_use CASE: the stack the case runs on, as STACK_* (stack_use), and
# case_path, what wrk asks it for.
case_use() {
	case $1 in
	time-nodurable) stack_use N ;;
	limit) stack_use L ;;
	base-*) stack_use B ;;
	*) stack_use D ;;
	esac
	case $1 in
	ceiling) case_path=/nginx-healthz ;;
	*time-*) case_path=/time ;;
	*visits | limit) case_path=/visits ;;
	esac
}

# run_wrk URL CONNS SECONDS OUT: wrk in the background (so that a signal
# stops it through the trap), waited for.
run_wrk() {
	local t=$THREADS rc=0
	[ "$t" -le "$2" ] || t=$2
	wrk -t"$t" -c"$2" -d"$3s" --timeout 5s --latency "$1" >"$4" 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || rc=$?
	wrk_pid=
	return $rc
}

vm_kb() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null
}

# cpu_sample NGINX_MASTER FCGI_PID: cpu_now := "busy idle nginx fcgi", in
# clock ticks: the whole machine's busy and idle (iowait counts as idle)
# time from /proc/stat, and the CPU time (user + system) of the nginx
# workers and of visits-fcgi (all its threads).  Differences over a run
# say where the CPU went; "other" (busy - nginx - fcgi) is wrk, the
# kernel's threads and whatever else runs on this shared machine.
cpu_sample() {
	local busy idle ng=0 fc w
	read -r busy idle < <(awk '$1 == "cpu" {
	    print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat)
	for w in $(pgrep -P "$1" 2>/dev/null); do
		ng=$((ng + $(proc_ticks "$w")))
	done
	fc=$(proc_ticks "$2")
	cpu_now="$busy $idle $ng $fc"
}

# children_cpu: children_us := the CPU time (user + system, microseconds)
# of this shell's children that have ended, from `times` (run here, not in
# a subshell, so that it is this shell's): around a run, almost all of it
# is wrk's.
children_cpu() {
	times >"$tmp/times"
	children_us=$(awk 'NR == 2 {
	    t = 0
	    for (i = 1; i <= 2; i++) {
		split($i, a, "m")
		t += a[1] * 60 + a[2]
	    }
	    printf "%.0f", t * 1e6 }' "$tmp/times")
}

# proc_ticks PID: utime + stime of PID (0 if gone); the command name in
# field 2 may hold spaces, so count fields from its closing parenthesis.
proc_ticks() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	stat=${stat##*) }
	awk '{ print $12 + $13 }' <<<"$stat"
}

facts=$tmp/facts
results=$tmp/results.tsv
gc=$tmp/gc.tsv
cpu=$tmp/cpu.tsv
: >"$results"
: >"$gc"
: >"$cpu"
fact() {
	printf '%s\t%s\n' "$1" "$2" >>"$facts"
}

fact mode "$([ $smoke = 1 ] && echo smoke || echo full)"
fact nproc "$(nproc)"
fact clk_tck "$(getconf CLK_TCK)"
fact cpu "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
fact kernel "$(uname -sr)"
fact os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
fact load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
fact wrk "$(wrk -v 2>&1 | awk 'NR == 1 { print $1, $2 }')"
fact nginx "$(nginx -v 2>&1 | sed 's/^nginx version: nginx\///')"
fact program "$("$VISITS_FCGI" --version 2>/dev/null | head -n 1) ($prog_src)"
fact null "$NULL_FCGI"
fact base "${BASE:+$BASE at $(git -C "$BASE" rev-parse --short HEAD 2>/dev/null || echo '?')}"
fact tree "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')$(
    [ -n "$(git -C "$top" status --porcelain -- fcgi nginx 2>/dev/null)" ] &&
    echo ' + uncommitted changes in fcgi/ or nginx/')"
fsinfo=$(findmnt -n -o FSTYPE,SOURCE --target "$tmp" 2>/dev/null |
    awk '{ print $1, "(" $2 ")" }')
fact fs "${fsinfo:-$(stat -f -c %T "$tmp")}"
fact config "ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=\"$CONNS\" THREADS=$THREADS STARTS=$STARTS"
fact wrk_threads "$THREADS"
fact duration "$DURATION"
fact started "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start_s=$SECONDS

if [ $smoke = 0 ]; then
	echo "visits benchmark: $ROUNDS rounds x ${#CASES[@]} cases x" \
	    "conns ($CONNS), ${DURATION}s each; load average at start:" \
	    "$(cut -d' ' -f1-3 /proc/loadavg)"
fi

start_stack D d "$top" "$tmp/visits-fcgi" --durable ||
	die "the durable stack did not start (see above)"
start_stack N n "$top" "$tmp/visits-fcgi" --no-durable ||
	die "the non-durable stack did not start (see above)"
start_stack L l "$top" "$tmp/null-fcgi" ||
	die "the null responder's stack did not start (see above)"
if [ -n "$BASE" ]; then
	start_stack B b "$BASE" "$tmp/base-visits-fcgi" --durable ||
		die "the stack of $BASE did not start (see above)"
fi
if [ $smoke = 1 ]; then
	pass "the stacks started (durable on $D_STACK_BASE_URL, not durable on $N_STACK_BASE_URL, null-fcgi on $L_STACK_BASE_URL)"
fi
say "durable stack: $D_STACK_BASE_URL, not durable: $N_STACK_BASE_URL," \
    "null-fcgi: $L_STACK_BASE_URL${BASE:+, $BASE durable: $B_STACK_BASE_URL}," \
    "in $tmp (${fsinfo:-?})"

# The rounds.
missing=0
for ((r = 1; r <= ROUNDS; r++)); do
	fact "load_round_$r" "$(cut -d' ' -f1-3 /proc/loadavg)"
	# Round r starts at case r: no case always follows the same one.
	first=$(((r - 1) % ${#CASES[@]}))
	# The cases at one connection count run back to back, so that the
	# ratios between them compare runs seconds apart.
	for n in $CONNS; do
		for c in "${CASES[@]:first}" "${CASES[@]:0:first}"; do
			case_use "$c"
			url=$STACK_BASE_URL$case_path
			pids="$STACK_NGINX_PID $STACK_FCGI_PID"
			if [ "$WARMUP" -gt 0 ]; then
				run_wrk "$url" "$n" "$WARMUP" "$tmp/warmup.out" || :
			fi
			if [ "$c" = time-durable ]; then
				group_commit
				c0=$commits v0=$committed
			fi
			out=$tmp/wrk-$r-$c-$n.out
			cpu_sample $pids
			cpu0=$cpu_now
			children_cpu
			wrk0=$children_us
			run_wrk "$url" "$n" "$DURATION" "$out"
			rc=$?
			children_cpu
			cpu_sample $pids
			printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$n" \
			    "$(echo $cpu0 $cpu_now | tr ' ' '\t')" \
			    $((children_us - wrk0)) >>"$cpu"
			if line=$(parse_wrk "$out"); then
				printf '%s\t%s\t%s\t%s\n' "$r" "$c" "$n" \
				    "${line// /$'\t'}" >>"$results"
				read -r rps p50 p99 bad err reqs <<<"$line"
				say "$(printf 'round %d/%d  %-15s c%-4s %10s req/s  p50 %8.3f ms  p99 %8.3f ms%s' \
				    "$r" "$ROUNDS" "$c" "$n" "$rps" \
				    "$(awk -v u="$p50" 'BEGIN { print u / 1000 }')" \
				    "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" \
				    "$([ "$bad$err" = 00 ] ||
				    echo "  ($bad non-2xx, $err socket errors)")")"
			else
				missing=$((missing + 1))
				say "round $r $c c$n: wrk (status $rc) gave no numbers:"
				say "$(tail -n 5 "$out")"
			fi
			if [ "$c" = time-durable ]; then
				group_commit
				c1=$commits v1=$committed
				if is_uint "$c0" && is_uint "$c1" &&
				    is_uint "$v0" && is_uint "$v1"; then
					printf '%s\t%s\t%s\t%s\n' "$r" "$n" \
					    $((v1 - v0)) $((c1 - c0)) >>"$gc"
				fi
			fi
			# The access logs would grow by gigabytes.
			for st in "${stacks[@]}"; do
				log_dir=${st}_STACK_LOG_DIR
				: >"${!log_dir}/access.log"
			done
		done
	done
done
rm -f "$tmp/warmup.out"

# Memory after the load.
fact rss_durable "$(vm_kb "$D_STACK_FCGI_PID" VmRSS) $(vm_kb "$D_STACK_FCGI_PID" VmHWM)"
fact rss_nodurable "$(vm_kb "$N_STACK_FCGI_PID" VmRSS) $(vm_kb "$N_STACK_FCGI_PID" VmHWM)"
metric "$D_STACK_BASE_URL" visits_total
fact count_durable "$metric_value"

# Start to first answer: nginx stays up.  A poller waits (stat every
# ~0.1 ms, no load on nginx) for spawn-fcgi to create the socket, then asks
# nginx for /healthz, which waits in the socket's backlog until the program
# accepts; a 502 (socket there but not yet listening) is asked again.  It
# prints the wall-clock times of the socket and of the first 200; t0 is
# taken just before spawn-fcgi starts.
first_answer() {
	python3 - "$STACK_ADDR" "$STACK_PORT" "$STACK_SOCK" "$1" <<'EOF'
import os, socket, sys, time
host, port, sock, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
req = b"GET /healthz HTTP/1.0\r\nHost: bench\r\n\r\n"
open(ready, "w").close()
deadline = time.monotonic() + 30
seen = None
while time.monotonic() < deadline:
    if seen is None and os.path.exists(sock):
        seen = time.time()
    if seen is not None:
        try:
            with socket.create_connection((host, port), timeout=10) as s:
                s.sendall(req)
                head = s.recv(16)
            if head[9:12] == b"200":
                print("%.6f %.6f" % (seen, time.time()))
                sys.exit(0)
        except OSError:
            pass
    time.sleep(0.0001)
sys.exit(1)
EOF
}

stack_use D
starts=() socks=()
for ((i = 1; i <= STARTS; i++)); do
	stack_fcgi_stop || say "visits-fcgi did not stop cleanly"
	stack_save D
	rm -f "$tmp/ready" "$tmp/first"
	first_answer "$tmp/ready" >"$tmp/first" &
	poller_pid=$!
	while [ ! -e "$tmp/ready" ] && kill -0 "$poller_pid" 2>/dev/null; do
		sleep 0.01
	done
	sleep 0.05
	STACK_FCGI_ARGS=(--durable)
	t0=$EPOCHREALTIME
	stack_fcgi_start
	rc=$?
	stack_save D
	wait "$poller_pid"
	prc=$?
	poller_pid=
	if [ $rc != 0 ] || [ $prc != 0 ] || ! [ -s "$tmp/first" ]; then
		say "start $i: no first answer (start status $rc, poller $prc)"
		[ $rc = 0 ] || break
		continue
	fi
	read -r t_sock t_200 <"$tmp/first"
	sock_ms=$(awk -v a="$t0" -v b="$t_sock" \
	    'BEGIN { printf "%.2f", (b - a) * 1000 }')
	ms=$(awk -v a="$t0" -v b="$t_200" \
	    'BEGIN { printf "%.2f", (b - a) * 1000 }')
	starts+=("$ms")
	socks+=("$sock_ms")
	say "start $i/$STARTS: socket after $sock_ms ms," \
	    "first 200 on /healthz after $ms ms"
done
fact starts "${starts[*]}"
fact socks "${socks[*]}"
if [ -n "$D_STACK_FCGI_PID" ]; then
	stack_http_code /healthz
	fact rss_fresh "$(vm_kb "$D_STACK_FCGI_PID" VmRSS) $(vm_kb "$D_STACK_FCGI_PID" VmHWM)"
fi

# Stop both stacks; note how they ended.
stop_ok=1
for s in "${stacks[@]}"; do
	stack_use "$s"
	stack_stop || stop_ok=0
	stack_save "$s"
done
stacks=()
fact stop_ok "$stop_ok"

# One counter file update, per way of writing it, on the same filesystem.
store_ok=skipped
if [ "$STORE_SECONDS" != 0 ] && [ "$STORE_SECONDS" != 0.0 ]; then
	store_ok=0
	mkdir -p "$tmp/store"
	if "$STORE_BENCH" "$tmp/store" "$STORE_SECONDS" "$ROUNDS" \
	    >"$tmp/store.md" 2>&1; then
		store_ok=1
	fi
fi
fact load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
fact elapsed "$((SECONDS - start_s))"

if [ $smoke = 0 ]; then
	echo
	python3 "$bench_dir/report.py" "$facts" "$results" "$gc" "$cpu"
	rc=$?
	if [ $store_ok != skipped ]; then
		echo
		echo "One update of the counter file (bench/store-bench.c," \
		    "${STORE_SECONDS}s per way and round, $ROUNDS rounds," \
		    "on $(awk -F'\t' '$1 == "fs" { print $2 }' "$facts")):"
		echo
		cat "$tmp/store.md"
		[ $store_ok = 1 ] || rc=1
	fi
	exit $rc
fi

# Smoke: that every measurement was made, never how fast.
python3 "$bench_dir/report.py" "$facts" "$results" "$gc" "$cpu" | diag "$(cat)"
for c in "${CASES[@]}"; do
	for n in $CONNS; do
		line=$(awk -F'\t' -v c="$c" -v n="$n" \
		    '$2 == c && $3 == n' "$results")
		read -r _ _ _ rps p50 p99 bad err reqs <<<"$line"
		if [ -n "$line" ] && awk -v r="$rps" -v a="$p50" -v b="$p99" \
		    -v q="$reqs" 'BEGIN { exit !(r > 0 && a > 0 && b >= a && q > 0) }'
		then
			if [ "$bad" = 0 ] && [ "$err" = 0 ]; then
				pass "$c c$n: req/s, p50 and p99 measured"
			else
				fail "$c c$n: $bad non-2xx answers, $err socket errors"
			fi
		else
			fail "$c c$n: no numbers from wrk"
			[ ! -e "$tmp/wrk-1-$c-$n.out" ] ||
				diag "$(tail -n 8 "$tmp/wrk-1-$c-$n.out")"
		fi
	done
done
# Every case's CPU split was read: the machine was busy, nginx worked,
# wrk's own time was counted.
line=$(awk -F'\t' '$8 > $4 && $10 > $6 && $12 > 0 { n++ }
    END { print n + 0 }' "$cpu")
[ "$line" = $((${#CASES[@]} * $(wc -w <<<"$CONNS"))) ]
ok $? "CPU per request (nginx, the program, wrk, the rest) read for every run ($line)"
read -r rss hwm <<<"$(awk -F'\t' '$1 == "rss_durable" { print $2 }' "$facts")"
is_uint "${rss:-}" && is_uint "${hwm:-}" && [ "$rss" -gt 0 ]
ok $? "VmRSS and VmHWM of visits-fcgi read after the load"
line=$(awk -F'\t' '{ v += $3; c += $4 } END { if (c > 0) print v, c }' "$gc")
[ -n "$line" ]
ok $? "group commit size from /metrics (visits, commits: ${line:-none})"
[ ${#starts[@]} = "$STARTS" ]
ok $? "start to first answer measured $STARTS times (${starts[*]} ms)"
[ $stop_ok = 1 ]
ok $? "every stack stopped cleanly"
if [ $store_ok != skipped ]; then
	diag "$(cat "$tmp/store.md")"
	[ $store_ok = 1 ] && [ "$(grep -c '^| [a-z]' "$tmp/store.md")" = 7 ]
	ok $? "store-bench timed the 6 ways of updating the file"
fi
done_testing
