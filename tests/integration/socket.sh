#!/bin/bash
# The program as fcgi/visits-serve starts it (spawn-fcgi), without nginx:
# a stale socket is replaced, a live one refused, a non-socket file left
# alone, the socket removed at exit; two processes on one data directory
# never race; the command line; malformed FastCGI input never crashes or
# blocks the other requests.
. "$(dirname "$0")/../lib/it.sh"

sock=$it_tmp/v.sock
data=$it_tmp/data
mkdir -p "$data"
# A stale socket: bound, then its process gone.
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
[ -S "$sock" ]; ok $? "a stale socket file exists"
own_start "$sock" "$it_tmp/a.log" --data-dir "$data"
ok $? "visits-serve replaces a stale socket and the program serves"
a=$own_pid
is "$(stat -c %a "$sock")" 660 "its socket has mode 0660"
inode=$(stat -c %i "$sock")

# A live socket: refused, the first program undisturbed.
own_start "$sock" "$it_tmp/b.log" --data-dir "$it_tmp/other"
exit_status "$own_pid" 10
[ "$status" != 0 ] && [ "$status" != timeout ]
ok $? "a second start on a live socket is refused (status $status)"
grep -q "already in use" "$it_tmp/b.log"; ok $? "and says the socket is in use"
is "$(stat -c %i "$sock" 2>/dev/null)" "$inode" "the live socket is untouched"
res=$(fcgi_client request "$sock")
is "$(jq -r .status <<<"$res")" 200 "the first program still answers"

# Two programs on one data directory: refused, or exact together.
own_start "$it_tmp/c.sock" "$it_tmp/c.log" --data-dir "$data"
started=$?
c=$own_pid
if [ $started != 0 ]; then
	exit_status "$c" 5
	is "$status" 1 "a second program on the same data directory exits 1"
	grep -q "$data" "$it_tmp/c.log"
	ok $? "and names the data directory in its message"
else
	diag "two programs share $data: the count must stay exact"
	before=$(cat "$data/visits" 2>/dev/null || echo 0)
	for s in "$sock" "$it_tmp/c.sock"; do
		for i in $(seq 4); do
			(for j in $(seq 50); do
				fcgi_client request "$s" --uri /time | jq -r .status
			done >"$it_tmp/two.$i.${s##*/}") &
		done
	done
	wait $(jobs -p | grep -vxF -e "$a" -e "$c")
	n=$(cat "$it_tmp"/two.* | grep -c '^200$')
	is "$(cat "$data/visits")" $((before + n)) \
	    "two programs counted exactly together ($n)"
	own_stop "$c"
fi
own_stop "$a"
is "$status" 0 "the first program exits 0 on SIGTERM"
[ ! -e "$sock" ]; ok $? "and removes its socket"

# A path that is not a socket is not ours to delete.
echo precious >"$it_tmp/file"
own_start "$it_tmp/file" "$it_tmp/f.log" --data-dir "$data"
exit_status "$own_pid" 10
[ "$status" != 0 ] && [ "$status" != timeout ]
ok $? "a regular file at VISITS_SOCKET: refused (status $status)"
is "$(cat "$it_tmp/file")" precious "and the file is left alone"

# The command line.
"$VISITS_FCGI" --help >"$it_tmp/help" 2>&1
ok $? "--help exits 0"
for o in --data-dir --timezone --durable --no-durable --io-timeout \
    --peers --check --version VISITS_DATA_DIR VISITS_TIMEZONE \
    VISITS_DURABLE VISITS_IO_TIMEOUT VISITS_PEERS visits-serve; do
	grep -q -- "$o" "$it_tmp/help"; ok $? "--help mentions $o"
done
! grep -q -- --socket "$it_tmp/help"
ok $? "--help has no --socket: spawn-fcgi binds the socket"
"$VISITS_FCGI" --data-dir "$data" </dev/null 2>"$it_tmp/nosock.log"
is "$?" 2 "started without a socket on fd 0: exit 2"
grep -q "visits-serve" "$it_tmp/nosock.log"; ok $? "and says to use visits-serve"
v=$("$VISITS_FCGI" --version 2>&1)
ok $? "--version exits 0"
like "$v" '[0-9]+\.[0-9]+\.[0-9]+' "--version prints a version ($v)"
# usage_status ARGS...: status := exit status of the program with ARGS.
usage_status() {
	VISITS_SOCKET=$it_tmp/bad.sock "$STACK_SRCDIR/fcgi/visits-serve" "$@" \
	    --data-dir "$data" >/dev/null 2>&1 </dev/null &
	it_own_pids+=($!)
	exit_status $! 5
}
for bad in "--no-such-option" "--io-timeout 86401" "--io-timeout x" \
    "--io-timeout -1" "--threads 2" "--socket $it_tmp/x.sock"; do
	# shellcheck disable=SC2086
	usage_status $bad
	is "$status" 2 "$bad: usage error, exit 2"
done
VISITS_IO_TIMEOUT=abc usage_status
is "$status" 2 "VISITS_IO_TIMEOUT=abc: configuration error, exit 2"

# Time zone and data directory from the environment.
mkdir -p "$it_tmp/envdata"
VISITS_TIMEZONE=Asia/Tokyo VISITS_DATA_DIR=$it_tmp/envdata \
    own_start "$sock" "$it_tmp/tz.log"
ok $? "starts with VISITS_TIMEZONE and VISITS_DATA_DIR"
tz_pid=$own_pid
before=$(TZ=Asia/Tokyo date +%H:%M)
t=$(fcgi_client request "$sock" --uri /time | jq -r .body | jq -r .time)
after=$(TZ=Asia/Tokyo date +%H:%M)
[[ $t == "$before":* || $t == "$after":* ]]
ok $? "VISITS_TIMEZONE=Asia/Tokyo: /time is Tokyo time ($t, now $after)"
is "$(cat "$it_tmp/envdata/visits" 2>/dev/null)" 1 \
    "VISITS_DATA_DIR: the visit went to that directory"
own_stop "$tz_pid"
mkdir -p "$it_tmp/d2"
own_start "$sock" "$it_tmp/tz.log" --timezone UTC --data-dir "$it_tmp/d2"
tz_pid=$own_pid
before=$(TZ=UTC date +%H:%M)
t=$(fcgi_client request "$sock" --uri /time | jq -r .body | jq -r .time)
after=$(TZ=UTC date +%H:%M)
[[ $t == "$before":* || $t == "$after":* ]]
ok $? "--timezone UTC: /time is UTC ($t, now $after)"
own_stop "$tz_pid"

# Malformed input, each case on its own connection, then a well-formed
# request must still be answered.
own_start "$sock" "$it_tmp/abuse.log" --data-dir "$data"
ab=$own_pid
fcgi_client abuse "$sock" >"$it_tmp/abuse.json"
ok $? "malformed FastCGI input: no crash, no hang"
while read -r line; do
	diag "$line"
done < <(jq -c 'select(.outcome == "hang" or .then_healthz != 200)' \
    "$it_tmp/abuse.json" 2>/dev/null)
stack_alive "$ab"; ok $? "the program is still running"
# Connections stalled in the middle of a record hold their slots only;
# the others are served.
fcgi_client stall "$sock" --count 16 --timeout 5 >"$it_tmp/stall.json"
ok $? "16 stalled connections do not block a request ($(cat "$it_tmp/stall.json"))"
own_stop "$ab"
is "$status" 0 "exits 0 after all that"
fail_diag "$it_tmp/abuse.log"

done_testing
