#!/bin/bash
# Campaign 2, durability order: visits-fcgi (started by fcgi/visits-serve)
# under strace -f serves one counting request on its socket (no nginx:
# one request, one answer in the trace).  With the durable setting (the default) the answer must
# be written only after the new count reached stable storage: visits.tmp
# written, fdatasync'd, renamed over visits (or exchanged with it), the
# directory fsync'd, in that order, each finished before the next began;
# both with a new temp file and with the one an earlier update left.
# With --no-durable: no sync at all before the answer, but the rename
# still comes first.
. "$(dirname "$0")/lib.sh"

need strace

# traced MODE FRESH|REUSE ARGS...: one GET /time under strace, then
# SIGTERM; its checks are named MODE, or MODE-reuse.  FRESH: an empty data directory (the temp file is created and
# renamed into place).  REUSE: the count 41 and a temp file from an
# earlier update, which is rewritten and exchanged with the counter file.
traced() {
	local mode=$1 how=$2 label=$1 dir res expect=1
	shift 2
	[ "$how" = FRESH ] || label=$mode-reuse
	dir=$it_tmp/$label
	mkdir -p "$dir/data"
	if [ "$how" = REUSE ]; then
		printf '41\n' >"$dir/data/visits"
		printf '40\n' >"$dir/data/visits.tmp"
		expect=42
	fi
	VISITS_SOCKET=$dir/s.sock strace -f -tt -qq -s 128 -o "$dir/trace" \
	    -e trace=open,openat,write,writev,sendmsg,fdatasync,fsync,sync,syncfs,rename,renameat,renameat2,accept,accept4 \
	    "$STACK_SRCDIR/fcgi/visits-serve" --data-dir "$dir/data" "$@" \
	    2>"$dir/log" &
	local spid=$!
	it_own_pids+=("$spid")
	for _ in $(seq 200); do
		[ -S "$dir/s.sock" ] && break
		sleep 0.05
	done
	res=$(fcgi_client request "$dir/s.sock" --uri /time)
	is "$(jq -r .status <<<"$res")" 200 "$label: GET /time answered 200"
	is "$(cat "$dir/data/visits" 2>/dev/null)" $expect \
	    "$label: the file says $expect"
	# strace's child is the program: SIGTERM it, strace follows.
	local ppid
	ppid=$(ps -o pid= --ppid "$spid" | tr -d ' ')
	kill -TERM "$ppid" 2>/dev/null
	exit_status "$spid" 15
	is "$status" 0 "$label: the traced program exits 0 on SIGTERM"
	if [ "$how" = REUSE ]; then
		! grep -q '"visits.tmp", .*O_CREAT' "$dir/trace"
		ok $? "$label: visits.tmp rewritten, not created"
		grep -q 'renameat2(.*"visits.tmp", .*"visits", RENAME_EXCHANGE) = 0' \
		    "$dir/trace"
		ok $? "$label: exchanged with visits (renameat2 RENAME_EXCHANGE)"
		is "$(cat "$dir/data/visits.tmp" 2>/dev/null)" 41 \
		    "$label: visits.tmp now holds the previous count"
	fi
	echo "# $label: the syscalls of the visit, from strace -f -tt" \
	    "($(grep -c . "$dir/trace") lines traced)"
	camp_py strace_order.py "$dir/trace" "$dir/data" "$mode" >"$dir/out"
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass "$label: ${line#ok - }" ;;
		"not ok - "*) fail "$label: ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$dir/out"
}

traced durable FRESH --durable
traced not-durable FRESH --no-durable
traced durable REUSE --durable
traced not-durable REUSE --no-durable
done_testing
