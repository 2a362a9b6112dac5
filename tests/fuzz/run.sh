#!/bin/bash
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) and fuzz them for SECONDS in all
# (default 60, the CI smoke run; ./dev fuzz 3600 for a long run): two
# thirds on fuzz_fcgi (a whole FastCGI connection through libfcgi,
# handle_request and the real store), one third on fuzz_route (routing and
# the counter file parser).  Prints TAP, the executions, the coverage that
# libFuzzer saw, the crashes, and "N passed, N failed".
#
# Environment:
#   FUZZ_BUILD_DIR   binaries and the growing working corpus
#                    [build-fuzz in the source tree]; the committed seeds
#                    in tests/fuzz/corpus are only read
#   FUZZ_JOBS        parallel fuzzing processes per target [1]; keep it
#                    low, the machine is shared
#   FUZZ_TARGETS     which targets ["fcgi route"]
#
# A crash leaves its input in FUZZ_BUILD_DIR/artifacts/ and the report in
# FUZZ_BUILD_DIR/logs/; reproduce with
#   build-fuzz/fuzz_fcgi build-fuzz/artifacts/crash-...
# New seeds found by a long run can be added to the committed corpus with
#   build-fuzz/fuzz_fcgi -merge=1 tests/fuzz/corpus/fcgi build-fuzz/corpus/fcgi
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
need clang pkg-config

mkdir -p "$build/artifacts" "$build/logs" || bail_out "cannot create $build"
build=$(cd "$build" && pwd)

# --- build ---------------------------------------------------------------
# What configure would put in config.h for these sources.
version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' \
    "$top/configure.ac")
cat >"$build/config.h.new" <<EOF
/* Written by tests/fuzz/run.sh for the fuzz build. */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1
#endif
#define PACKAGE "visits"
#define PACKAGE_NAME "visits"
#define PACKAGE_VERSION "${version:-0}"
EOF
cmp -s "$build/config.h.new" "$build/config.h" ||
	mv "$build/config.h.new" "$build/config.h"
rm -f "$build/config.h.new"

sources=()
for f in "$top"/fcgi/*.c; do
	[ "$(basename "$f")" = main.c ] || sources+=("$f")
done
# shellcheck disable=SC2054 # commas inside one flag
cflags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter
    -pthread -I"$build" -I"$top/fcgi")
read -ra fcgi_cflags <<<"$(pkg-config --cflags fcgi)"
read -ra fcgi_libs <<<"$(pkg-config --libs fcgi)"

build_target() {
	local t=$1 out=$build/fuzz_$1 src=$here/fuzz_$1.c newest f
	# Rebuild when a source is newer than the binary.
	newest=$out
	for f in "$src" "${sources[@]}" "$top"/fcgi/*.h "$build/config.h"; do
		[ -e "$newest" ] && [ ! "$f" -nt "$newest" ] || newest=$f
	done
	[ "$newest" = "$out" ] && return 0
	clang "${cflags[@]}" "${fcgi_cflags[@]}" -o "$out.tmp" "$src" \
	    "${sources[@]}" "${fcgi_libs[@]}" >"$build/logs/build-$t.log" 2>&1 &&
		mv "$out.tmp" "$out"
}

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
lsan="suppressions=$here/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS=${LSAN_OPTIONS:-$lsan}
execs_total=0
crashes_total=0

for t in $targets; do
	if ! build_target "$t"; then
		fail "fuzz_$t builds with clang -fsanitize=fuzzer,address,undefined"
		diag "$(tail -n 30 "$build/logs/build-$t.log")"
		continue
	fi
	pass "fuzz_$t builds with clang -fsanitize=fuzzer,address,undefined"
	seconds=$(share "$t")
	corpus=$build/corpus/$t
	mkdir -p "$corpus"
	log=$build/logs/fuzz-$t.log
	before=$(find "$build/artifacts" -type f -name "*-$t-*" | wc -l)
	args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048
	    -dict="$here/$t.dict" -print_final_stats=1
	    -artifact_prefix="$build/artifacts/")
	[ "$t" = fcgi ] && args+=(-max_len=131072)
	diag "fuzz_$t: ${seconds}s, $jobs job(s), seeds $here/corpus/$t," \
	    "working corpus $corpus"
	start=$SECONDS
	rc=0
	if [ "$jobs" -gt 1 ]; then
		# -jobs writes fuzz-N.log files in the current directory.
		(cd "$build/logs" && rm -f fuzz-[0-9]*.log &&
			"$build/fuzz_$t" "${args[@]}" -jobs="$jobs" \
			    -workers="$jobs" "$corpus" "$here/corpus/$t" \
			    >"$log" 2>&1) || rc=$?
		cat "$build/logs"/fuzz-[0-9]*.log >>"$log" 2>/dev/null
	else
		"$build/fuzz_$t" "${args[@]}" "$corpus" "$here/corpus/$t" \
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
		find "$build/artifacts" -type f -newer "$build/fuzz_$t" \
		    -name "*-$t-*" | while IFS= read -r f; do
			diag "reproduce: $build/fuzz_$t $f"
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
done_summary
