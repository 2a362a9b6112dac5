# shellcheck shell=bash
# tests/lib/it.sh: what every integration test starts with.  Source it
# first: it loads tap.sh and stack.sh, checks the environment (fails, never
# skips), makes a private directory under $TMPDIR and cleans everything up
# on exit (the stack, mounts registered with it_on_exit, the directory).
#
#   it_tmp                  the test's directory (short: socket paths)
#   it_on_exit CMD          run CMD at exit, after the stack is stopped
#                           (last registered, first run)
#   http METHOD PATH        one request through nginx: http_code, http_body
#                           (exact, with its final newline), headers via hdr
#   hdr NAME                value of a header of the last http answer
#   visits                  visits := the count, from GET /visits
#   file_count              file_count := content of the counter file
#   fcgi_client ARGS...     tests/lib/fcgi_client.py
#   own_start SOCK LOG [ARGS...]
#                           fcgi/visits-serve ARGS on SOCK, without nginx,
#                           in the background (own_pid: the program's);
#                           status 0 once it answers there
#   own_stop PID [SIGNAL]   SIGTERM (or SIGNAL), then exit_status PID 15
#   exit_status PID SECS    status := PID's exit status, or "timeout"
#                           (then it is killed)
#   fail_diag FILE [N]      after a failure: a log's end as TAP diagnostics
#   nginx_conf [FILE]       an nginx.conf (default: the shipped one) read:
#                           conf_code := it without comments;
#                           conf_workers := worker_processes;
#                           conf_keepalive := keepalive of upstream
#                           visits_fcgi; conf_connections :=
#                           worker_connections; conf_nofile :=
#                           worker_rlimit_nofile

set -u

it_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$it_lib/tap.sh"
# shellcheck source=tests/lib/stack.sh
. "$it_lib/stack.sh"

need curl jq python3 nginx spawn-fcgi setsid
if [ -z "${VISITS_FCGI:-}" ]; then
	bail_out "VISITS_FCGI is not set (run the tests with make check)"
fi
if [ ! -x "$VISITS_FCGI" ]; then
	bail_out "no program at $VISITS_FCGI (build it first)"
fi

it_tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-it.XXXXXX") ||
	bail_out "cannot create a directory under ${TMPDIR:-/tmp}"
it_exit_cmds=()
it_own_pids=()

it_on_exit() {
	it_exit_cmds+=("$1")
}

it_cleanup() {
	local i rc=$?
	trap - EXIT INT TERM HUP
	stack_stop >/dev/null 2>&1 || :
	for i in "${it_own_pids[@]}"; do
		stack_signal KILL "$i"
	done
	for ((i = ${#it_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${it_exit_cmds[$i]}" || :
	done
	# Never remove across a mount left behind.
	if ! grep -q " $it_tmp[/ ]" /proc/mounts; then
		rm -rf "$it_tmp"
	else
		echo "# left $it_tmp: something is still mounted below it"
	fi
	exit $rc
}
trap it_cleanup EXIT
trap 'exit 130' INT TERM HUP

fcgi_client() {
	python3 "$it_lib/fcgi_client.py" "$@"
}

exit_status() {
	status=timeout
	if stack_wait_exit "$1" "$2"; then
		status=$stack_status
	else
		stack_signal KILL "$1"
	fi
}

own_start() {
	local sock=$1 log=$2 i
	shift 2
	VISITS_SOCKET=$sock "$STACK_SRCDIR/fcgi/visits-serve" "$@" 2>"$log" &
	own_pid=$!
	it_own_pids+=("$own_pid")
	for i in $(seq 200); do
		if [ -S "$sock" ] &&
		    fcgi_client request "$sock" --timeout 2 >/dev/null 2>&1; then
			return 0
		fi
		stack_alive "$own_pid" || return 1
		sleep 0.05
	done
	return 1
}

own_stop() {
	stack_signal "${2:-TERM}" "$1"
	exit_status "$1" 15
}

http() {
	local method=$1 path=$2
	local -a args=(-sS --max-time 20 -D "$it_tmp/http.hdrs"
	    -o "$it_tmp/http.body" -w '%{http_code}')
	case $method in
	GET) ;;
	# -X HEAD (not -I): curl then waits for a body, so any body bytes on
	# the wire land in http.body; Connection: close ends the wait.
	HEAD) args+=(-X HEAD -H 'Connection: close') ;;
	*) args+=(-X "$method") ;;
	esac
	: >"$it_tmp/http.body"
	http_code=$(curl "${args[@]}" "$STACK_BASE_URL$path" 2>/dev/null)
	[ -n "$http_code" ] || http_code=000
	http_body=$(cat "$it_tmp/http.body"; echo x)
	http_body=${http_body%x}
}

hdr() {
	tr -d '\r' <"$it_tmp/http.hdrs" | awk -v n="$1" '
	    BEGIN { n = tolower(n) }
	    { i = index($0, ":") }
	    i > 0 && tolower(substr($0, 1, i - 1)) == n {
		v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit
	    }'
}

visits() {
	http GET /visits
	visits=$(printf '%s' "$http_body" | jq -r '.visits' 2>/dev/null)
	[ -n "$visits" ] || visits="(no answer: $http_code $http_body)"
}

file_count() {
	file_count=$(cat "$STACK_DATA_DIR/visits" 2>/dev/null) ||
		file_count="(no file)"
}

fail_diag() {
	if [ "$tap_failed" != 0 ] && [ -s "$1" ]; then
		diag "--- $1:"
		diag "$(tail -n "${2:-30}" "$1")"
	fi
}

nginx_conf() {
	conf_code=$(sed 's/#.*//' "${1:-$STACK_SRCDIR/nginx/nginx.conf}")
	conf_workers=$(awk '$1 == "worker_processes" {
	    sub(/;/, "", $2); print $2 }' <<<"$conf_code")
	conf_keepalive=$(awk '/upstream visits_fcgi/ { u = 1 }
	    u && $1 == "keepalive" { sub(/;/, "", $2); print $2; exit }' \
	    <<<"$conf_code")
	conf_connections=$(awk '$1 == "worker_connections" {
	    sub(/;/, "", $2); print $2 }' <<<"$conf_code")
	conf_nofile=$(awk '$1 == "worker_rlimit_nofile" {
	    sub(/;/, "", $2); print $2 }' <<<"$conf_code")
}
