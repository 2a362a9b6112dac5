# shellcheck shell=bash
# tests/lib/stack.sh: start and stop the real stack (nginx in front of
# fcgi/visits-serve) in one directory.  Sourced by `./dev run` and
# the tests, campaigns and benchmarks that need the real stack.
#
# Functions return what they found in variables (never on stdout), so call
# them in the current shell, not in $(...): the processes must be children
# of the shell that will stop them.
#
#   stack_setup DIR              paths under DIR (see "Layout" below)
#   stack_start DIR [PORT]       setup, program, nginx; PORT given: fail
#                                clearly if taken; PORT omitted: a free one
#   stack_stop                   nginx (graceful), then the program;
#                                nothing left behind; status 1 if either
#                                exited badly
#   stack_pick_port              STACK_PORT := a free port on STACK_ADDR
#   stack_port_free PORT         status 0 if PORT can be bound on STACK_ADDR
#   stack_fcgi_start [ARGS...]   spawn-fcgi + program (args added to
#                                STACK_FCGI_ARGS); waits for the socket
#   stack_fcgi_stop [SIGNAL]     TERM (default) or KILL, wait, clean up
#   stack_nginx_start            render nginx.conf, start, wait for health
#   stack_nginx_stop             SIGQUIT (graceful drain), wait
#   stack_http_code PATH         stack_code := status of GET PATH (000: none)
#   stack_wait_http PATH CODE    wait until GET PATH answers CODE
#
# Inputs (set before calling; defaults in brackets):
#   VISITS_FCGI          the program [$top_builddir/fcgi/visits-fcgi]
#   STACK_ADDR           listen address [127.0.0.1]
#   STACK_DATA_DIR       data directory [DIR/data]
#   STACK_FCGI_ARGS      array of extra program arguments [()]
#   STACK_LOG_DIR        where logs go [DIR/log]; "-" = inherit stdout and
#                        stderr (the foreground `./dev run`)
#   STACK_TIMEOUT        seconds to wait for a start or a stop [30]
#
# Outputs:
#   STACK_DIR STACK_SOCK STACK_NGINX_DIR STACK_NGINX_CONF STACK_PORT
#   STACK_BASE_URL STACK_FCGI_PID STACK_NGINX_PID
#   STACK_FCGI_STATUS STACK_NGINX_STATUS   exit statuses after a stop
#   STACK_SOCKET_LEFT    1 if the program left its socket file behind
#
# Layout: DIR/run/visits.sock, DIR/nginx (pid, temp dirs, nginx.conf),
# DIR/data, DIR/log/{fcgi.log,nginx.err,access.log}.  Keep DIR short: a
# Unix socket path has at most 107 bytes.

STACK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STACK_SRCDIR=${top_srcdir:-$(cd "$STACK_LIB_DIR/../.." && pwd)}
: "${STACK_ADDR:=127.0.0.1}"
: "${STACK_TIMEOUT:=30}"
if ! declare -p STACK_FCGI_ARGS >/dev/null 2>&1; then
	STACK_FCGI_ARGS=()
fi
STACK_FCGI_PID=
STACK_NGINX_PID=
STACK_PORT_AUTO=0

stack_err() {
	echo "stack: $*" >&2
}

# Show the end of a log file on stderr (after a failure).
stack_tail() {
	if [ -s "$1" ]; then
		echo "stack: --- last lines of $1:" >&2
		tail -n "${2:-20}" "$1" >&2
	fi
}

