#!/bin/bash
# The shipped nginx.conf and render-conf: the container values are there,
# the rendered file is valid for nginx, render-conf refuses what it cannot
# substitute.
. "$(dirname "$0")/../lib/it.sh"

conf=$top_srcdir/nginx/nginx.conf
render=$top_srcdir/nginx/render-conf
# Without comments (conf_code), for the checks below.
nginx_conf "$conf"

has() {
	grep -Eq "$1" <<<"$conf_code"
}

has '^[[:space:]]*listen 8080;'; ok $? "listens on 8080 (container value)"
has 'server unix:/run/visits/visits.sock;'
ok $? "upstream is the container socket /run/visits/visits.sock"
has '^[[:space:]]*pid /tmp/nginx/nginx.pid;'; ok $? "pid under /tmp/nginx"
for t in client_body fastcgi proxy uwsgi scgi; do
	has "^[[:space:]]*${t}_temp_path +/tmp/nginx/$t;"
	ok $? "${t}_temp_path under /tmp/nginx"
done
! has '^[[:space:]]*user[[:space:]]'; ok $? "no user directive"
has '^[[:space:]]*error_log stderr'; ok $? "error_log to stderr"
has '^[[:space:]]*server_tokens off;'; ok $? "server_tokens off"
has 'log_format json escape=json'; ok $? "JSON access log format"
has '^[[:space:]]*access_log /dev/stdout json buffer=4k flush=1s if=\$loggable;'
ok $? "access log to stdout, in whole lines of at most PIPE_BUF a write"
! has 'include'; ok $? "includes nothing (no fastcgi_params in the image)"
has '^[[:space:]]*fastcgi_keep_conn on;'; ok $? "fastcgi_keep_conn on"

params=$(awk '$1 == "fastcgi_param" { print $2 }' <<<"$conf_code" | sort |
    tr '\n' ' ')
is "$params" "CONTENT_LENGTH CONTENT_TYPE DOCUMENT_URI QUERY_STRING \
REMOTE_ADDR REQUEST_METHOD REQUEST_URI SERVER_PROTOCOL " \
    "passes exactly the FastCGI params the program reads"

# The upstream numbers.  Kept connections do not hold the program's
# event loop (doc/DESIGN.md), so they are not bounded by it: load.sh
# checks that with 200 clients.
is "$conf_workers" 2 "worker_processes 2"
# Every upstream connection a worker can have busy (each request holds a
# client connection and one to the program) is kept when it goes idle, and
# each connection is a descriptor.
is "$conf_keepalive" $((conf_connections / 2)) \
    "upstream visits_fcgi keeps worker_connections / 2 ($conf_keepalive) idle connections per worker"
[ "${conf_nofile:-0}" -gt "$conf_connections" ]
ok $? "worker_rlimit_nofile ($conf_nofile) is above worker_connections ($conf_connections)"
has '^[[:space:]]*worker_shutdown_timeout [0-9]+s;'
ok $? "graceful drain is bounded (worker_shutdown_timeout)"
"$VISITS_FCGI" --help >"$it_tmp/help" 2>&1
ok $? "visits-fcgi --help exits 0"
# /cluster asks the other pods' nginx: on the port this file listens on
# (configure reads it from here).
port=$(sed -n 's/^[[:space:]]*listen \([0-9]*\);/\1/p' <<<"$conf_code")
tr -s '\n ' '  ' <"$it_tmp/help" | grep -q "asked on port $port "
ok $? "visits-fcgi asks the other pods on nginx's port (${port:-none})"

# render-conf
mkdir -p "$it_tmp/nginx"
"$render" 127.0.0.1:18181 "$it_tmp/s.sock" "$it_tmp/nginx" <"$conf" \
    >"$it_tmp/nginx.conf" 2>"$it_tmp/render.err"
ok $? "render-conf renders the shipped file"
out=$(sed 's/#.*//' "$it_tmp/nginx.conf")
grep -q 'listen 127.0.0.1:18181;' <<<"$out"; ok $? "port substituted"
grep -q "server unix:$it_tmp/s.sock;" <<<"$out"; ok $? "socket substituted"
n=$(grep -c "$it_tmp/nginx/" <<<"$out")
is "$n" 6 "nginx dir substituted in the pid and the five temp paths"
! grep -Eq '8080|/run/visits|/tmp/nginx' <<<"$out"
ok $? "no container value left"
opts="daemon off;"
[ "$(id -u)" = 0 ] && opts="$opts user root root;"
nginx -t -q -e stderr -p "$it_tmp/nginx/" -c "$it_tmp/nginx.conf" \
    -g "$opts" 2>"$it_tmp/nginx-t.err"
ok $? "nginx -t accepts the rendered file"
fail_diag "$it_tmp/nginx-t.err"

# render-conf refuses loudly and writes nothing.
refuses() {
	local desc=$1 input=$2
	shift 2
	local out rc=0
	out=$("$render" "$@" <"$input" 2>"$it_tmp/err") || rc=$?
	if [ $rc != 0 ] && [ -z "$out" ] && [ -s "$it_tmp/err" ]; then
		pass "render-conf refuses $desc"
	else
		fail "render-conf refuses $desc (status $rc)"
	fi
}
grep -v 'listen 8080;' "$conf" >"$it_tmp/no-port.conf"
refuses "a file without the port" "$it_tmp/no-port.conf" 1 /a/s /a/n
grep -q '"8080" 1 time(s)' "$it_tmp/err"; ok $? "and says which value"
cat "$conf" "$conf" >"$it_tmp/twice.conf"
refuses "a file with the values twice" "$it_tmp/twice.conf" 1 /a/s /a/n
refuses "a non-numeric port" "$conf" http /a/s /a/n
refuses "a port out of range" "$conf" 70000 /a/s /a/n
refuses "a relative socket path" "$conf" 1 a/s /a/n
refuses "a path with a ';'" "$conf" 1 '/a/s;x' /a/n
refuses "a path with a '\$'" "$conf" 1 '/a/$s' /a/n
refuses "a path with a space" "$conf" 1 /a/s '/a /n'
refuses "missing arguments" "$conf" 1 /a/s

done_testing
