#!/bin/bash
# Campaign 1, kill -9 under load: counting load through nginx (GET /time
# from several connections, every answer recorded), visits-fcgi killed
# with SIGKILL at random moments and restarted each time, while a reader
# polls the counter file in a tight loop.  The reader must never see an
# empty, torn, non-numeric, missing or decreasing file; at the end the
# count must be at least the acknowledged (200) visits, and at most that
# plus the counting requests in flight at the kills (those that got no
# answer, a cut answer or an error status: 502 while the program is down).
. "$(dirname "$0")/lib.sh"

sized kills 20 100
sized threads 3 4
w=$it_tmp
stack_start "$w" || bail_out "cannot start the stack"
stack_wait_http /readyz 200 || bail_out "not ready at start"
file=$STACK_DATA_DIR/visits
start_count=$(cat "$file")

"$CAMPAIGN_BIN/reader" "$file" >"$w/reader.out" 2>"$w/reader.err" &
rpid=$!
it_own_pids+=("$rpid")
load_start "$w/load.json" "$STACK_BASE_URL" --threads "$threads" --mode count
sleep 1

echo "# $kills kills of visits-fcgi under $threads counting connections"
killed=0 restarted=0 delays=()
for k in $(seq "$kills"); do
	delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.05 + r / 32768 * 0.55 }')
	delays+=("$delay")
	sleep "$delay"
	stack_fcgi_stop KILL
	[ "$STACK_FCGI_STATUS" = 137 ] && killed=$((killed + 1))
	if ! stack_fcgi_start; then
		fail "restart $k of visits-fcgi"
		break
	fi
	restarted=$((restarted + 1))
done
# The last process serves a while, then the load stops.
sleep 1
load_stop
kill -TERM "$rpid"
rstatus=0
wait "$rpid" || rstatus=$?
stack_wait_http /readyz 200 >/dev/null 2>&1
stack_stop
ok $? "the stack stops cleanly after the last restart"

is "$killed" "$kills" "visits-fcgi died of SIGKILL $kills times"
is "$restarted" "$kills" "and was restarted $kills times"
echo "# kill delays (s): ${delays[*]}"

# The reader.
read -r rline <"$w/reader.out"
echo "# reader: $rline"
[ -s "$w/reader.err" ] && diag "$(head -n 5 "$w/reader.err")"
declare -A rd
for kv in $rline; do
	rd[${kv%%=*}]=${kv#*=}
done
[ "${rd[reads]:-0}" -gt 1000 ] 2>/dev/null
ok $? "the reader read the file ${rd[reads]:-0} times"
for what in empty torn missing decreased; do
	is "${rd[$what]:-?}" 0 "the reader saw no $what file"
done
is "$rstatus" 0 "the reader's verdict: every read was a complete count"

# The count.
final=$(cat "$file")
acked=$(jget "$w/load.json" .acked)
inflight=$(jget "$w/load.json" '.count_no_answer + .count_other + .incomplete')
bad=$(jget "$w/load.json" .bad_body)
echo "# load: $(jq -c '{requests, acked, count_no_answer, count_other,
    incomplete, bad_body, status}' "$w/load.json")"
visits_done=$((final - start_count))
lost=$((acked > visits_done ? acked - visits_done : 0))
phantom=$((visits_done > acked ? visits_done - acked : 0))
echo "#"
row '%-34s %s' "kills (SIGKILL, restarted)" "$killed"
row '%-34s %s' "acknowledged visits (200)" "$acked"
row '%-34s %s' "in flight at the kills (no 200)" "$inflight"
row '%-34s %s' "final count (file; start $start_count)" "$final"
row '%-34s %s' "lost (acknowledged, not counted)" "$lost"
row '%-34s %s (bounds: %s in flight, %s kills x clients)' \
    "counted but not acknowledged" "$phantom" "$inflight" $((kills * threads))
echo "#"
# Each client has one request outstanding: a kill can leave at most one
# counted but unanswered visit a client (nginx does not retry a request
# on another connection once the program has it, and none is alive then).
bound=$((kills * threads))
[ "$acked" -gt 0 ]
ok $? "visits were acknowledged under load ($acked)"
is "$bad" 0 "every 200 answer was a well-formed time"
is "$lost" 0 "no acknowledged visit lost"
[ "$visits_done" -ge "$acked" ] && [ "$visits_done" -le $((acked + inflight)) ]
ok $? "count $visits_done in [acknowledged $acked, + in flight $inflight]"
[ "$phantom" -le "$bound" ]
ok $? "counted but unacknowledged $phantom <= kills x clients $bound"
fail_diag "$STACK_LOG_DIR/nginx.err" 10
done_testing
