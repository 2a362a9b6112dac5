#!/bin/bash
# Process death and shutdown: kill -9 of visits-fcgi under load loses no
# acknowledged visit and a restart (stale socket replaced) goes on from the
# stored count behind the same nginx; SIGTERM with requests in flight on
# raw FastCGI connections: each gets a complete 200, exit 0, socket gone.
. "$(dirname "$0")/../lib/it.sh"

stack_start "$it_tmp" || bail_out "cannot start the stack"

curl -s -o /dev/null --max-time 20 "$STACK_BASE_URL/time?n=[1-20]"
visits
is "$visits" 20 "20 visits before the kill"
base=$visits

# kill -9 in the middle of counting requests: once 100 are on disk, far
# fewer than the 16,000 sent (a fixed sleep would race a fast machine).
pids=()
for c in 1 2 3 4; do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 120 \
	    "$STACK_BASE_URL/time?c=$c&n=[1-4000]" >"$it_tmp/codes.$c" &
	pids+=($!)
done
for _ in $(seq 1000); do
	file_count
	[ "$file_count" -ge $((base + 100)) ] 2>/dev/null && break
	sleep 0.01
done
old_pid=$STACK_FCGI_PID
stack_fcgi_stop KILL
is "$STACK_FCGI_STATUS" 137 "visits-fcgi killed with SIGKILL under load"
wait "${pids[@]}"
acked=$(cat "$it_tmp"/codes.* | grep -c '^200$')
sent=$(cat "$it_tmp"/codes.* | grep -c .)
diag "answers: $(cat "$it_tmp"/codes.* | sort | uniq -c | tr '\n' ' ')"
[ "$acked" -gt 0 ] && [ "$acked" -lt 16000 ]
ok $? "the kill came in the middle ($acked of 16000 answered 200)"
[ -S "$STACK_SOCK" ]; ok $? "the killed program left its socket file"
file_count
like "$file_count" '^[0-9]+$' "the counter file is a complete number ($file_count)"
[ "$file_count" -ge $((base + acked)) ] 2>/dev/null
ok $? "no acknowledged visit lost: file $file_count >= $base + $acked"
[ "$file_count" -le $((base + sent)) ] 2>/dev/null
ok $? "no visit invented: file $file_count <= $base + $sent sent"
http GET /time
is "$http_code" 502 "nginx answers 502 while the program is down"
is "$http_body" $'{"error":"visits-fcgi unavailable"}\n' "... in JSON"

# Restart behind the same nginx: the stale socket is replaced.
stored=$file_count
stack_fcgi_start
ok $? "visits-fcgi restarts on the stale socket"
[ "$STACK_FCGI_PID" != "$old_pid" ]; ok $? "a new process"
stack_wait_http /readyz 200; ok $? "ready again behind the same nginx"
visits
is "$visits" "$stored" "the count survived the kill ($stored)"
http GET /time
is "$http_code" 200 "GET /time after the restart"
visits
is "$visits" $((stored + 1)) "and counts from there"
stack_stop
ok $? "stack stops cleanly"
fail_diag "$STACK_LOG_DIR/fcgi.log"
fail_diag "$STACK_LOG_DIR/nginx.err"

# SIGTERM with requests in flight, on raw FastCGI connections (no nginx).
sock=$it_tmp/own.sock
data=$it_tmp/data-own
mkdir -p "$data"
own_start "$sock" "$it_tmp/own.log" --data-dir "$data"
ok $? "visits-serve starts visits-fcgi on its socket and it answers"
pid=$own_pid
is "$(stat -c %a "$sock")" 660 "the socket's mode is 0660"
fcgi_client inflight "$sock" "$pid" --count 6 --uri /time \
    >"$it_tmp/inflight.json"
ok $? "6 requests in flight at SIGTERM: each a complete 200"
[ "$tap_failed" = 0 ] || diag "$(cat "$it_tmp/inflight.json")"
n=$(jq -s 'map(select(.status == 200 and .complete)) | length' \
    "$it_tmp/inflight.json")
is "$n" 6 "6 complete 200 answers"
n=$(jq -s 'map(select(.taken_before_sigterm)) | length' \
    "$it_tmp/inflight.json")
is "$n" 6 "before SIGTERM the program had accepted all 6 (ss: listen queue empty; partial requests must not block the event loop)"
exit_status "$pid" 30
is "$status" 0 "visits-fcgi exits 0 after SIGTERM"
[ ! -e "$sock" ]; ok $? "the socket file is gone"
is "$(cat "$data/visits" 2>/dev/null)" 6 "the 6 visits in flight were counted"
fail_diag "$it_tmp/own.log"

# SIGTERM when idle, and SIGINT: prompt exit 0.
for sig in TERM INT; do
	own_start "$sock" "$it_tmp/own.log" --data-dir "$data"
	start=$(date +%s%N)
	own_stop "$own_pid" "$sig"
	ms=$((($(date +%s%N) - start) / 1000000))
	is "$status" 0 "idle visits-fcgi exits 0 on SIG$sig"
	[ "$ms" -lt 5000 ]; ok $? "... within 5 s (${ms} ms)"
	[ ! -e "$sock" ]; ok $? "... and removes its socket"
	fail_diag "$it_tmp/own.log"
done

done_testing
