# shellcheck shell=bash
# tests/lib/suite.sh: run suites and add up their figures.  Sourced by
# ./dev test and .ci/run.
#
#   suite_run NAME LOG CMD...   says "=== NAME", runs CMD (output also in
#                               LOG), reads its figures from LOG with
#                               $suite_reader and adds them to
#                               suite_passed and suite_failed.  No
#                               figures, or a non-zero status with no
#                               failure counted, is one failure.
#   suite_last_line LOG         the default reader: the last line
#                               "N passed, N failed"
#
# A reader sets suite_p and suite_f, or says why there are no figures
# and returns 1.  suite_say (set by the caller) prints a message, e.g.
# with a prefix.  Callers set -o pipefail, so that CMD's status is seen
# through tee.

suite_passed=0
suite_failed=0
suite_reader=suite_last_line

suite_last_line() {
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		suite_say "no \"N passed, N failed\" line"
		return 1
	fi
	suite_p=${line%% passed*}
	suite_f=${line#*passed, }
	suite_f=${suite_f%% failed*}
}

suite_run() {
	local what=$1 log=$2 rc=0 suite_p suite_f
	shift 2
	suite_say "=== $what"
	"$@" 2>&1 | tee "$log" || rc=$?
	if ! "$suite_reader" "$log"; then
		suite_say "$what: no figures: one failure"
		suite_p=0 suite_f=1
	fi
	if [ "$rc" != 0 ] && [ "$suite_f" = 0 ]; then
		suite_say "$what exited with status $rc: one failure"
		suite_f=1
	fi
	suite_say "$what: $suite_p passed, $suite_f failed (status $rc)"
	suite_passed=$((suite_passed + suite_p))
	suite_failed=$((suite_failed + suite_f))
	return 0
}
