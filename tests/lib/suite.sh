# shellcheck shell=bash
# tests/lib/suite.sh: run test suites and count their results, once.
# Sourced by ./dev and .ci/run.
#
# Every check is read by automake's TAP driver, the one make check uses:
# it writes a .trs file per suite with a ":test-result:" line per check
# (PASS, FAIL, XFAIL for a TODO, ERROR for a missing plan, a bail out or
# a bad exit status, ...).  suite_count reads those lines and nothing
# else: PASS passes, XFAIL (a check that cannot hold in that run, with
# its reason) is counted apart as a TODO and neither passes nor fails,
# anything else (SKIP too) fails.
#
#   suite_dir                    where the .trs files go: $VISITS_RESULTS
#                                when set (a caller further up counts
#                                them), else a new directory
#   suite_tap NAME CMD...        CMD prints TAP: through the driver
#   suite_check NAME BUILD CMD...
#                                CMD runs make check in the build tree
#                                BUILD: the .trs files it writes
#   suite_nested NAME CMD...     CMD writes its own results to
#                                $VISITS_RESULTS (./dev test, run by
#                                .ci/run)
#   suite_count                  "N passed, N failed" over suite_dir
#                                (after "N TODO, not counted" if any);
#                                status 0 only if none failed
#
# A command that exits non-zero with no failed check in its results is
# one failure more; one that exits 0 with no results is one check passed.
# suite_say (set by the caller) prints a message.

suite_dir=${VISITS_RESULTS:-}
suite_n=0

# suite_new NAME: a directory of its own for the suite's results.
suite_new() {
	if [ -z "$suite_dir" ]; then
		suite_dir=$(mktemp -d "${TMPDIR:-/tmp}/visits-results.XXXXXX") ||
			exit 1
	fi
	suite_n=$((suite_n + 1))
	suite_out=$suite_dir/$(printf '%02d' "$suite_n")-${1//[^A-Za-z0-9]/-}
	mkdir -p "$suite_out"
	suite_say "=== $1"
}

# suite_tally DIR: "PASSED FAILED TODO" over the .trs files under DIR.
suite_tally() {
	find "$1" -name '*.trs' -exec cat {} + 2>/dev/null |
		awk '$1 == ":test-result:" {
		    if ($2 == "PASS") p++; else if ($2 == "XFAIL") t++; else f++
		} END { print p + 0, f + 0, t + 0 }'
}

# suite_todo T: what a TODO count says, if there is one.
suite_todo() {
	[ "$1" = 0 ] || printf ', %s TODO, not counted' "$1"
}

# suite_status NAME STATUS: a failure more, if STATUS is not 0 and the
# suite's results have no failure of their own; the status as its one
# result, if it has none (make distcheck removes its tree).
suite_status() {
	local p f t
	read -r p f t <<<"$(suite_tally "$suite_out")"
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then
		printf ':test-result: FAIL %s exited with status %s\n' \
		    "$1" "$2" >"$suite_out/status.trs"
		f=1
	elif [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$t" = 0 ]; then
		printf ':test-result: PASS %s exited with status 0\n' \
		    "$1" >"$suite_out/status.trs"
		p=1
	fi
	suite_say "$1: $p passed, $f failed$(suite_todo "$t")" \
	    "(results in $suite_out)"
}

suite_tap() {
	local name=$1 rc=0
	shift
	suite_new "$name"
	"$(automake --print-libdir)/tap-driver.sh" --test-name "$name" \
	    --log-file "$suite_out/tap.log" --trs-file "$suite_out/tap.trs" \
	    --color-tests no --comments -- "$@" || rc=$?
	suite_status "$name" "$rc"
}

suite_check() {
	local name=$1 build=$2 rc=0
	shift 2
	suite_new "$name"
	touch "$suite_out/start"
	"$@" || rc=$?
	# make check removes its .trs files before it runs the tests: the
	# newer ones are this run's.
	(cd "$build" && find . -name '*.trs' -newer "$suite_out/start" \
	    -exec cp --parents {} "$suite_out/" \;)
	suite_status "$name" "$rc"
}

suite_nested() {
	local name=$1 rc=0
	shift
	suite_new "$name"
	VISITS_RESULTS=$suite_out "$@" || rc=$?
	suite_status "$name" "$rc"
}

suite_count() {
	local p=0 f=0 t=0
	[ -z "$suite_dir" ] || read -r p f t <<<"$(suite_tally "$suite_dir")"
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then
		suite_say "no results: one failure"
		f=1
	fi
	[ "$t" = 0 ] || suite_say "$t TODO (checks that cannot hold in their" \
	    "run, each with its reason in its log), not counted"
	echo "$p passed, $f failed"
	[ "$f" = 0 ]
}
