#!/bin/bash
# Hostile input on the FastCGI socket, bounded (about 60 s): raw garbage
# from several threads (random bytes, truncated records, wrong versions,
# lengths claiming up to 2 GiB, aborts, management records, odd roles)
# while 200 connections sit idle, then slow clients trickling bytes, then
# clients that send records and never read the answers, then libfcgi's
# own two known bugs (tests/fuzz/README.md).  All the while a
# normal client sends GET /time through nginx: every answer correct,
# within LATENCY_BOUND seconds, the count exact, the same process at the
# end.
#
#   HOSTILE_SECONDS   garbage phase length [20]
#   LATENCY_BOUND     slowest acceptable normal answer, seconds [2]
. "$(dirname "$0")/../lib/it.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

hostile() {
	python3 "$(dirname "$0")/hostile.py" "$@"
}
seconds=${HOSTILE_SECONDS:-20}
bound=${LATENCY_BOUND:-2}
clients=5

stack_start "$it_tmp" || bail_out "cannot start the stack"
pid=$STACK_FCGI_PID
visits
before=$visits

served=0
unanswered=0

# --- garbage, idle connections ------------------------------------------
j=$(hostile fcgi-garbage "$STACK_SOCK" "$STACK_BASE_URL" \
    --seconds "$seconds" --idle 200) || bail_out "hostile.py failed"
diag "garbage: $(jq -c 'del(.normal_error_samples)' <<<"$j")"
like "$(jq -r .sent <<<"$j")" '^[1-9][0-9]*$' "garbage connections were sent"
is "$(jq -r .hung <<<"$j")" 0 "every garbage connection closed within 12 s\
 (--io-timeout and 2 s; slowest $(jq -r .slowest_close <<<"$j") s)"
is "$(jq -r .idle_then_served <<<"$j")" 200 \
    "200 idle connections stayed open and were served afterwards"
check_normal "$j" garbage
ok "$(kill -0 "$pid" 2>/dev/null; echo $?)" "visits-fcgi survived the garbage"

# --- slow clients trickling bytes ---------------------------------------
# A connection that trickles a request must not hold the event loop for
# as long as it likes.
j=$(hostile fcgi-trickle "$STACK_SOCK" "$STACK_BASE_URL" \
    --clients "$clients" --seconds 8) || bail_out "hostile.py failed"
check_normal "$j" "$clients clients trickling a byte every 0.5 s"
ok "$(kill -0 "$pid" 2>/dev/null; echo $?)" \
    "visits-fcgi survived the trickling clients"

# --- clients that never read ------------------------------------------
# libfcgi answers each management record itself, with a blocking write:
# clients that send many and never read must not hold the event loop.
j=$(hostile fcgi-mgmt "$STACK_SOCK" --records 20000 \
    --clients "$clients" --no-read --url "$STACK_BASE_URL" --seconds 4) ||
	bail_out "hostile.py failed"
check_normal "$j" "$clients clients not reading their answers"
ok "$(kill -0 "$pid" 2>/dev/null; echo $?)" \
    "visits-fcgi survived the clients that never read"

# --- the count ----------------------------------------------------------
visits
if [ "$unanswered" = 0 ]; then
	is "$visits" $((before + served)) \
	    "count exact: $before + $served answered visits"
else
	# A counting request nginx gave up on (504) may still be counted
	# when the program gets to it: at most that many more.
	ok "$([ "$visits" -ge $((before + served)) ] &&
	    [ "$visits" -le $((before + served + unanswered)) ]; echo $?)" \
	    "count $visits: $before + $served answered + at most $unanswered"
	diag "$((visits - before - served)) of the $unanswered unanswered" \
	    "counting requests (nginx: 504) were counted: visits nobody saw"
fi
file_count
is "$file_count" "$visits" "the counter file says the same"
ok "$(grep -qF "$VISITS_FCGI" "/proc/$pid/cmdline" 2>/dev/null; echo $?)" \
    "the same visits-fcgi process (pid $pid) as at the start"

# --- libfcgi's own bugs (tests/fuzz/README.md) ---------------------------
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0
}
r0=$(rss)
j=$(hostile fcgi-mgmt "$STACK_SOCK" --records 100000)
sleep 0.2
r1=$(rss)
diag "100000 unknown management records: RSS $r0 kB -> $r1 kB" \
    "($(( (r1 - r0) * 1024 / 100000 )) bytes a record); $j"
# They never reach libfcgi (which leaks 48 bytes each): a connection goes
# to libfcgi only with a whole request (fcgi/record.c).
[ $((r1 - r0)) -lt 1024 ]
ok $? "100000 unknown management records cost less than 1 MiB"

ok "$(kill -0 "$pid" 2>/dev/null; echo $?)" \
    "visits-fcgi alive after the management records"

# Last: given to libfcgi 2.4.2, this aborts the process (nameLen +
# valueLen overflows an int); fcgi/record.c refuses it first.
j=$(hostile fcgi-bigpair "$STACK_SOCK")
sleep 0.5
if kill -0 "$pid" 2>/dev/null; then
	pass "a name-value pair claiming 1 GiB + 1 GiB is refused, no crash"
else
	fail "a name-value pair claiming 1 GiB + 1 GiB is refused, no crash"
	diag "$(grep -i assert "$STACK_LOG_DIR/fcgi.log" | tail -n 1)"
fi
done_testing
