#!/bin/bash
# visits.tmp, the file each update leaves for the next (store.c): readers
# that open it, or the counter file, while visits are being counted.  The
# program rewrites visits.tmp only under a write lease; a reader opening
# it meanwhile waits for the lease to end and makes the kernel send the
# program SIGIO, which must not end it.  Under counting load, with one
# reader opening visits.tmp and another the counter file as fast as they
# can: the program is never killed, every request is answered and counted
# exactly once, and the counter file is only ever a whole count.
# (visits.tmp itself is scratch: a reader may find it empty or half
# written, and holding it open only makes the program use a new one.)
. "$(dirname "$0")/../lib/it.sh"

stack_start "$it_tmp" || bail_out "cannot start the stack"
pid=$STACK_FCGI_PID
curl -s -o /dev/null "$STACK_BASE_URL/time?n=[1-2]"
[ -f "$STACK_DATA_DIR/visits.tmp" ]
ok $? "after two visits, visits.tmp holds the previous count"

# read_loop FILE SECONDS show|quiet: open, read, close FILE until time is
# up; prints "opens whole other" (a missing file counts as neither), and
# with show the first few reads that were not a whole count.
read_loop() {
	python3 - "$1" "$2" "$3" <<'PY'
import os, re, sys, time
path, end = sys.argv[1], time.monotonic() + float(sys.argv[2])
opens = whole = other = 0
while time.monotonic() < end:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        continue
    opens += 1
    if re.fullmatch(rb"(0|[1-9][0-9]*)\n", data):
        whole += 1
    else:
        other += 1
        if other <= 5 and sys.argv[3] == "show":
            print("# read %r" % data, file=sys.stderr)
print(opens, whole, other)
PY
}

read_loop "$STACK_DATA_DIR/visits.tmp" 8 quiet >"$it_tmp/tmp-reads" &
r1=$!
read_loop "$STACK_DATA_DIR/visits" 8 show >"$it_tmp/file-reads" &
r2=$!
curl -s -o /dev/null -w '%{http_code}\n' --parallel --parallel-immediate \
    --parallel-max 16 --max-time 30 "$STACK_BASE_URL/time?n=[1-3000]" \
    >"$it_tmp/codes" 2>/dev/null
wait $r1 $r2

is "$(grep -c '^200$' "$it_tmp/codes")" 3000 "3,000 visits answered 200"
stack_alive "$pid"
ok $? "the same visits-fcgi is alive (SIGIO from lease breaks ignored)"
visits
is "$visits" 3002 "exactly 3,002 visits counted"
read -r opens whole other <"$it_tmp/tmp-reads"
diag "visits.tmp: $opens opens, $whole whole counts, $other other"
[ "${opens:-0}" -gt 100 ]
ok $? "visits.tmp opened $opens times during the load"
read -r opens whole other <"$it_tmp/file-reads"
diag "visits: $opens opens, $whole whole counts, $other other"
[ "${opens:-0}" -gt 100 ] && [ "$whole" = "$opens" ] && [ "$other" = 0 ]
ok $? "visits read $opens times during the load, only ever a whole count"
stack_fcgi_stop
ok $? "visits-fcgi exits 0 on SIGTERM"
done_testing