stack_setup() {
	STACK_DIR=$1
	if [ -z "$STACK_DIR" ]; then
		stack_err "stack_setup: no directory given"
		return 1
	fi
	STACK_SOCK=$STACK_DIR/run/visits.sock
	STACK_NGINX_DIR=$STACK_DIR/nginx
	STACK_NGINX_CONF=$STACK_NGINX_DIR/nginx.conf
	: "${STACK_DATA_DIR:=$STACK_DIR/data}"
	: "${STACK_LOG_DIR:=$STACK_DIR/log}"
	: "${VISITS_FCGI:=${top_builddir:-$STACK_SRCDIR/build}/fcgi/visits-fcgi}"
	if [ ${#STACK_SOCK} -gt 107 ]; then
		stack_err "socket path too long for a Unix socket" \
		    "(${#STACK_SOCK} > 107 bytes): $STACK_SOCK"
		return 1
	fi
	mkdir -p "$STACK_DIR/run" "$STACK_NGINX_DIR" "$STACK_DATA_DIR" ||
		return 1
	if [ "$STACK_LOG_DIR" != - ]; then
		mkdir -p "$STACK_LOG_DIR" || return 1
	fi
}

# Run "$@" in the background with the stack's logs; sets stack_pid.  The
# process gets a session of its own (setsid, which execs in place here:
# a background child of a non-interactive shell is never a group leader),
# so a Ctrl-C on the terminal reaches only `./dev run`, which then stops
# nginx and the program in the right order.
stack_spawn() {
	local out=$1 err=$2
	shift 2
	if [ "$STACK_LOG_DIR" = - ]; then
		setsid "$@" &
	else
		setsid "$@" >>"$STACK_LOG_DIR/$out" 2>>"$STACK_LOG_DIR/$err" &
	fi
	stack_pid=$!
}

# stack_alive PID [PARENT]: status 0 if PID runs (not a zombie) as a
# child of PARENT (default: this shell).  PIDs are reused quickly on a busy
# machine (pid_max is often 32768): a PID that has ended may already be
# someone else's process, so nothing here signals or waits on a PID
# without this check.
stack_alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- "${2:-$BASHPID}" $stat
	[ "$2" != Z ] && [ "$3" = "$1" ]
}

# stack_signal SIG PID [PARENT]: send SIG only to a live child.
stack_signal() {
	stack_alive "$2" "${3:-$BASHPID}" && kill "-$1" "$2" 2>/dev/null
}

# stack_wait_exit PID SECONDS: wait for PID to end; stack_status := its
# exit status.  Status 1 if it is still running after SECONDS.
stack_wait_exit() {
	local pid=$1 limit=$(($2 * 20)) i=0
	while stack_alive "$pid"; do
		if [ $i -ge $limit ]; then
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
	stack_status=0
	wait "$pid" 2>/dev/null || stack_status=$?
	return 0
}

# Kill PID and its direct children (nginx workers) by id.
stack_kill_tree() {
	local pid=$1 kid
	if stack_alive "$pid"; then
		for kid in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
			stack_signal KILL "$kid" "$pid"
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || :
}

stack_port_free() {
	python3 - "$STACK_ADDR" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# Same option as nginx: a port in TIME_WAIT is free for it.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
EOF
}

# Bind port 0 and release it: the kernel's choice is free now; nginx may
# still lose a race for it, which stack_nginx_start retries.
stack_pick_port() {
	STACK_PORT=$(python3 - "$STACK_ADDR" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
EOF
) || {
		stack_err "cannot find a free port on $STACK_ADDR"
		return 1
	}
}

# stack_http_code PATH: stack_code := the status of GET PATH ("000" when
# nothing answered).
stack_http_code() {
	stack_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
	    "$STACK_BASE_URL$1" 2>/dev/null)
	[ -n "$stack_code" ] || stack_code=000
}

