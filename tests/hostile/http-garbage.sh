#!/bin/bash
# Hostile HTTP on nginx's port, bounded (about 20 s): overlong URIs and
# headers, bad methods, HTTP/0.9, junk request lines, unsupported
# versions, request smuggling shapes, a body too large, pipelining, 20
# slowloris clients trickling headers and 200 idle connections, while a
# normal client sends GET /time: no error, every answer within
# LATENCY_BOUND seconds, nginx answers 4xx (505 for an unsupported HTTP
# version), the count exact, the same visits-fcgi process at the end.
. "$(dirname "$0")/../lib/it.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

bound=${LATENCY_BOUND:-2}
stack_start "$it_tmp" || bail_out "cannot start the stack"
pid=$STACK_FCGI_PID
visits
before=$visits

j=$(python3 "$(dirname "$0")/hostile.py" http-garbage "$STACK_ADDR" \
    "$STACK_PORT" "$STACK_BASE_URL" --seconds 15 --idle 200 --slow 20) ||
	bail_out "hostile.py failed"
diag "$(jq -c 'del(.bad, .normal_error_samples)' <<<"$j")"
is "$(jq -r '.bad | length' <<<"$j")" 0 "nginx: $(jq -r .cases <<<"$j") \
bad requests answered as expected (4xx, 505 for HTTP/9.9, pipelining)"
jq -r '.bad[]' <<<"$j" | while IFS= read -r line; do diag "$line"; done
# nginx writes its access log at most 1 s late (buffer=4k flush=1s): let
# the last lines of the load reach the file before reading it.
sleep 2
grep -E '"status":5[0-9][0-9]' "$STACK_LOG_DIR/access.log" |
    grep -v '"status":505' >"$it_tmp/5xx" || :
is "$(wc -l <"$it_tmp/5xx")" 0 "no 5xx in nginx's access log (but 505)"
[ -s "$it_tmp/5xx" ] && diag "$(head -n 3 "$it_tmp/5xx")"

check_normal "$j"
slow=$(jq -r '.slowloris_seconds | max // 0' <<<"$j")
ok "$(awk -v s="$slow" 'BEGIN { print (s <= 12) ? 0 : 1 }')" \
    "nginx dropped every slowloris client within 12 s (client_header_timeout)"
diag "slowloris connections ended after (s): $(jq -c .slowloris_seconds \
    <<<"$j")"

extra=$(jq -r .extra_visits <<<"$j")
visits
is "$visits" $((before + served + extra)) \
    "count exact: $before + $served normal + $extra pipelined visits"
ok "$(kill -0 "$pid" 2>/dev/null; echo $?)" "visits-fcgi alive"
ok "$(grep -qF "$VISITS_FCGI" "/proc/$pid/cmdline" 2>/dev/null; echo $?)" \
    "the same visits-fcgi process (pid $pid) as at the start"
done_testing
