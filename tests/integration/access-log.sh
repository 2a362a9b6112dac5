#!/bin/bash
# nginx's buffered access log through a pipe, as in the pod (stdout is a
# pipe to the container runtime, written by both workers): under
# concurrent load every line arrives whole and is JSON, one a request;
# a line waits at most about flush=1s; a graceful stop writes the rest;
# the kubelet's probes leave no line, other requests of the same paths do.
. "$(dirname "$0")/../lib/it.sh"

stack_setup "$it_tmp" || bail_out "cannot set the stack up"
pipe=$STACK_LOG_DIR/access.log
log=$it_tmp/received.log
mkfifo "$pipe" || bail_out "mkfifo failed"
# A slow reader, like a busy container runtime: the pipe fills up, which
# is when a write of more than PIPE_BUF bytes is split and interleaved.
python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
with open(sys.argv[2], "wb") as out:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        out.write(chunk)
        out.flush()
        time.sleep(0.0005)
' "$pipe" "$log" &
reader=$!
stack_start "$it_tmp" || bail_out "cannot start the stack"

# A first request: its line comes through the pipe within the flush time,
# without any other traffic to fill the buffer.
http GET '/healthz?lone=1'
is "$http_code" 200 "GET /healthz answered"
for _ in $(seq 50); do
	grep -q '"uri":"/healthz?lone=1"' "$log" && break
	sleep 0.1
done
grep -q '"uri":"/healthz?lone=1"' "$log"
ok $? "a lone request's line arrives within 5 s (flush=1s)"

# Concurrent load on both workers: 4,000 requests over 32 connections.
# Long user agents make lines of about 1.1 KiB, so that 4 KiB buffers
# from the two workers hold few lines and would tear them if nginx wrote
# more than PIPE_BUF at once.
ua=$(printf 'load-%.0s' $(seq 200))
curl -s -o /dev/null -w '%{http_code}\n' -A "$ua" \
    --parallel --parallel-immediate --parallel-max 32 --max-time 30 \
    "$STACK_BASE_URL/visits?n=[1-2000]" "$STACK_BASE_URL/nope?n=[1-2000]" \
    >"$it_tmp/codes" 2>/dev/null
is "$(grep -c '^200$' "$it_tmp/codes")/$(grep -c '^404$' "$it_tmp/codes")" \
    2000/2000 "4,000 requests answered (2,000 200, 2,000 404)"

# The kubelet's probes (User-Agent kube-probe/<version>) are not logged;
# the same paths asked by anyone else are, and so are visits.
for p in /readyz /healthz /time; do
	curl -s -o /dev/null -A kube-probe/1.34 "$STACK_BASE_URL$p?probe=1"
	curl -s -o /dev/null "$STACK_BASE_URL$p?person=1"
done

# A graceful stop (SIGQUIT, as in the pod) writes what is buffered.
stack_nginx_stop
ok $? "nginx stops gracefully"
wait "$reader"
lines=$(grep -c . "$log")
json=$(jq -c . "$log" 2>/dev/null | grep -c .)
is "$json" "$lines" "every line is a whole JSON object ($lines lines, none torn)"
is "$(jq -r 'select(.user_agent == "'"$ua"'") | .status' "$log" 2>/dev/null |
    sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" "200:2000 404:2000 " \
    "one line a request of the load, with its status, none lost at the stop"
is "$(grep -c 'probe=1' "$log")" 0 "no line for the kubelet's probes"
is "$(grep -o '"uri":"/[a-z]*?person=1"' "$log" | sort | tr '\n' ' ')" \
    '"uri":"/healthz?person=1" "uri":"/readyz?person=1" "uri":"/time?person=1" ' \
    "a line for each of the same requests from anyone else"
stack_fcgi_stop; ok $? "visits-fcgi exits 0 on SIGTERM"
done_testing