stack_fcgi_start() {
	local i=0 limit=$((STACK_TIMEOUT * 20))
	if [ ! -x "$VISITS_FCGI" ]; then
		stack_err "program not found or not executable: $VISITS_FCGI" \
		    "(build it first: ./dev build)"
		return 1
	fi
	if ! command -v spawn-fcgi >/dev/null; then
		stack_err "spawn-fcgi not installed (./dev deps)"
		return 1
	fi
	# fcgi/visits-serve, as in the image: spawn-fcgi binds the socket
	# and execs the program with it on fd 0, so the pid is the program's.
	VISITS_SOCKET=$STACK_SOCK stack_spawn fcgi.log fcgi.log \
	    "$STACK_SRCDIR/fcgi/visits-serve" --data-dir "$STACK_DATA_DIR" \
	    "${STACK_FCGI_ARGS[@]}" "$@"
	STACK_FCGI_PID=$stack_pid
	while [ ! -S "$STACK_SOCK" ]; do
		if ! stack_alive "$STACK_FCGI_PID"; then
			stack_status=0
			wait "$STACK_FCGI_PID" || stack_status=$?
			stack_err "visits-fcgi exited with status $stack_status" \
			    "at start"
			stack_tail "$STACK_LOG_DIR/fcgi.log"
			STACK_FCGI_PID=
			return 1
		fi
		if [ $i -ge $limit ]; then
			stack_err "no socket $STACK_SOCK after ${STACK_TIMEOUT}s"
			stack_fcgi_stop KILL
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

stack_fcgi_stop() {
	local sig=${1:-TERM}
	STACK_FCGI_STATUS=
	STACK_SOCKET_LEFT=0
	if [ -z "$STACK_FCGI_PID" ]; then
		return 0
	fi
	stack_signal "$sig" "$STACK_FCGI_PID"
	if ! stack_wait_exit "$STACK_FCGI_PID" "$STACK_TIMEOUT"; then
		stack_err "visits-fcgi (pid $STACK_FCGI_PID) still running" \
		    "${STACK_TIMEOUT}s after SIG$sig; killing it"
		stack_kill_tree "$STACK_FCGI_PID"
		stack_status=137
	fi
	STACK_FCGI_STATUS=$stack_status
	STACK_FCGI_PID=
	# After a SIGKILL the socket file stays, as it would in a pod: the
	# next start replaces it.  After SIGTERM the program should have
	# removed it; note it and clean up so that nothing is left behind.
	if [ "$sig" != KILL ] && [ -e "$STACK_SOCK" ]; then
		STACK_SOCKET_LEFT=1
		rm -f "$STACK_SOCK"
	fi
	if [ "$sig" = TERM ] && [ "$STACK_FCGI_STATUS" != 0 ]; then
		stack_err "visits-fcgi exited with status $STACK_FCGI_STATUS"
		[ "$STACK_LOG_DIR" = - ] || stack_tail "$STACK_LOG_DIR/fcgi.log"
		return 1
	fi
	return 0
}

stack_nginx_start() {
	local tries=0 i limit=$((STACK_TIMEOUT * 20)) status
	local -a opts
	if ! command -v nginx >/dev/null; then
		stack_err "nginx not installed (./dev deps)"
		return 1
	fi
	if [ -z "$STACK_PORT" ]; then
		stack_pick_port || return 1
		STACK_PORT_AUTO=1
	fi
	opts=(daemon off\;)
	# As root, nginx would run its workers as "nobody", who cannot open
	# the program's socket (mode 0660, owned by root).  The container runs
	# nginx unprivileged with no user switch at all; locally we run the
	# workers as root too rather than widen the socket's mode.
	if [ "$(id -u)" = 0 ]; then
		opts+=(user root root\;)
	fi
	while :; do
		if [ "$STACK_PORT_AUTO" = 0 ] && ! stack_port_free "$STACK_PORT"
		then
			stack_err "port $STACK_PORT on $STACK_ADDR is already in use;" \
			    "choose another one (PORT=...)"
			return 1
		fi
		"$STACK_SRCDIR/nginx/render-conf" "$STACK_ADDR:$STACK_PORT" \
		    "$STACK_SOCK" "$STACK_NGINX_DIR" \
		    <"$STACK_SRCDIR/nginx/nginx.conf" >"$STACK_NGINX_CONF" ||
			return 1
		STACK_BASE_URL=http://$STACK_ADDR:$STACK_PORT
		[ "$STACK_LOG_DIR" = - ] || : >"$STACK_LOG_DIR/nginx.err"
		stack_spawn access.log nginx.err \
		    nginx -e stderr -p "$STACK_NGINX_DIR/" -c "$STACK_NGINX_CONF" \
		    -g "${opts[*]}"
		STACK_NGINX_PID=$stack_pid
		i=0
		while :; do
			stack_http_code /nginx-healthz
			if [ "$stack_code" = 200 ]; then
				return 0
			fi
			if ! stack_alive "$STACK_NGINX_PID"; then
				status=0
				wait "$STACK_NGINX_PID" || status=$?
				STACK_NGINX_PID=
				break
			fi
			if [ $i -ge $limit ]; then
				stack_err "nginx gave no answer on $STACK_BASE_URL" \
				    "after ${STACK_TIMEOUT}s"
				stack_nginx_stop
				return 1
			fi
			sleep 0.05
			i=$((i + 1))
		done
		# nginx exited: another process took the port since we chose it?
		tries=$((tries + 1))
		if [ "$STACK_PORT_AUTO" = 1 ] && [ $tries -lt 5 ] &&
		    grep -q 'Address already in use' "$STACK_LOG_DIR/nginx.err" \
		    2>/dev/null; then
			stack_pick_port || return 1
			continue
		fi
		if [ "$STACK_LOG_DIR" != - ] &&
		    grep -q 'Address already in use' "$STACK_LOG_DIR/nginx.err"
		then
			stack_err "port $STACK_PORT on $STACK_ADDR is already in use"
		fi
		stack_err "nginx exited with status $status at start"
		[ "$STACK_LOG_DIR" = - ] || stack_tail "$STACK_LOG_DIR/nginx.err"
		return 1
	done
}

stack_nginx_stop() {
	STACK_NGINX_STATUS=
	if [ -z "$STACK_NGINX_PID" ]; then
		return 0
	fi
	# SIGQUIT: nginx stops accepting, finishes the requests in flight,
	# then exits (its graceful shutdown; the pod's STOPSIGNAL too).
	stack_signal QUIT "$STACK_NGINX_PID"
	if ! stack_wait_exit "$STACK_NGINX_PID" "$STACK_TIMEOUT"; then
		stack_err "nginx (pid $STACK_NGINX_PID) still running" \
		    "${STACK_TIMEOUT}s after SIGQUIT; killing it"
		stack_kill_tree "$STACK_NGINX_PID"
		stack_status=137
	fi
	STACK_NGINX_STATUS=$stack_status
	STACK_NGINX_PID=
	[ "$STACK_NGINX_STATUS" = 0 ]
}

# stack_wait_http PATH CODE: wait until GET PATH answers CODE.
stack_wait_http() {
	local i=0 limit=$((STACK_TIMEOUT * 20))
	while :; do
		stack_http_code "$1"
		[ "$stack_code" = "$2" ] && return 0
		if [ $i -ge $limit ]; then
			stack_err "GET $1 answered $stack_code, not $2," \
			    "after ${STACK_TIMEOUT}s"
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

stack_start() {
	stack_setup "$1" || return 1
	STACK_PORT=${2:-}
	STACK_PORT_AUTO=0
	# Fail on a taken port before starting anything.
	if [ -n "$STACK_PORT" ] && ! stack_port_free "$STACK_PORT"; then
		stack_err "port $STACK_PORT on $STACK_ADDR is already in use;" \
		    "choose another one (PORT=...)"
		return 1
	fi
	stack_fcgi_start || return 1
	if ! stack_nginx_start; then
		stack_fcgi_stop
		return 1
	fi
	# The program answers through nginx (liveness, not readiness: a
	# corrupt counter file still serves /healthz).
	if ! stack_wait_http /healthz 200; then
		stack_stop
		return 1
	fi
}

stack_stop() {
	local rc=0
	stack_nginx_stop || rc=1
	stack_fcgi_stop || rc=1
	return $rc
}
