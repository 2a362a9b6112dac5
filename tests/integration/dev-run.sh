#!/bin/bash
# `./dev run` itself (with the built program, no build): it serves on the
# port given, Ctrl-C (SIGINT) and SIGTERM stop everything with no process
# or socket left, and a taken port gets a clear message.
. "$(dirname "$0")/../lib/it.sh"

dev=$top_srcdir/dev
[ -x "$dev" ] || bail_out "no executable $dev"
env --default-signal=INT true 2>/dev/null ||
	bail_out "env --default-signal (coreutils >= 8.31) is needed"

# servers PID: the nginx and visits-fcgi processes below PID, as
# PID:START-TIME (a PID alone may be reused by then).
servers() {
	local p c
	while read -r p c; do
		case $c in
		nginx | visits-fcgi | lt-visits-fcgi)
			echo "$p:$(ps -o lstart= -p "$p" | tr -d ' ')" ;;
		esac
		servers "$p"
	done < <(ps -o pid=,comm= --ppid "$1")
}

# run_dev PORT LOG: ./dev run in the background (dev_pid).  SIGINT is
# restored to its default: a background job of a script ignores it.
run_dev() {
	env --default-signal=INT PORT="$1" VISITS_FCGI="$VISITS_FCGI" \
	    VISITS_VAR_DIR="$it_tmp/var" VISITS_DATA_DIR="$it_tmp/data" \
	    "$dev" run >"$2" 2>&1 &
	dev_pid=$!
}
kill_dev() {
	[ -z "${dev_pid:-}" ] || stack_signal TERM "$dev_pid"
}
it_on_exit kill_dev

stack_pick_port
port=$STACK_PORT
STACK_BASE_URL=http://127.0.0.1:$port
count=0
for sig in INT TERM; do
	run_dev "$port" "$it_tmp/run.$sig.log"
	STACK_TIMEOUT=60 stack_wait_http /time 200
	ok $? "./dev run serves /time on PORT=$port"
	for i in $(seq 100); do
		grep -q 'serving on' "$it_tmp/run.$sig.log" && break
		sleep 0.1
	done
	count=$((count + 1))
	is "$(cat "$it_tmp/data/visits" 2>/dev/null)" $count \
	    "the counter is in VISITS_DATA_DIR"
	[ -S "$it_tmp/var/run/visits.sock" ]
	ok $? "its socket is under VISITS_VAR_DIR"
	procs=$(servers "$dev_pid" | tr '\n' ' ')
	n=$(wc -w <<<"$procs")
	[ "$n" -ge 4 ]; ok $? "nginx (master, 2 workers) and visits-fcgi run ($n)"
	stack_signal "$sig" "$dev_pid"
	exit_status "$dev_pid" 30
	is "$status" 0 "SIG$sig: ./dev run exits 0"
	left=
	for p in $procs; do
		[ "${p%%:*}:$(ps -o lstart= -p "${p%%:*}" | tr -d ' ')" != "$p" ] ||
			left="$left ${p%%:*}"
	done
	is "$left" "" "SIG$sig: no process left behind"
	[ ! -e "$it_tmp/var/run/visits.sock" ]
	ok $? "SIG$sig: no socket left behind"
	grep -q 'stopped' "$it_tmp/run.$sig.log"; ok $? "SIG$sig: says it stopped"
	[ "$tap_failed" = 0 ] || fail_diag "$it_tmp/run.$sig.log"
	dev_pid=
done

# A taken port: a clear message, nothing started.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(60)' "$port" &
holder=$!
it_on_exit "stack_signal TERM $holder"
sleep 0.3
run_dev "$port" "$it_tmp/taken.log"
exit_status "$dev_pid" 30
dev_pid=
[ "$status" != 0 ] && [ "$status" != timeout ]
ok $? "port taken: ./dev run fails (status $status)"
grep -q "port $port on 127.0.0.1 is already in use" "$it_tmp/taken.log"
ok $? "port taken: says so"
[ ! -e "$it_tmp/var/run/visits.sock" ]; ok $? "port taken: no socket left"
stack_signal TERM "$holder"
fail_diag "$it_tmp/taken.log"

done_testing
