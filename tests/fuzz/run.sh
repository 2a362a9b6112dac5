#!/bin/bash
# tests/fuzz/run.sh [SECONDS]: fuzz the libFuzzer targets for SECONDS in
# all (default 60, the CI smoke run; ./dev fuzz 3600 for a long run): two
# thirds on fuzz_fcgi (a whole FastCGI connection through libfcgi,
# handle_request and the real store), one third on fuzz_route (routing and
# the counter file parser).  Prints TAP: the executions, the coverage that
# libFuzzer saw, the crashes.
#
# Environment:
#   FUZZ_BUILD_DIR   the build tree configured with --enable-fuzzers
#                    CC=clang (./dev fuzz configures it; make builds the
#                    targets here) [build-fuzz in the source tree], with
#                    the growing working corpus, logs and artifacts; the
#                    committed seeds in tests/fuzz/corpus and the
#                    malformed cases in tests/cases/fcgi are only read
#   FUZZ_JOBS        parallel fuzzing processes per target [1]; keep it
#                    low, the machine is shared
#   FUZZ_TARGETS     which targets ["fcgi route"]
#
# A crash leaves its input in FUZZ_BUILD_DIR/artifacts/ and the report in
# FUZZ_BUILD_DIR/logs/; reproduce with
#   build-fuzz/tests/fuzz/fuzz_fcgi build-fuzz/artifacts/crash-...
# New seeds found by a long run can be added to the committed corpus with
#   build-fuzz/tests/fuzz/fuzz_fcgi -merge=1 tests/fuzz/corpus/fcgi \
#       build-fuzz/corpus/fcgi
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib/tap.sh"

total=${1:-60}
case $total in
'' | *[!0-9]*) bail_out "usage: $0 [SECONDS]" ;;
esac
[ "$total" -ge 2 ] || bail_out "at least 2 seconds"
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
jobs=${FUZZ_JOBS:-1}
targets=${FUZZ_TARGETS:-fcgi route}

mkdir -p "$build/artifacts" "$build/logs" || bail_out "cannot create $build"
build=$(cd "$build" && pwd)

# --- fuzz ----------------------------------------------------------------
# share T: this target's seconds (fcgi 2/3, route 1/3 when both run).
share() {
	local n
	n=$(wc -w <<<"$targets")
	if [ "$n" = 1 ]; then
		echo "$total"
	elif [ "$1" = fcgi ]; then
		echo $((total * 2 / 3))
	else
		echo $((total - total * 2 / 3))
	fi
}

# stat NAME LOG: the last "stat::NAME: N" libFuzzer printed (summed over
# jobs).
stat() {
	awk -v k="stat::$1:" '$1 == k { n += $2 } END { print n + 0 }' "$2"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
lsan="suppressions=$top/tests/lib/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS=${LSAN_OPTIONS:-$lsan}
execs_total=0
crashes_total=0

for t in $targets; do
	fuzzer=$build/tests/fuzz/fuzz_$t
	if ! make -C "$build" "tests/fuzz/fuzz_$t" \
	    >"$build/logs/build-$t.log" 2>&1; then
		fail "fuzz_$t builds (make in $build)"
		diag "$(tail -n 30 "$build/logs/build-$t.log")"
		continue
	fi
	pass "fuzz_$t builds (make in $build)"
	seconds=$(share "$t")
	corpus=$build/corpus/$t
	mkdir -p "$corpus"
	log=$build/logs/fuzz-$t.log
	before=$(find "$build/artifacts" -type f -name "*-$t-*" | wc -l)
	args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048
	    -dict="$here/$t.dict" -print_final_stats=1
	    -artifact_prefix="$build/artifacts/")
	[ "$t" = fcgi ] && args+=(-max_len=131072)
	seeds=("$here/corpus/$t")
	[ "$t" = fcgi ] && seeds+=("$top/tests/cases/fcgi")
	diag "fuzz_$t: ${seconds}s, $jobs job(s), seeds ${seeds[*]}," \
	    "working corpus $corpus"
	start=$SECONDS
	rc=0
	if [ "$jobs" -gt 1 ]; then
		# -jobs writes fuzz-N.log files in the current directory.
		(cd "$build/logs" && rm -f fuzz-[0-9]*.log &&
			"$fuzzer" "${args[@]}" -jobs="$jobs" \
			    -workers="$jobs" "$corpus" "${seeds[@]}" \
			    >"$log" 2>&1) || rc=$?
		cat "$build/logs"/fuzz-[0-9]*.log >>"$log" 2>/dev/null
	else
		"$fuzzer" "${args[@]}" "$corpus" "${seeds[@]}" \
		    >"$log" 2>&1 || rc=$?
	fi
	elapsed=$((SECONDS - start))
	# Name libFuzzer's new artifacts (KIND-SHA1) after the target.
	for f in "$build"/artifacts/*; do
		b=$(basename "$f")
		[[ $b =~ ^(crash|leak|timeout|oom|slow-unit)-[0-9a-f]{40}$ ]] ||
			continue
		mv "$f" "$build/artifacts/${b%%-*}-$t-${b#*-}"
	done
	after=$(find "$build/artifacts" -type f \
	    \( -name "crash-$t-*" -o -name "leak-$t-*" -o -name "timeout-$t-*" \
	    -o -name "oom-$t-*" \) | wc -l)
	crashes=$((after - before))
	execs=$(stat number_of_executed_units "$log")
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
	units=$(find "$corpus" -type f | wc -l)
	diag "fuzz_$t: $execs executions in ${elapsed}s" \
	    "($((execs / (elapsed > 0 ? elapsed : 1)))/s), ${cov:-no coverage line}," \
	    "corpus $units inputs, $crashes crash(es)"
	execs_total=$((execs_total + execs))
	crashes_total=$((crashes_total + crashes))
	if [ "$rc" = 0 ] && [ "$crashes" = 0 ]; then
		pass "fuzz_$t: $execs executions, 0 crashes"
	else
		fail "fuzz_$t: $execs executions, $crashes crash(es) (status $rc)"
		diag "$(grep -A 40 -m 1 -E '^==[0-9]+==ERROR|runtime error' \
		    -e '^SUMMARY|deadly signal|ERROR: libFuzzer' "$log")"
		diag "log: $log"
		find "$build/artifacts" -type f -newer "$fuzzer" \
		    -name "*-$t-*" | while IFS= read -r f; do
			diag "reproduce: $fuzzer $f"
		done
	fi
	if [ "$execs" -gt 0 ]; then
		pass "fuzz_$t: ran (more than 0 executions)"
	else
		fail "fuzz_$t: ran (more than 0 executions)"
		diag "$(tail -n 20 "$log")"
	fi
done

diag "fuzz total: $execs_total executions, $crashes_total crash(es)"
done_testing
