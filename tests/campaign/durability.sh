#!/bin/bash
# Campaign 2, durability order: visits-fcgi under strace -f serves one
# counting request on its own socket (no nginx: one request, one answer
# in the trace).  With the durable setting (the default) the answer must
# be written only after the new count reached stable storage: visits.tmp
# written, fdatasync'd, renamed over visits, the directory fsync'd, in
# that order, each finished before the next began.  With --no-durable:
# no sync at all before the answer, but the rename still comes first.
. "$(dirname "$0")/lib.sh"

need strace

# traced MODE ARGS...: one GET /time under strace, then SIGTERM.
traced() {
	local mode=$1 dir=$it_tmp/$1 res
	shift
	mkdir -p "$dir/data"
	strace -f -tt -qq -s 128 -o "$dir/trace" \
	    -e trace=open,openat,write,writev,sendmsg,fdatasync,fsync,sync,syncfs,rename,renameat,renameat2,accept,accept4 \
	    "$VISITS_FCGI" --socket "$dir/s.sock" --data-dir "$dir/data" "$@" \
	    2>"$dir/log" &
	local spid=$!
	it_own_pids+=("$spid")
	for _ in $(seq 200); do
		[ -S "$dir/s.sock" ] && break
		sleep 0.05
	done
	res=$(fcgi_client request "$dir/s.sock" --uri /time)
	is "$(jq -r .status <<<"$res")" 200 "$mode: GET /time answered 200"
	is "$(cat "$dir/data/visits" 2>/dev/null)" 1 "$mode: the file says 1"
	# strace's child is the program: SIGTERM it, strace follows.
	local ppid
	ppid=$(ps -o pid= --ppid "$spid" | tr -d ' ')
	kill -TERM "$ppid" 2>/dev/null
	exit_status "$spid" 15
	is "$status" 0 "$mode: the traced program exits 0 on SIGTERM"
	echo "# $mode: the syscalls of the visit, from strace -f -tt" \
	    "($(grep -c . "$dir/trace") lines traced)"
	camp_py strace_order.py "$dir/trace" "$dir/data" "$mode" >"$dir/out"
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass "$mode: ${line#ok - }" ;;
		"not ok - "*) fail "$mode: ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$dir/out"
}

traced durable --durable
traced not-durable --no-durable
done_testing
