#!/bin/bash
# Many more concurrent clients than nginx keeps upstream connections,
# through those kept connections, all served by the program's one event
# loop: every request answered 200 in bounded time, no starvation, no
# hang, exact count; also with the program started under a low limit of
# open files.
. "$(dirname "$0")/../lib/it.sh"

stack_start "$it_tmp" || bail_out "cannot start the stack"

# load CLIENTS REQUESTS LIMIT: REQUESTS GETs of /time and /visits (half
# each) over CLIENTS parallel connections, at most LIMIT seconds.
load() {
	local clients=$1 half=$(($2 / 2)) limit=$3 start rc=0
	visits
	base=$visits
	start=$(date +%s%N)
	timeout "$limit" curl -s -o /dev/null -w '%{http_code}\n' \
	    --parallel --parallel-immediate --parallel-max "$clients" \
	    --max-time 30 \
	    "$STACK_BASE_URL/time?n=[1-$half]" \
	    "$STACK_BASE_URL/visits?n=[1-$half]" >"$it_tmp/codes" \
	    2>"$it_tmp/curl.err" || rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	n200=$(grep -c '^200$' "$it_tmp/codes")
	is "$rc" 0 "$clients clients: curl finished within ${limit}s (${ms} ms)"
	is "$n200" $((2 * half)) "$clients clients: all $((2 * half)) answered 200"
	[ "$n200" = $((2 * half)) ] ||
		diag "answers: $(sort "$it_tmp/codes" | uniq -c | tr '\n' ' ')"
	visits
	is "$visits" $((base + half)) "$clients clients: exactly $half visits counted"
}

load 200 4000 90

# Kept connections: some stay open after the load, never more than
# worker_processes x keepalive.
need ss
nginx_conf
max=$((conf_workers * conf_keepalive))
kept=$(ss -x state established 2>/dev/null | grep -c "$STACK_SOCK")
diag "kept upstream connections after the load: $kept"
[ "$kept" -ge 1 ] && [ "$kept" -le "$max" ]
ok $? "nginx keeps 1..$max idle upstream connections ($kept)"

# Right after the load, single requests are prompt (nothing starved).
worst=0
for i in $(seq 50); do
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 \
	    "$STACK_BASE_URL/healthz")
	ms=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')
	[ "$ms" -gt "$worst" ] && worst=$ms
done
[ "$worst" -lt 3000 ]; ok $? "50 requests after the load: slowest ${worst} ms (< 3 s)"

grep -Eq 'upstream timed out|Resource temporarily unavailable|no live upstreams' \
    "$STACK_LOG_DIR/nginx.err"
is $? 1 "nginx logged no upstream timeout or refused connection"

# nginx may keep thousands of connections to the program, each a
# descriptor there: the program takes the hard limit of open files
# (fcgi/main.c), whatever soft limit it was started with.
stack_fcgi_stop
soft=$(ulimit -Sn)
ulimit -Sn 256
stack_fcgi_start
rc=$?
ulimit -Sn "$soft"
[ $rc = 0 ] || bail_out "cannot restart with a soft limit of 256 open files"
# Ready, so past its start (the socket appears before it runs).
stack_wait_http /readyz 200
read -r lim_soft lim_hard < <(awk '$1 $2 $3 == "Maxopenfiles" {
    print $4, $5 }' "/proc/$STACK_FCGI_PID/limits")
is "$lim_soft" "$lim_hard" \
    "started with a soft limit of 256 open files, the program takes the hard limit"
# Each client holds at most one connection to the program: 400, more
# than it started with, but 64 below the limit the program says it has
# (/metrics), where that is less (valgrind gives it no more than 256).
max_fds=$(curl -s "$STACK_BASE_URL/metrics" |
    awk '$1 == "process_max_fds" { print $2 }')
clients=400
if [ "${max_fds:-0}" -lt $((clients + 64)) ]; then
	clients=$((${max_fds:-0} - 64))
	diag "the program may open $max_fds files: $clients clients"
fi
load "$clients" 4000 90

stack_stop
ok $? "the stack stops cleanly"
fail_diag "$STACK_LOG_DIR/nginx.err"
fail_diag "$STACK_LOG_DIR/fcgi.log"

done_testing
