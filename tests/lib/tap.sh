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
#   tap_nest PREFIX CMD...  CMD's own TAP, its checks numbered into this
#                           stream as "PREFIX: DESC" as they pass through
#                           (a "# TODO" one stays a TODO, not a failure),
#                           its other output as comments.  No check, a
#                           bail out, or a non-zero status with no failed
#                           check is one failure more.  A failed check
#                           whose DESC matches an ERE of the array
#                           tap_nest_todo becomes a TODO with the reason
#                           at the same index of tap_nest_todo_why.
#
# A suite's checks are counted once, by automake's TAP driver
# (tests/lib/suite.sh); nothing here prints totals.

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

tap_nest_todo=()
tap_nest_todo_why=()

# tap_nest_todo_for DESC: why := the reason of the first ERE of
# tap_nest_todo that DESC matches; status 1 if none does.
tap_nest_todo_for() {
	local i
	for i in "${!tap_nest_todo[@]}"; do
		if [[ $1 =~ ${tap_nest_todo[$i]} ]]; then
			why=${tap_nest_todo_why[$i]}
			return 0
		fi
	done
	return 1
}

# tap_todo DESC: a "not ok" that is not a failure (DESC says "# TODO").
tap_todo() {
	tap_count=$((tap_count + 1))
	printf 'not ok %d - %s\n' "$tap_count" "$1"
}

tap_nest() {
	local prefix=$1 line desc status= bailed= todo=0 why
	local n0=$tap_count f0=$tap_failed
	local re='^(not )?ok( [0-9]+)?( -)? ?(.*)$'
	shift
	while IFS= read -r line; do
		case $line in
		ok | "ok "* | "not ok" | "not ok "*)
			[[ $line =~ $re ]]
			desc="$prefix: ${BASH_REMATCH[4]}"
			if [ -z "${BASH_REMATCH[1]}" ]; then
				pass "$desc"
			elif [[ $desc == *"# TODO"* ]]; then
				todo=$((todo + 1))
				tap_todo "$desc"
			elif tap_nest_todo_for "$desc"; then
				todo=$((todo + 1))
				tap_todo "$desc # TODO $why"
			else
				fail "$desc"
			fi
			;;
		"Bail out!"*) bailed=${line#Bail out! } ;;
		1..*) ;;
		"#tap-nest-exit "*) status=${line#\#tap-nest-exit } ;;
		"#"*) printf '%s\n' "$line" ;;
		*) printf '# %s\n' "$line" ;;
		esac
	done < <("$@" 2>&1; echo "#tap-nest-exit $?")
	if [ -n "$bailed" ]; then
		fail "$prefix: bailed out: $bailed"
	elif [ "$tap_count" = "$n0" ]; then
		fail "$prefix: ran no check"
	elif [ "$status" != 0 ] && [ "$tap_failed" = "$f0" ] &&
	    [ "$todo" = 0 ]; then
		fail "$prefix: exited with status $status"
	fi
}
