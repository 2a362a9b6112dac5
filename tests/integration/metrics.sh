#!/bin/bash
# /metrics: accepted by Prometheus' own parser and linter (promtool check
# metrics), the metric names the README lists, values that agree with
# what was requested.
. "$(dirname "$0")/../lib/it.sh"
need promtool

# The stored count's metric, as the README names it.
count_metric=visits_total

stack_start "$it_tmp" || bail_out "cannot start the stack"
start=$(date +%s)

curl -s -o /dev/null "$STACK_BASE_URL/time?n=[1-3]"
curl -s -o /dev/null "$STACK_BASE_URL/?n=[1-2]"
curl -s -o /dev/null "$STACK_BASE_URL/nope"
curl -s -o /dev/null "$STACK_BASE_URL/visits"
curl -s -o /dev/null -I "$STACK_BASE_URL/time"

http GET /metrics
is "$http_code" 200 "GET /metrics answers 200"
m=$http_body
printf '%s' "$m" >"$it_tmp/metrics.txt"
promtool check metrics <"$it_tmp/metrics.txt" >"$it_tmp/promtool.out" 2>&1
ok $? "promtool check metrics accepts it"
[ "$tap_failed" = 0 ] || diag "$(cat "$it_tmp/promtool.out")"

for t in "$count_metric counter" "visits_store_ready gauge" \
    "visits_http_requests_total counter" \
    "visits_http_request_duration_seconds histogram" \
    "visits_store_commits_total counter" \
    "visits_store_errors_total counter" \
    "process_start_time_seconds gauge" "process_max_fds gauge" \
    "visits_build_info gauge"; do
	grep -qx "# TYPE $t" "$it_tmp/metrics.txt"; ok $? "# TYPE $t"
	grep -q "^# HELP ${t% *} ." "$it_tmp/metrics.txt"; ok $? "# HELP ${t% *}"
done

# value NAME-REGEX: the value of the first sample matching.
value() {
	awk -v re="$1" '$0 ~ "^" re { print $NF; exit }' "$it_tmp/metrics.txt"
}
is "$(value "$count_metric ")" 5 "$count_metric is the count (5)"
is "$(value 'visits_store_ready ')" 1 "visits_store_ready is 1"
v=$(value 'visits_store_commits_total ')
[ "${v%.*}" -ge 1 ] 2>/dev/null; ok $? "visits_store_commits_total >= 1 ($v)"
is "$(value 'visits_store_errors_total ')" 0 "visits_store_errors_total is 0"
grep -Eq '^visits_http_requests_total\{.*code="404".*\} 1$' \
    "$it_tmp/metrics.txt"
ok $? "visits_http_requests_total has the 404"
v=$(grep -E '^visits_http_requests_total\{.*route="/time".*code="200".*\}' \
    "$it_tmp/metrics.txt" | awk '{ print $NF }')
[ -n "$v" ] && [ "${v%.*}" -ge 3 ] 2>/dev/null
ok $? "visits_http_requests_total for /time and 200 >= 3 ($v)"
inf=$(grep -E '^visits_http_request_duration_seconds_bucket\{.*route="/time".*le="\+Inf".*\}' \
    "$it_tmp/metrics.txt" | awk '{ print $NF }')
cnt=$(grep -E '^visits_http_request_duration_seconds_count\{.*route="/time".*\}' \
    "$it_tmp/metrics.txt" | awk '{ print $NF }')
[ -n "$inf" ] && [ "$inf" = "$cnt" ]
ok $? "duration histogram for /time: +Inf bucket = count ($inf, $cnt)"
st=$(value 'process_start_time_seconds ')
st=${st%.*}
[ -n "$st" ] && [ "$st" -le "$start" ] && [ "$st" -gt $((start - 300)) ] \
    2>/dev/null
ok $? "process_start_time_seconds is the start ($st, test began $start)"
ver=$("$VISITS_FCGI" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
grep -Eq "^visits_build_info\\{.*version=\"$ver\".*\\} 1\$" "$it_tmp/metrics.txt"
ok $? "visits_build_info{version=\"$ver\"} 1"

# A scrape does not count and is itself counted as a request.
http GET /metrics
printf '%s' "$http_body" >"$it_tmp/metrics.txt"
is "$(value "$count_metric ")" 5 "scrapes do not count visits"
grep -Eq '^visits_http_requests_total\{.*route="/metrics".*code="200".*\} [1-9]' \
    "$it_tmp/metrics.txt"
ok $? "scrapes are in visits_http_requests_total"

# Under a store failure the metrics say so and stay parseable.
stack_fcgi_stop
printf 'garbage\n' >"$STACK_DATA_DIR/visits"
stack_fcgi_start || bail_out "cannot restart visits-fcgi"
stack_wait_http /healthz 200
http GET /time
http GET /metrics
printf '%s' "$http_body" >"$it_tmp/metrics.txt"
promtool check metrics <"$it_tmp/metrics.txt" >"$it_tmp/promtool.out" 2>&1
ok $? "promtool accepts the metrics of a broken store"
is "$(value 'visits_store_ready ')" 0 "visits_store_ready is 0 when broken"
v=$(value 'visits_store_errors_total ')
[ "${v%.*}" -ge 1 ] 2>/dev/null; ok $? "visits_store_errors_total >= 1 ($v)"
stack_stop
fail_diag "$STACK_LOG_DIR/fcgi.log"

done_testing
