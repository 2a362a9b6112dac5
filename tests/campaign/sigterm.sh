#!/bin/bash
# Campaign 4, SIGTERM under load.
#
# A. The documented stop order (tests/lib/stack.sh stack_stop, the pod's
#    too): nginx gets SIGQUIT (graceful: it stops accepting and finishes
#    what it has), then visits-fcgi SIGTERM, while counting load runs.  No
#    5xx, every answer complete and well-formed, both exit 0 within 30 s,
#    the socket removed, and the count equal to the 200 counting answers.
#    Several rounds on the same data directory.
# B. SIGTERM straight to the program with raw FastCGI requests in flight
#    (half-sent on its own socket): each completes with 200, a new
#    connection after the signal is refused, exit 0, socket removed, each
#    visit counted.  Once with 4 requests, once with 8 (all accepted,
#    all served by the one event loop).
. "$(dirname "$0")/lib.sh"

sized rounds 2 10
sized load_secs 3 5
w=$it_tmp
STACK_DATA_DIR=$w/data
mkdir -p "$STACK_DATA_DIR"

echo "# A: $rounds rounds: ${load_secs}s of load (4 connections), then" \
    "nginx SIGQUIT, then visits-fcgi SIGTERM, load still running"
acked_total=0
rows=()
for r in $(seq "$rounds"); do
	stack_start "$w" || bail_out "round $r: cannot start the stack"
	stack_wait_http /readyz 200 || bail_out "round $r: not ready"
	before=$(cat "$STACK_DATA_DIR/visits")
	load_start "$w/load.$r.json" "$STACK_BASE_URL" --threads 4 --mode count
	sleep "$load_secs"
	t0=$(date +%s%N)
	stack_stop
	ms=$((($(date +%s%N) - t0) / 1000000))
	load_stop
	j=$w/load.$r.json
	fivexx=$(jq '[.status | to_entries[] |
	    select(.key | test(" 5[0-9][0-9]")) | .value] | add // 0' "$j")
	acked=$(jget "$j" .acked)
	after=$(cat "$STACK_DATA_DIR/visits")
	is "$STACK_NGINX_STATUS" 0 "round $r: nginx exits 0 after SIGQUIT"
	is "$STACK_FCGI_STATUS" 0 "round $r: visits-fcgi exits 0 after SIGTERM"
	[ "$ms" -lt 30000 ]
	ok $? "round $r: both stopped within 30 s (${ms} ms)"
	is "$STACK_SOCKET_LEFT" 0 "round $r: the socket was removed"
	is "$fivexx" 0 "round $r: no 5xx answer"
	is "$(jget "$j" .incomplete)" 0 "round $r: no answer cut short"
	is "$(jget "$j" .bad_body)" 0 "round $r: every 200 well-formed"
	is "$((after - before))" "$acked" \
	    "round $r: count +$((after - before)) == $acked 200 answers"
	acked_total=$((acked_total + acked))
	rows+=("$(printf '%-6s %-9s %-9s %-10s %-5s %-6s %-6s %s' "$r" \
	    "$(jget "$j" .requests)" "$acked" "$(jget "$j" .no_answer)" \
	    "$fivexx" "$((after - before))" "$ms" \
	    "$STACK_NGINX_STATUS/$STACK_FCGI_STATUS")")
	fail_diag "$STACK_LOG_DIR/fcgi.log" 10
	[ "$fivexx" = 0 ] || diag "$(jq -c .status "$j")"
done
echo "#"
row '%-6s %-9s %-9s %-10s %-5s %-6s %-6s %s' round requests "200" \
    "no answer" 5xx counted "stop ms" exit
for x in "${rows[@]}"; do
	echo "# $x"
done
echo "# (no answer: refused once nginx had stopped listening; never counted)"
echo "#"
is "$(cat "$STACK_DATA_DIR/visits")" "$acked_total" \
    "after $rounds rounds the file holds all $acked_total acknowledged visits"

# raw WHAT COUNT: B with COUNT half-sent requests on a fresh program.
raw() {
	local what=$1 count=$2 sock=$w/own.sock data=$w/data-$1 n new pid t0
	echo "# B ($what): SIGTERM to visits-fcgi with $count FastCGI requests" \
	    "in flight"
	mkdir -p "$data"
	own_start "$sock" "$w/own-$what.log" --data-dir "$data" ||
		bail_out "visits-serve does not start visits-fcgi"
	pid=$own_pid
	t0=$(date +%s%N)
	fcgi_client inflight "$sock" "$pid" --count "$count" --newcomer \
	    >"$w/raw-$what.json"
	n=$(jq -s 'map(select(.status == 200 and .complete)) | length' \
	    "$w/raw-$what.json")
	is "$n" "$count" "$what: $count requests in flight at SIGTERM: each a complete 200"
	new=$(jq -rs 'map(select(.new_connection)) | .[0].new_connection' \
	    "$w/raw-$what.json")
	is "$new" refused "$what: a new connection after SIGTERM is refused"
	exit_status "$pid" 30
	is "$status" 0 "$what: visits-fcgi exits 0" \
	    "($((($(date +%s%N) - t0) / 1000000)) ms after the first connection)"
	[ ! -e "$sock" ]
	ok $? "$what: the socket file is gone"
	is "$(cat "$data/visits" 2>/dev/null)" "$count" \
	    "$what: the $count visits in flight were counted"
	[ "$tap_failed" = 0 ] || diag "$(cat "$w/raw-$what.json")"
	fail_diag "$w/own-$what.log" 10
}

# The program holds them all (fcgi_client inflight waits until it has
# accepted every one), each waiting for the rest of its request.
raw "four" 4
raw "eight" 8
done_testing
