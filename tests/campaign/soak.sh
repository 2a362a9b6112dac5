#!/bin/bash
# Campaign 7, soak: mixed load through nginx (GET /, /time, /visits,
# /metrics, /healthz, /readyz, a 404, HEAD / and /time) for 60 s (10
# minutes with --full), sampling every few seconds the resident memory
# (VmRSS) and open file descriptors of visits-fcgi and of the nginx
# workers (summed).  Flat means, for each of the two:
#   RSS: the last sample under load <= max(1.1 x the first sample after
#        the warm-up, that sample + 256 KiB)
#   fds: the last sample under load <= the first after the warm-up + 8,
#        and once the load stops, <= the idle count before it + 16 (the
#        upstream connections nginx may keep: 2 workers x keepalive 8)
# Every answer must be the route's usual one, complete and well-formed,
# and the count exact.
. "$(dirname "$0")/lib.sh"

sized duration 60 600
sized interval 3 5
sized warmup 20 60
rss_pct=10 rss_kib=256 fds_load=8 fds_idle=16
w=$it_tmp
stack_start "$w" || bail_out "cannot start the stack"
stack_wait_http /readyz 200 || bail_out "not ready at start"
start_count=$(cat "$STACK_DATA_DIR/visits")

# sample: s_frss s_ffd (visits-fcgi), s_nrss s_nfd (nginx workers summed)
sample() {
	local p
	s_frss=$(awk '/^VmRSS/ { print $2 }' "/proc/$STACK_FCGI_PID/status")
	s_ffd=$(find "/proc/$STACK_FCGI_PID/fd" -mindepth 1 | wc -l)
	s_nrss=0 s_nfd=0 s_nw=0
	for p in $(ps -o pid= --ppid "$STACK_NGINX_PID"); do
		s_nrss=$((s_nrss + $(awk '/^VmRSS/ { print $2 }' \
		    "/proc/$p/status")))
		s_nfd=$((s_nfd + $(find "/proc/$p/fd" -mindepth 1 | wc -l)))
		s_nw=$((s_nw + 1))
	done
}

fmt='%-6s %-12s %-11s %-16s %-15s'
sample
idle_ffd=$s_ffd idle_nfd=$s_nfd
echo "# idle before the load: visits-fcgi ${s_frss} KiB, $s_ffd fds;" \
    "$s_nw nginx workers ${s_nrss} KiB, $s_nfd fds"
echo "# ${duration}s of mixed load (4 connections), a sample every" \
    "${interval}s, warm-up ${warmup}s"
row "$fmt" "t (s)" "fcgi RSS KiB" "fcgi fds" "nginx RSS KiB" "nginx fds"
load_start "$w/load.json" "$STACK_BASE_URL" --threads 4 --mode mixed
t0=$SECONDS
warm=
max_frss=0 max_nrss=0 max_ffd=0 max_nfd=0
while [ $((SECONDS - t0)) -lt "$duration" ]; do
	sleep "$interval"
	sample
	t=$((SECONDS - t0))
	row "$fmt" "$t" "$s_frss" "$s_ffd" "$s_nrss" "$s_nfd"
	if [ -z "$warm" ] && [ "$t" -ge "$warmup" ]; then
		warm=1
		w_frss=$s_frss w_ffd=$s_ffd w_nrss=$s_nrss w_nfd=$s_nfd
		echo "# (warm-up over: the samples below are compared with this one)"
	fi
	[ "$s_frss" -gt $max_frss ] && max_frss=$s_frss
	[ "$s_nrss" -gt $max_nrss ] && max_nrss=$s_nrss
	[ "$s_ffd" -gt $max_ffd ] && max_ffd=$s_ffd
	[ "$s_nfd" -gt $max_nfd ] && max_nfd=$s_nfd
done
load_stop
sleep 2
l_frss=$s_frss l_ffd=$s_ffd l_nrss=$s_nrss l_nfd=$s_nfd
sample
echo "# idle after the load: visits-fcgi ${s_frss} KiB, $s_ffd fds;" \
    "nginx workers ${s_nrss} KiB, $s_nfd fds"
[ -n "$warm" ] || bail_out "no sample after the warm-up"

bound() {
	local a=$(($1 * (100 + rss_pct) / 100)) b=$(($1 + rss_kib))
	echo $((a > b ? a : b))
}
fb=$(bound "$w_frss") nb=$(bound "$w_nrss")
echo "# visits-fcgi RSS: after warm-up $w_frss KiB, last $l_frss," \
    "max $max_frss, bound $fb; fds: warm $w_ffd, last $l_ffd, max $max_ffd"
echo "# nginx workers RSS: after warm-up $w_nrss KiB, last $l_nrss," \
    "max $max_nrss, bound $nb; fds: warm $w_nfd, last $l_nfd, max $max_nfd"
[ "$l_frss" -le "$fb" ]
ok $? "visits-fcgi RSS flat: $l_frss <= $fb KiB (max(+${rss_pct}%, +${rss_kib} KiB))"
[ "$l_nrss" -le "$nb" ]
ok $? "nginx workers RSS flat: $l_nrss <= $nb KiB"
[ "$l_ffd" -le $((w_ffd + fds_load)) ]
ok $? "visits-fcgi fds flat under load: $l_ffd <= $w_ffd + $fds_load"
[ "$l_nfd" -le $((w_nfd + fds_load)) ]
ok $? "nginx workers fds flat under load: $l_nfd <= $w_nfd + $fds_load"
[ "$s_ffd" -le $((idle_ffd + fds_idle)) ]
ok $? "visits-fcgi fds back after the load: $s_ffd <= $idle_ffd + $fds_idle"
[ "$s_nfd" -le $((idle_nfd + fds_idle)) ]
ok $? "nginx workers fds back after the load: $s_nfd <= $idle_nfd + $fds_idle"

j=$w/load.json
echo "# load: $(jq -c '{requests, seconds, acked, no_answer, incomplete,
    bad_body, unexpected, max_seconds}' "$j")"
echo "# answers: $(jq -c .status "$j")"
[ "$(jget "$j" .requests)" -gt 0 ]
ok $? "the load ran ($(jget "$j" .requests) requests)"
is "$(jget "$j" '.no_answer + .incomplete')" 0 "every request answered in full"
is "$(jget "$j" .unexpected)" 0 "every answer had the route's usual status"
is "$(jget "$j" .bad_body)" 0 "every answer well-formed"
[ "$(jget "$j" .unexpected)" = 0 ] || diag "$(jq -c .examples "$j")"
is "$(($(cat "$STACK_DATA_DIR/visits") - start_count))" "$(jget "$j" .acked)" \
    "the count grew by exactly the $(jget "$j" .acked) counting 200s"
kill -0 "$STACK_FCGI_PID"
ok $? "visits-fcgi is still the same process"
stack_stop
ok $? "the stack stops cleanly"
fail_diag "$STACK_LOG_DIR/nginx.err" 10
done_testing
