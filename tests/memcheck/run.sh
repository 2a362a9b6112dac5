#!/bin/bash
# tests/memcheck/run.sh: the unit tests and the integration tests with
# visits-fcgi under valgrind memcheck.  Every process valgrind runs must
# end with 0 errors and 0 bytes "definitely lost"; suppressions only for
# libfcgi's and glibc's own (valgrind.supp, commented).  Prints TAP: every
# check of every test, then valgrind's verdict on it.  Expects a built tree with the check programs:
# ./dev memcheck does that (./build).
#
#   MEMCHECK_BUILD   the build tree [build in the source tree]
#   MEMCHECK_TESTS   integration tests to run [all of tests/integration]
#   STACK_TIMEOUT    seconds for a start or a stop [120: valgrind is slow]
#   UNIT_TIMEOUT     seconds for one unit test under valgrind [600]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/tap.sh"
need valgrind timeout

build=$(cd "${MEMCHECK_BUILD:-$top/build}" 2>/dev/null && pwd) ||
	bail_out "no build tree (run ./dev memcheck)"
program=$build/fcgi/visits-fcgi
[ -x "$program" ] || bail_out "no $program (run ./dev memcheck)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-memcheck.XXXXXX") ||
	bail_out "cannot create a directory under ${TMPDIR:-/tmp}"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/vg" "$tmp/out"
export STACK_TIMEOUT=${STACK_TIMEOUT:-120}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-600}

vg=(valgrind --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --track-fds=no --num-callers=30 --suppressions="$here/valgrind.supp")

# spawn-fcgi (fcgi/visits-serve) execs the program: the wrapper execs
# valgrind.
cat >"$tmp/visits-fcgi" <<WRAP
#!/bin/sh
exec ${vg[*]} --log-file="$tmp/vg/fcgi.%p.log" "$program" "\$@"
WRAP
chmod +x "$tmp/visits-fcgi"

# vg_check LOGS... WHAT: errors and definite leaks in valgrind's logs
# ("ERROR SUMMARY" counts the definite leaks too); a process killed with
# SIGKILL leaves no summary, which is said, not counted.
vg_check() {
	local what=${*: -1} logs=("${@:1:$#-1}") errors=0 lost=0 cut=0 f n
	for f in "${logs[@]}"; do
		[ -s "$f" ] || continue
		if ! grep -q 'ERROR SUMMARY' "$f"; then
			cut=$((cut + 1))
			continue
		fi
		n=$(awk '/ERROR SUMMARY:/ { n += $4 } END { print n + 0 }' "$f")
		errors=$((errors + n))
		n=$(awk '/definitely lost:/ { gsub(",", "", $4); n += $4 }
		    END { print n + 0 }' "$f")
		lost=$((lost + n))
	done
	[ "$cut" = 0 ] || diag "$what: $cut process(es) killed (SIGKILL)" \
	    "before valgrind could sum up"
	ok "$([ "$errors" = 0 ] && [ "$lost" = 0 ]; echo $?)" \
	    "$what: $errors valgrind errors, $lost bytes definitely lost"
	if [ "$errors" != 0 ] || [ "$lost" != 0 ]; then
		for f in "${logs[@]}"; do
			grep -q 'ERROR SUMMARY: [1-9]' "$f" 2>/dev/null &&
				diag "--- $f" "$(grep -vE '^==[0-9]+== *$' "$f" |
				    sed -n '/HEAP SUMMARY/q;p' | head -n 60)" \
				    "$(grep -A 30 'definitely lost in' "$f" | head -n 40)"
		done
	fi
	vg_errors=$((vg_errors + errors))
	vg_lost=$((vg_lost + lost))
}
vg_errors=0
vg_lost=0

# --- unit tests ----------------------------------------------------------
units=0
for t in "$build"/tests/unit/test_*; do
	if [ ! -x "$t" ] || [ ! -f "$t" ]; then
		continue
	fi
	name=$(basename "$t")
	# Bounded: a unit test that hangs under valgrind fails (status 124)
	# instead of holding up the whole run.
	tap_nest "valgrind unit $name" env -C "$tmp" \
	    timeout -k 10 "$UNIT_TIMEOUT" "${vg[@]}" \
	    --log-file="$tmp/vg/$name.log" "$t"
	vg_check "$tmp/vg/$name.log" "unit $name"
	units=$((units + 1))
done
[ "$units" -gt 0 ] || fail "unit tests found in $build/tests/unit"

# --- integration tests with visits-fcgi under valgrind --------------------
# Checks that fail because of valgrind itself: dev-run.sh looks for a
# process named visits-fcgi, and under valgrind it is memcheck-amd64-;
# valgrind gives the program a hard limit of open files as low as the
# soft one it started with (it keeps the descriptors above for itself),
# so the program cannot raise its soft limit (load.sh).
tap_nest_todo=('nginx \(master, 2 workers\) and visits-fcgi run'
    'started with a soft limit of 256 open files, the program takes the hard limit')
tap_nest_todo_why=('sees valgrind, not the program'
    'valgrind lowers the hard limit to the soft one')
tests=${MEMCHECK_TESTS:-$(cd "$top" && ls tests/integration/*.sh)}
for t in $tests; do
	name=$(basename "$t" .sh)
	start=$SECONDS
	mkdir -p "$tmp/vg/$name"
	sed -i "s|--log-file=[^ ]*|--log-file=$tmp/vg/$name/fcgi.%p.log|" \
	    "$tmp/visits-fcgi"
	tap_nest "valgrind $name" \
	    env top_srcdir="$top" top_builddir="$build" \
	    VISITS_FCGI="$tmp/visits-fcgi" bash "$top/$t"
	diag "$name: $((SECONDS - start))s"
	procs=$(find "$tmp/vg/$name" -name 'fcgi.*.log' | wc -l)
	diag "$name: $procs visits-fcgi processes under valgrind"
	vg_check "$tmp/vg/$name"/fcgi.*.log "integration $name ($procs processes)"
done

diag "valgrind: $vg_errors errors, $vg_lost bytes definitely lost in all"
done_testing
