# shellcheck shell=bash
# tests/lib/tap.sh: TAP output for bash tests (automake's tap-driver.sh
# reads it).  The plan is printed at the end by done_testing, so tests do
# not count their checks by hand; a test that dies early prints no plan
# and the driver reports an error.
#
#   ok STATUS DESC          pass when STATUS is 0 (ok $? "...")
#   pass DESC / fail DESC   unconditional
#   is GOT WANT DESC        string equality (diagnostics show both)
#   like GOT REGEX DESC     bash regular expression match
#   diag MSG...             a "# " comment line
#   bail_out MSG            "Bail out!": stops the whole test file
#   need CMD...             bail out clearly when a command is missing
#   done_testing            prints the plan; exit status 1 if any failed
#   done_summary            done_testing, then "N passed, N failed"
#   tap_tally FILE [ERE]    another test's TAP output, saved in FILE,
#                           counted: tally_ok ("ok" lines), tally_not_ok
#                           ("not ok" lines but those matching ERE),
#                           tally_excused (those), tally_plan (1 if it
#                           has a plan "1..N", else 0)

tap_count=0
tap_failed=0

diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

pass() {
	tap_count=$((tap_count + 1))
	printf 'ok %d - %s\n' "$tap_count" "$1"
}

fail() {
	tap_count=$((tap_count + 1))
	tap_failed=$((tap_failed + 1))
	printf 'not ok %d - %s\n' "$tap_count" "$1"
}

ok() {
	if [ "$1" = 0 ]; then
		pass "$2"
	else
		fail "$2"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		diag "     got: '$1'" "
expected: '$2'"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3"
		diag "       got: '$1'" "
does not match: '$2'"
	fi
}

bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}

need() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 ||
			bail_out "$cmd is not installed (run ./dev deps)"
	done
}

done_testing() {
	printf '1..%d\n' "$tap_count"
	[ "$tap_failed" = 0 ]
}

# done_summary: done_testing, then the closing "N passed, N failed" line
# that ./dev and .ci/run read; status 0 only if all passed.
done_summary() {
	done_testing
	echo "$((tap_count - tap_failed)) passed, $tap_failed failed"
	[ "$tap_failed" = 0 ]
}

tap_tally() {
	local counts
	counts=$(TAP_EXCUSED=${2:-} awk '
	    /^ok / { ok++ }
	    /^not ok / {
		x = ENVIRON["TAP_EXCUSED"]
		if (x != "" && $0 ~ x) excused++; else not_ok++
	    }
	    /^1\.\.[0-9]+$/ { plan = 1 }
	    END { print ok + 0, not_ok + 0, excused + 0, plan + 0 }' "$1")
	read -r tally_ok tally_not_ok tally_excused tally_plan \
	    <<<"${counts:-0 0 0 0}"
}
