# shellcheck shell=bash
# tests/lib/suite.sh: run a suite that ends its output with a line
# "N passed, N failed" and add its figures to the totals.  Sourced by
# ./dev test and .ci/run.
#
#   suite_run NAME LOG CMD...   runs CMD (output also in LOG); adds to
#                               suite_passed and suite_failed.  No such
#                               line, or a non-zero status with no
#                               failure counted, is one failure.
# suite_say (set by the caller) prints a message, e.g. with a prefix.

suite_passed=0
suite_failed=0

suite_run() {
	local what=$1 log=$2 rc=0 line p f
	shift 2
	"$@" 2>&1 | tee "$log" || rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		suite_say "$what printed no \"N passed, N failed\" line: one failure"
		p=0 f=1
	else
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		suite_say "$what exited with status $rc: one failure"
		f=1
	fi
	suite_say "$what: $p passed, $f failed (status $rc)"
	suite_passed=$((suite_passed + p))
	suite_failed=$((suite_failed + f))
	return 0
}
