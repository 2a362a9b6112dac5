# shellcheck shell=bash
# tests/campaign/lib.sh: what every campaign starts with.  Loads
# tests/lib/it.sh (TAP, the stack, a private directory under $TMPDIR and
# cleanup on exit, the HTTP helpers), then:
#
#   sized VAR BOUNDED FULL   VAR := FULL under --full, else BOUNDED
#   camp_py SCRIPT ARGS...   python3 tests/campaign/SCRIPT
#   load_start OUT ARGS...   load.py in the background (load_pid); its
#                            summary (JSON) goes to OUT when it stops
#   load_stop                SIGTERM the load, wait for its summary
#   jget FILE EXPR           jq -r EXPR FILE
#   row FMT ARGS...          a table row as a TAP comment

# shellcheck source=tests/lib/it.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/it.sh"

camp_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -n "${CAMPAIGN_BIN:-}" ] && [ -x "$CAMPAIGN_BIN/reader" ] ||
	bail_out "CAMPAIGN_BIN is not set: run through tests/campaign/run"
load_pid=

sized() {
	if [ "${CAMPAIGN_FULL:-0}" = 1 ]; then
		printf -v "$1" '%s' "$3"
	else
		printf -v "$1" '%s' "$2"
	fi
}

camp_py() {
	local script=$1
	shift
	python3 "$camp_dir/$script" "$@"
}

load_start() {
	local out=$1
	shift
	python3 "$camp_dir/load.py" --out "$out" "$@" &
	load_pid=$!
	it_own_pids+=("$load_pid")
}

load_stop() {
	[ -n "$load_pid" ] || return 0
	kill -TERM "$load_pid" 2>/dev/null
	wait "$load_pid" 2>/dev/null
	load_pid=
}

jget() {
	jq -r "$2" "$1"
}

row() {
	local fmt=$1
	shift
	# shellcheck disable=SC2059
	printf "# $fmt\n" "$@"
}
