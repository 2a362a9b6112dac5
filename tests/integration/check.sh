#!/bin/bash
# The liveness check of the pod, `visits-serve --check` (visits-fcgi
# --check on the program's socket): exit 0 while the program answers,
# whether or not nginx runs; non-zero, with a message naming the socket,
# on a stopped (hung) program within its timeout, on a stale socket left
# by a killed program, and on no socket at all.
. "$(dirname "$0")/../lib/it.sh"

# check_run: check := its exit status, check_out := its message,
# check_ms := how long it took.
check_run() {
	local t0
	t0=$(date +%s%N)
	check_out=$(VISITS_SOCKET=$STACK_SOCK \
	    "$STACK_SRCDIR/fcgi/visits-serve" --check 2>&1)
	check=$?
	check_ms=$((($(date +%s%N) - t0) / 1000000))
}

stack_start "$it_tmp" || bail_out "cannot start the stack"
timeout=$("$VISITS_FCGI" --help | sed -n 's/.*a 200 within \([0-9]*\) s.*/\1/p')
like "$timeout" '^[0-9]+$' "--help gives the check's timeout ($timeout s)"

check_run
is "$check" 0 "a serving program passes the check ($check_ms ms)"
is "$check_out" "" "... and the check prints nothing"

stack_nginx_stop
check_run
is "$check" 0 "nginx stopped: the program still passes (its own socket)"

stack_signal STOP "$STACK_FCGI_PID"
check_run
stack_signal CONT "$STACK_FCGI_PID"
is "$check" 1 "a stopped (SIGSTOP) program fails the check"
[ "$check_ms" -ge $((timeout * 1000 - 100)) ] &&
    [ "$check_ms" -lt $((timeout * 1000 + 1000)) ]
ok $? "... after its timeout of $timeout s ($check_ms ms)"
like "$check_out" "$STACK_SOCK: no answer within" "... and says so: $check_out"
check_run
is "$check" 0 "woken up (SIGCONT), it passes again"

stack_fcgi_stop KILL
[ -S "$STACK_SOCK" ]; ok $? "a killed program left its socket file"
check_run
is "$check" 1 "a stale socket fails the check"
[ "$check_ms" -lt 1000 ]; ok $? "... at once ($check_ms ms)"
like "$check_out" "$STACK_SOCK: connect: Connection refused" \
    "... and says so: $check_out"

rm -f "$STACK_SOCK"
check_run
is "$check" 1 "no socket fails the check"
like "$check_out" "$STACK_SOCK: connect: No such file" \
    "... and says so: $check_out"

done_testing
