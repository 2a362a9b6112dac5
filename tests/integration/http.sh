#!/bin/bash
# Every row of the README's HTTP table, through nginx: status, content type,
# Cache-Control and X-Served-By, the exact body; HEAD with the same headers
# and no body; 404 and 405 in JSON; query strings ignored for routing.
. "$(dirname "$0")/../lib/it.sh"

stack_start "$it_tmp" || bail_out "cannot start the stack"
host=$(hostname)
json=application/json
tz=Europe/Moscow

# served_by WHAT: the headers every program answer carries.
served_by() {
	is "$(hdr Cache-Control)" no-store "$1: Cache-Control: no-store"
	is "$(hdr X-Served-By)" "$host" "$1: X-Served-By: $host"
}

# answer METHOD PATH CODE TYPE BODY-REGEX: one request and its checks.
answer() {
	local what="$1 $2"
	http "$1" "$2"
	is "$http_code" "$3" "$what: status $3"
	is "$(hdr Content-Type)" "$4" "$what: Content-Type $4"
	like "$http_body" "$5" "$what: body"
}

seconds() {
	local h m s
	IFS=: read -r h m s <<<"$1"
	echo $((10#$h * 3600 + 10#$m * 60 + 10#$s))
}

# between BEFORE T AFTER: T within [BEFORE, AFTER] on a 24 h clock.
between() {
	local b t a
	b=$(seconds "$1") t=$(seconds "$2") a=$(seconds "$3")
	[ $(((t - b + 86400) % 86400)) -le $(((a - b + 86400) % 86400)) ]
}

# GET /time
before=$(TZ=$tz date +%H:%M:%S)
answer GET /time 200 $json $'^\\{"time":"[0-2][0-9]:[0-5][0-9]:[0-5][0-9]"\\}\n$'
after=$(TZ=$tz date +%H:%M:%S)
served_by "GET /time"
t=$(jq -r .time <<<"$http_body")
between "$before" "$t" "$after"
ok $? "GET /time is the time in $tz ($before <= $t <= $after)"

# GET /
before=$(TZ=$tz date +%H:%M:%S)
answer GET / 200 "text/html; charset=utf-8" '<html'
after=$(TZ=$tz date +%H:%M:%S)
served_by "GET /"
[[ $http_body == *"$host"* ]]; ok $? "GET /: page names the host $host"
t=$(grep -oE '[0-2][0-9]:[0-5][0-9]:[0-5][0-9]' <<<"$http_body" | head -n 1)
if [ -n "$t" ] && between "$before" "$t" "$after"; then
	pass "GET /: page shows the time in $tz ($t)"
else
	fail "GET /: page shows the time in $tz (found '$t', now $after)"
fi
[[ $http_body == *"</html>"* ]]; ok $? "GET /: a complete page"

answer GET /visits 200 $json $'^\\{"visits":[0-9]+\\}\n$'
served_by "GET /visits"
answer GET /healthz 200 $json $'^\\{"status":"ok"\\}\n$'
served_by "GET /healthz"
answer GET /readyz 200 $json $'^\\{"status":"ready"\\}\n$'
served_by "GET /readyz"
answer GET /metrics 200 "text/plain; version=0.0.4; charset=utf-8" \
    $'(^|\n)visits_total [0-9]+\n'
served_by "GET /metrics"
# No --peers here: this pod alone (tests/cluster has several).
answer GET /cluster 200 $json \
    $'^\\{"served_by":"[^"]+","pods":\\[\\{"name":"[^"]+","visits":[0-9]+\\}\\],"total":[0-9]+\\}\n$'
served_by "GET /cluster"
is "$(jq -c '[.served_by == .pods[0].name, .total == .pods[0].visits]' \
    <<<"$http_body")" "[true,true]" "GET /cluster: this host, its count"

# Other paths: 404 from the program.
for p in /nope /time/ /timex /visits/1 /index.html /readyz/ /metricsx \
    /nginx-healthz/; do
	answer GET "$p" 404 $json $'^\\{"error":"not found"\\}\n$'
done
served_by "GET /nope"

# HEAD: the same headers as GET, no body.  Content-Length is compared
# where the body cannot change between the two requests.
for p in /time /visits /healthz /readyz /nope / /metrics /cluster; do
	http GET "$p"
	code=$http_code type=$(hdr Content-Type) cc=$(hdr Cache-Control)
	len=$(hdr Content-Length) size=${#http_body}
	http HEAD "$p"
	is "$http_code" "$code" "HEAD $p: status $code as GET"
	is "$(hdr Content-Type)" "$type" "HEAD $p: Content-Type as GET"
	is "$(hdr Cache-Control)" "$cc" "HEAD $p: Cache-Control as GET"
	is "$(hdr X-Served-By)" "$host" "HEAD $p: X-Served-By"
	is "$http_body" "" "HEAD $p: no body"
	case $p in
	/ | /metrics) ;;
	*)
		is "$(hdr Content-Length)" "$len" \
		    "HEAD $p: Content-Length as GET ($len)"
		[ -z "$len" ] || is "$len" "$size" "GET $p: Content-Length is the body size"
		;;
	esac
done

# Other methods: 405 from nginx, nothing reaches the program.
for m in POST PUT DELETE OPTIONS PATCH TRACE CONNECT PROPFIND FOO; do
	for p in /time /; do
		answer "$m" "$p" 405 $json $'^\\{"error":"method not allowed"\\}\n$'
		is "$(hdr Allow)" "GET, HEAD" "$m $p: Allow: GET, HEAD"
	done
done
answer POST /nginx-healthz 405 $json '"method not allowed"'
answer DELETE /nope 405 $json '"method not allowed"'

# Query strings are ignored for routing.
answer GET '/time?x=1' 200 $json '^\{"time":'
answer GET '/?a=b&c' 200 "text/html; charset=utf-8" '<html'
answer GET '/visits?visits=100' 200 $json '^\{"visits":[0-9]+\}'
answer GET '/healthz?x' 200 $json '"ok"'
answer GET '/readyz?x=' 200 $json '"ready"'
answer GET '/metrics?name[]=visits_total' 200 \
    "text/plain; version=0.0.4; charset=utf-8" 'visits_total'
answer GET '/nope?time' 404 $json '"not found"'
answer GET '/?/time' 200 "text/html; charset=utf-8" '<html'

# nginx itself.
answer GET /nginx-healthz 200 $json $'^\\{"status":"ok"\\}\n$'
is "$(hdr X-Served-By)" "" "GET /nginx-healthz: answered by nginx, not the program"
is "$(hdr Server)" nginx "Server: nginx without a version"
http HEAD /nginx-healthz
is "$http_code/$http_body" 200/ "HEAD /nginx-healthz: 200, no body"

# The access log: one JSON object a request, the probes not in it.
stack_nginx_stop
n=$(wc -l <"$STACK_LOG_DIR/access.log")
[ "$n" -gt 40 ]; ok $? "access log has a line a request ($n lines)"
jq -e . "$STACK_LOG_DIR/access.log" >/dev/null
ok $? "access log lines are JSON"
jq -se 'any(.[]; .status == 405 and .method == "FOO")' \
    "$STACK_LOG_DIR/access.log" >/dev/null
ok $? "access log has method and status"
jq -se 'any(.[]; .uri == "/nginx-healthz" and .status == 200) | not' \
    "$STACK_LOG_DIR/access.log" >/dev/null
ok $? "GET /nginx-healthz (the probe) is not logged"
stack_fcgi_stop; ok $? "visits-fcgi exits 0 on SIGTERM"
is "$(grep -c . "$STACK_LOG_DIR/fcgi.log")" \
    "$(jq -c . "$STACK_LOG_DIR/fcgi.log" | grep -c .)" \
    "visits-fcgi logs JSON lines only"
n=$(grep -c . "$STACK_LOG_DIR/fcgi.log")
[ "$n" -lt 20 ]; ok $? "visits-fcgi logs no line per request ($n lines)"
fail_diag "$STACK_LOG_DIR/fcgi.log"

done_testing
