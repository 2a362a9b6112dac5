#!/bin/bash
# When the store cannot record a visit: a corrupt counter file, a full
# disk, a read-only data directory.  Each time: counting requests get 503
# JSON, /readyz 503, the file is left byte for byte as it was, the process
# keeps serving; and once the cause is gone, it recovers without a restart
# (readiness first, with no counting request needed: a pod that is not
# ready gets no traffic).  Mounts need root.
. "$(dirname "$0")/../lib/it.sh"
# shellcheck source=tests/lib/faults.sh
. "$(dirname "$0")/../lib/faults.sh"

[ "$(id -u)" = 0 ] ||
	bail_out "needs root: mounts a small tmpfs and a read-only bind mount"
need cmp

json=application/json
stack_setup "$it_tmp"
STACK_DATA_DIR=$it_tmp/corrupt
mkdir -p "$STACK_DATA_DIR"
printf 'abc\n' >"$STACK_DATA_DIR/visits"
cp "$STACK_DATA_DIR/visits" "$it_tmp/expected"
stack_start "$it_tmp" || bail_out "cannot start the stack"

# refused WHAT: the checks while the store is broken.
refused() {
	local what=$1 p
	for p in / /time; do
		http GET "$p"
		is "$http_code" 503 "$what: GET $p answers 503"
		is "$(hdr Content-Type)" $json "$what: GET $p in JSON"
		like "$http_body" '^\{"error":"[^"]+"\}' \
		    "$what: GET $p says what is wrong"
		is "$(hdr Cache-Control)" no-store "$what: GET $p not cached"
	done
	stack_wait_http /readyz 503 >/dev/null 2>&1
	http GET /readyz
	is "$http_code" 503 "$what: /readyz answers 503"
	like "$http_body" '^\{"status":"not ready","error":"[^"]+"\}' \
	    "$what: /readyz says why"
	http GET /healthz
	is "$http_code" 200 "$what: /healthz still 200 (the process serves)"
	cmp -s "$STACK_DATA_DIR/visits" "$it_tmp/expected"
	ok $? "$what: the counter file is byte for byte as it was"
	stack_alive "$STACK_FCGI_PID"
	ok $? "$what: the process keeps running"
}

# recovered WHAT COUNT: after the cause is gone, without a restart.
recovered() {
	local what=$1 count=$2 pid=$STACK_FCGI_PID
	STACK_TIMEOUT=10 stack_wait_http /readyz 200
	ok $? "$what: /readyz back to 200 by itself (no counting request)"
	http GET /time
	is "$http_code" 200 "$what: GET /time counts again"
	visits
	is "$visits" $((count + 1)) "$what: from the stored count $count"
	is "$(cat "$STACK_DATA_DIR/visits")" $((count + 1)) \
	    "$what: the file has the new count"
	is "$STACK_FCGI_PID" "$pid" "$what: same process, no restart"
}

# 1. A corrupt file.
refused "corrupt file"
grep -q "$STACK_DATA_DIR/visits" "$STACK_LOG_DIR/fcgi.log"
ok $? "corrupt file: the log names the file"
put_count "$STACK_DATA_DIR" 41
recovered "corrupt file fixed" 41

# Other contents that are not a count, straight on the program's socket.
bad_contents=(
	'' '\n' '-1\n' '12x\n' ' 5\n' '5 5\n' '0x10\n' '+7\n'
	'99999999999999999999999\n' '18446744073709551616\n' 'abc'
	'\x00\x01\n'
)
sock=$it_tmp/own.sock
for c in "${bad_contents[@]}"; do
	d=$(mktemp -d "$it_tmp/bad.XXXX")
	printf -- "$c" >"$d/visits"
	cp "$d/visits" "$d/expected"
	own_start "$sock" "$d/log" --data-dir "$d"
	res=$(fcgi_client request "$sock" --uri /time)
	is "$(jq -r .status <<<"$res")" 503 "file '$c': GET /time refused (503)"
	res=$(fcgi_client request "$sock" --uri /readyz)
	is "$(jq -r .status <<<"$res")" 503 "file '$c': /readyz 503"
	cmp -s "$d/visits" "$d/expected"; ok $? "file '$c': left as it was"
	own_stop "$own_pid"
done

# The count never wraps: at the largest count, a visit is refused.
d=$(mktemp -d "$it_tmp/max.XXXX")
printf '18446744073709551615\n' >"$d/visits"
cp "$d/visits" "$d/expected"
own_start "$sock" "$d/log" --data-dir "$d"
res=$(fcgi_client request "$sock" --uri /time)
is "$(jq -r .status <<<"$res")" 503 "at 2^64-1 a visit is refused, not wrapped"
cmp -s "$d/visits" "$d/expected"; ok $? "at 2^64-1 the file stays"
own_stop "$own_pid"

# 2. A full disk: the data directory on a small tmpfs.
stack_fcgi_stop
STACK_DATA_DIR=$it_tmp/full
mkdir -p "$STACK_DATA_DIR"
fault_tmpfs "$STACK_DATA_DIR" 256k
stack_fcgi_start || bail_out "cannot start visits-fcgi on the tmpfs"
stack_wait_http /readyz 200
curl -s -o /dev/null "$STACK_BASE_URL/time?n=[1-5]"
visits
is "$visits" 5 "tmpfs: 5 visits"
cp "$STACK_DATA_DIR/visits" "$it_tmp/expected"
fault_fill "$STACK_DATA_DIR"
fault_avail "$STACK_DATA_DIR"
is "$fault_avail" 0 "tmpfs: the disk is full (0 KiB available)"
# A full disk alone does not stop counting: the count is written into
# visits.tmp (the previous counter file, its space allocated already) and
# exchanged with visits, which needs no space either.
http GET /time
is "$http_code" 200 "full disk: GET /time still counts"
visits
is "$visits" 6 "full disk: 6 visits"
is "$(cat "$STACK_DATA_DIR/visits")" 6 "full disk: the file says 6"
cp "$STACK_DATA_DIR/visits" "$it_tmp/expected"
# But with visits.tmp open in a reader it may not be rewritten, and a new
# temp file needs space that is not there.
fault_hold "$STACK_DATA_DIR/visits.tmp"
refused "full disk, visits.tmp held open"
fault_release
fault_unfill "$STACK_DATA_DIR"
recovered "space back" 6

# 3. A read-only data directory: bind-mounted before the program starts
# (its open directory is on that mount), then remounted read-only.
stack_fcgi_stop
STACK_DATA_DIR=$it_tmp/ro
mkdir -p "$STACK_DATA_DIR"
fault_bind "$STACK_DATA_DIR" || bail_out "cannot bind-mount $STACK_DATA_DIR"
stack_fcgi_start || bail_out "cannot start visits-fcgi on the bind mount"
stack_wait_http /readyz 200
curl -s -o /dev/null "$STACK_BASE_URL/time?n=[1-7]"
visits
is "$visits" 7 "bind mount: 7 visits"
cp "$STACK_DATA_DIR/visits" "$it_tmp/expected"
fault_readonly "$STACK_DATA_DIR"
ok $? "remounted read-only"
refused "read-only directory"
fault_writable "$STACK_DATA_DIR"
ok $? "remounted read-write"
recovered "writable again" 7

stack_stop
ok $? "the stack stops cleanly (exit 0) after all that"
fail_diag "$STACK_LOG_DIR/fcgi.log" 40

done_testing
