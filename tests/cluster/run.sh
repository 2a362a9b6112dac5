#!/bin/bash
# tests/cluster/run.sh: GET /cluster and the / page's table across several
# hosts, with real parts only.  Each host is a network namespace of its
# own with its own host name (visits-0, visits-1, ...) running `./dev run`
# (nginx + visits-serve + visits-fcgi) on its address, port 8080; a hub
# namespace holds the bridge between them, dnsmasq answering the headless
# name with every host's address (as the cluster's DNS does for a headless
# Service, with the same search domains), and the clients: curl,
# tests/cluster/flood.py and headless Chromium.  Nothing leaves these
# namespaces; every load is bounded in time.
#
# Needs root (ip netns), VISITS_FCGI (./dev test-cluster builds and sets
# it) and the packages of `./dev deps cluster`.  About 30 s (two idle
# spells of 6 s among it).  Prints TAP; status 0 only if all passed.
#
#   VISITS_SCREENSHOT=FILE  also save a screenshot of the page there
#   --bench  no checks: wrk from the hub on visits-0, 5 s each of
#            /visits, / and /cluster, three rounds interleaved, then a
#            10 s flood of /cluster and how often the other hosts were
#            asked meanwhile (doc/PERFORMANCE.md, "The cluster view")
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/lib/tap.sh
. "$top/tests/lib/tap.sh"

need ip dnsmasq unshare chromium curl jq python3
[ "$(id -u)" = 0 ] || bail_out "needs root (network namespaces)"
[ -x "${VISITS_FCGI:-}" ] || bail_out "VISITS_FCGI is not set to the" \
    "program (./dev test-cluster sets it)"

HOSTS=3
# nginx.conf's listen, where the program asks its peers (configure reads
# it): a different number here fails every /cluster check.
PORT=8080
DOMAIN=default.svc.cluster.local
PEERS=visits-headless
id=vc$$
hub=$id-hub
# The hosts' network: a /24 of 198.18.0.0/15, reserved for benchmarking.
net=198.18.$((16 + RANDOM % 100))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-cluster.XXXXXX") ||
	bail_out "no temporary directory"
host_pids=()
dns_pid=

in_hub() {
	ip netns exec "$hub" "$@"
}

addr_of() {
	echo "$net.$((11 + $1))"
}

# Stop what we started, by pid, then the namespaces: a namespace's
# processes are ours only (ip netns pids).
cleanup() {
	local i p
	trap - EXIT INT TERM
	for i in "${!host_pids[@]}"; do
		for p in $(ip netns pids "$id-$i" 2>/dev/null); do
			kill -CONT "$p" 2>/dev/null
		done
		kill -TERM "${host_pids[$i]}" 2>/dev/null
	done
	for i in "${!host_pids[@]}"; do
		wait "${host_pids[$i]}" 2>/dev/null
	done
	if [ -n "$dns_pid" ]; then
		kill -CONT "$dns_pid" 2>/dev/null
		kill "$dns_pid" 2>/dev/null
		wait "$dns_pid"
	fi
	for ((i = 0; i < HOSTS; i++)); do
		for p in $(ip netns pids "$id-$i" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$id-$i" 2>/dev/null
		rm -rf "/etc/netns/$id-$i"
	done
	for p in $(ip netns pids "$hub" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$hub" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The hub: a bridge, dnsmasq on its address.
ip netns add "$hub" || bail_out "cannot create a network namespace"
in_hub ip link set lo up
in_hub ip link add br0 type bridge
in_hub ip addr add "$net.1/24" dev br0
in_hub ip link set br0 up

records=()
for ((i = 0; i < HOSTS; i++)); do
	ns=$id-$i
	ip netns add "$ns" || bail_out "cannot create $ns"
	ip -n "$hub" link add "$id-v$i" type veth peer name eth0 netns "$ns"
	ip -n "$hub" link set "$id-v$i" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$(addr_of "$i")/24" dev eth0
	ip -n "$ns" link set eth0 up
	# ip netns exec mounts this over /etc/resolv.conf: the pod's
	# resolver, with Kubernetes' search domains and ndots, and glibc's
	# default timeouts (5 s, 2 attempts), as in a pod.
	mkdir -p "/etc/netns/$ns"
	printf 'nameserver %s\nsearch %s svc.cluster.local cluster.local\n%s\n' \
	    "$net.1" "$DOMAIN" "options ndots:5" >"/etc/netns/$ns/resolv.conf"
	records+=("--host-record=$PEERS.$DOMAIN,$(addr_of "$i")")
done
# dns_start [RECORD...]: dnsmasq on the hub's address, authoritative
# for cluster.local as the cluster's DNS is: a name it has no record for
# is "no such name".  Started here, not through in_hub: $! is then
# dnsmasq itself.
dns_start() {
	ip netns exec "$hub" dnsmasq --keep-in-foreground --conf-file=/dev/null \
	    --no-resolv --no-hosts --bind-interfaces --listen-address="$net.1" \
	    --pid-file= --user=root --log-facility="$tmp/dnsmasq.log" \
	    --log-queries --local=/cluster.local/ "$@" &
	dns_pid=$!
}

dns_stop() {
	kill "$dns_pid"
	wait "$dns_pid"
	dns_pid=
}

# dns_listed: wait until the headless name resolves (from host 0's
# namespace, with its resolv.conf), at most 5 s.
dns_listed() {
	local i
	for i in $(seq 50); do
		ip netns exec "$id-0" getent ahosts "$PEERS" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The headless name lists no host yet, as when the pods start before the
# Service's endpoints list them.
dns_start

# Host i: visits-i, its own data, `./dev run` on its address.
host_start() {
	local i=$1
	mkdir -p "$tmp/h$i"
	ip netns exec "$id-$i" unshare --uts sh -c \
	    'echo "$0" >/proc/sys/kernel/hostname && exec "$@"' \
	    "visits-$i" env STACK_ADDR="$(addr_of "$i")" PORT=$PORT \
	    VISITS_VAR_DIR="$tmp/h$i" VISITS_PEERS=$PEERS \
	    VISITS_FCGI="$VISITS_FCGI" "$top/dev" run \
	    >"$tmp/h$i/out.log" 2>&1 &
	host_pids[$i]=$!
}

# get I PATH: body := GET PATH on host I, from the hub; ms := its time.
get() {
	local out
	out=$(in_hub curl -sS --max-time 5 -w '\n%{time_total}' \
	    "http://$(addr_of "$1"):$PORT$2" 2>&1)
	body=${out%$'\n'*}
	body=${body%$'\n'}
	ms=$(awk -v t="${out##*$'\n'}" 'BEGIN { printf "%d", t * 1000 }')
}

# view_is I JQ-FILTER WANT DESC: GET /cluster on host I, once; the
# filter's output (compact) is WANT.
view_is() {
	get "$1" /cluster
	is "$(jq -c "$2" <<<"$body")" "$3" "$4"
}

# wait_view I JQ-FILTER SECONDS: wait until host I's /cluster satisfies
# the filter; waited := seconds it took, or "timeout".
wait_view() {
	local start=$SECONDS
	while [ $((SECONDS - start)) -le "$3" ]; do
		get "$1" /cluster
		if jq -e "$2" >/dev/null 2>&1 <<<"$body"; then
			waited=$((SECONDS - start))
			return 0
		fi
		sleep 0.2
	done
	waited=timeout
	return 1
}

for ((i = 0; i < HOSTS; i++)); do
	host_start "$i"
done
for ((i = 0; i < HOSTS; i++)); do
	for _ in $(seq 150); do
		get "$i" /healthz
		[ "$body" = '{"status":"ok"}' ] && break
		sleep 0.2
	done
	if [ "$body" != '{"status":"ok"}' ]; then
		diag "$(tail -n 20 "$tmp/h$i/out.log")"
		bail_out "host visits-$i did not start"
	fi
done
pass "$HOSTS hosts in their own namespaces serve on port $PORT"

# asked_by_0 I: n := the /visits requests from visits-0 in host I's
# nginx access log (flushed every second).
asked_by_0() {
	local line="\"remote_addr\":\"$(addr_of 0)\",\"method\":\"GET\","
	n=$(grep -c "$line\"uri\":\"/visits\"" "$tmp/h$1/out.log")
}

if [ "${1:-}" = --bench ]; then
	need wrk
	dns_stop
	dns_start "${records[@]}"
	dns_listed || bail_out "dnsmasq does not answer"
	for ((i = 0; i < HOSTS; i++)); do
		get "$i" /time
	done
	for round in 1 2 3; do
		for path in /visits / /cluster; do
			echo "# round $round: wrk -t2 -c16 -d5s --latency $path"
			in_hub wrk -t2 -c16 -d5s --latency \
			    "http://$(addr_of 0):$PORT$path" |
			    grep -E 'Latency  |50%|99%|Requests/sec'
		done
	done
	sleep 1.5	# the access logs are written every second
	asked_by_0 1
	before1=$n
	asked_by_0 2
	before2=$n
	t0=$(date +%s%3N)
	echo "# wrk -t2 -c64 -d10s /cluster"
	in_hub wrk -t2 -c64 -d10s "http://$(addr_of 0):$PORT/cluster" |
	    grep -E 'requests in|Requests/sec'
	sleep 1.5
	asked_by_0 1
	n1=$((n - before1))
	asked_by_0 2
	echo "# meanwhile ($(($(date +%s%3N) - t0)) ms, the access logs'" \
	    "lag included) visits-0 asked visits-1 $n1 times, visits-2" \
	    "$((n - before2)) times"
	done_testing
	exit
fi

# The headless name lists no host: visits-1 shows itself alone, and why.
view_is 1 '[[.pods[].name], (.peers_error | test("visits-headless"))]' \
    '[["visits-1"],true]' \
    "before the headless name lists the hosts, /cluster is this host alone, with the lookup's error"

# The name lists every host once nobody has asked /cluster for a while
# (6 s): the first /cluster after that lists them, on a host that asked
# before and on one that never did.
sleep 6
dns_stop
dns_start "${records[@]}"
dns_listed || bail_out "dnsmasq does not answer"
listed='[[.pods[] | select(has("visits")) | .name], has("peers_error")]'
every='[["visits-0","visits-1","visits-2"],false]'
view_is 2 "$listed" "$every" \
    "once the name lists the hosts, the first /cluster of a host never asked lists them all"
view_is 1 "$listed" "$every" \
    "and so does the first /cluster of the host that showed the error"

# Nobody asks /cluster for 6 s, then host i counts i + 1 visits, asked
# of each host straight: the first /cluster of visits-1 after that has
# every new count.
sleep 6
for ((i = 0; i < HOSTS; i++)); do
	for ((k = 0; k <= i; k++)); do
		get "$i" /time
	done
done
get 1 /visits
is "$body" '{"visits":2}' "visits-1 counted its own visits"
all='[.pods[] | select(has("visits"))] | length == 3'
counts='[.pods[] | [.name, .visits]]'
want='[["visits-0",1],["visits-1",2],["visits-2",3]]'
view_is 1 "$counts" "$want" \
    "after an idle spell, the first /cluster of visits-1 has the counts the other hosts have now"
view_is 0 "$counts" "$want" \
    "/cluster on visits-0 lists every host with its own count, found through $PEERS"
is "$(jq -c '[.served_by, .total]' <<<"$body")" '["visits-0",6]' \
    "which pod answered, and the total"
# visits-2's last view may be less than a second old, from before the
# visits: a view is at most that old.
wait_view 2 "$counts == $want" 5
is "$(jq -c '[.served_by, .total, (.pods | length)]' <<<"$body")" \
    '["visits-2",6,3]' "visits-2 sees the same cluster"
get 0 /visits
is "$body" '{"visits":1}' "/cluster is never a visit"
in_hub curl -sS -o /dev/null -I -w '%{http_code}' \
    "http://$(addr_of 0):$PORT/cluster" >"$tmp/head" 2>&1
is "$(cat "$tmp/head")" 200 "HEAD /cluster"
grep -q "query\[A\] $PEERS.$DOMAIN" "$tmp/dnsmasq.log"
ok $? "the short name went to the DNS server through the search domains"

# A flood of /cluster on visits-0: the other hosts are asked no more
# than once a second, however many ask.  Counted in their access logs,
# from visits-0's address only: visits-2 asks too while someone asks it.
flood_s=4
sleep 1.5
t0=$(date +%s%3N)
asked_by_0 1
before1=$n
asked_by_0 2
before2=$n
read -r _ flood_n _ flood_err _ p50 _ p99 _ max < <(in_hub python3 \
    "$here/flood.py" "http://$(addr_of 0):$PORT/cluster" $flood_s 8)
sleep 1.5
asked_by_0 1
fan1=$((n - before1))
asked_by_0 2
fan2=$((n - before2))
# At most win + 1 refreshes in win seconds; the logs lag by up to a
# second: one more.
win=$((($(date +%s%3N) - t0 + 999) / 1000))
diag "flood: $flood_n /cluster in ${flood_s}s ($flood_err errors;" \
    "p50 ${p50} ms, p99 ${p99} ms, max ${max} ms); in the ${win}s" \
    "around it visits-0 asked visits-1 $fan1 times, visits-2 $fan2 times"
[ "$flood_n" -ge $((flood_s * 50)) ] && [ "$flood_err" = 0 ]
ok $? "the flood got its answers ($flood_n in ${flood_s}s, no error)"
# A view lives a second after it was made: each refresh comes a little
# more than a second after the one before, so at least flood_s - 1.
[ "$fan1" -ge $((flood_s - 1)) ] && [ "$fan1" -le $((win + 2)) ] &&
    [ "$fan2" -ge $((flood_s - 1)) ] && [ "$fan2" -le $((win + 2)) ]
ok $? "each other host was asked about once a second, not once a request ($fan1 and $fan2 in ${win}s)"

# visits-2 hangs (every process stopped: its kernel still accepts the
# connection, nobody answers): listed with an error by the deadline,
# while the others still answer.
for p in $(ip netns pids "$id-2"); do
	kill -STOP "$p"
done
start_ms=$(date +%s%3N)
wait_view 0 '.pods[] | select(.name == "visits-2") | .error |
    test("no answer within 500 ms")' 5
ok $? "a hung host is listed with an error"
diag "seen after $(($(date +%s%3N) - start_ms)) ms"
is "$(jq -c '[.pods[] | select(has("visits")) | .name]' <<<"$body")" \
    '["visits-0","visits-1"]' "while the others still answer"

# A /cluster that waits for the hung host holds up nothing else: visits
# to the same program are answered while it is still outstanding.
sleep 1.1
ip netns exec "$hub" curl -sS --max-time 5 -o "$tmp/waiting.json" \
    -w '%{http_code}' "http://$(addr_of 0):$PORT/cluster" \
    >"$tmp/waiting.code" 2>&1 &
waiting=$!
sleep 0.1
get 0 /visits
before=$(jq .visits <<<"$body")
codes=$(in_hub curl -sS --max-time 5 -w '%{http_code} ' \
    -o /dev/null "http://$(addr_of 0):$PORT/time" \
    -o /dev/null "http://$(addr_of 0):$PORT/time" \
    -o /dev/null "http://$(addr_of 0):$PORT/time")
kill -0 "$waiting" 2>/dev/null
outstanding=$?
get 0 /visits
is "$codes$(jq ".visits - $before" <<<"$body")" "200 200 200 3" \
    "three visits to visits-0 are answered and counted"
ok "$outstanding" "while its /cluster still waits for the hung host"
wait "$waiting"
is "$(cat "$tmp/waiting.code")" 200 "that /cluster is answered"
is "$(jq -c '[.pods[] | [.name, (.error // "ok")]]' <"$tmp/waiting.json")" \
    '[["visits-0","ok"],["visits-1","ok"],["visits-2","no answer within 500 ms"]]' \
    "from the view it waited for"

# The page never waits for the hung host; /cluster waits at most the
# deadline, once a second (a view lives that long).
read -r _ n_c _ err_c _ p50 _ p99 _ max < <(in_hub python3 \
    "$here/flood.py" "http://$(addr_of 0):$PORT/cluster" 3 4)
diag "/cluster while visits-2 hangs: $n_c answers, p50 $p50 ms," \
    "p99 $p99 ms, max $max ms"
read -r _ n_p _ err_p _ p50i _ p99i _ maxi < <(in_hub python3 \
    "$here/flood.py" "http://$(addr_of 0):$PORT/" 2 4)
diag "/ while visits-2 hangs: $n_p answers, p50 $p50i ms, p99 $p99i ms," \
    "max $maxi ms"
[ "$err_c" = 0 ] && [ "$n_c" -gt 0 ] &&
    awk -v m="$max" 'BEGIN { exit !(m < 2000) }'
ok $? "every /cluster answered, none held longer than its bound ($max ms)"
[ "$err_p" = 0 ] && awk -v b="$p99i" 'BEGIN { exit !(b < 250) }'
ok $? "the page never waits for the hung host (p99 $p99i ms, far below its 500 ms deadline)"
for p in $(ip netns pids "$id-2"); do
	kill -CONT "$p"
done
wait_view 0 "$all" 5
ok $? "it is back in the view once it answers (after ${waited}s)"

# The page, in a real browser: the table filled from /cluster.
get 0 /
[[ $body == *'<p id="time">'* && $body == *'>visits-0</code>'* ]]
ok $? "the page has the time and the pod without JavaScript"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic
    --no-first-run --disable-background-networking
    --disable-component-update --disable-sync
    --user-data-dir="$tmp/chrome" --virtual-time-budget=5000)
get 0 /visits
want=$(jq -r '"visits-0 (this page) \(.visits + 1) visits-1 2 visits-2 3" +
    " | total \(.visits + 6)"' <<<"$body")
timeout 60 ip netns exec "$hub" "${chrome[@]}" --dump-dom \
    "http://$(addr_of 0):$PORT/" >"$tmp/dom.html" 2>"$tmp/chrome.log"
rows=$(python3 -c '
import re, sys
html = open(sys.argv[1]).read()
body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
cells = re.findall(r"<td>(.*?)</td>", body.group(1) if body else "")
total = re.search(r"<th id=\"total\">(.*?)</th>", html)
print(" ".join(cells), "| total", total.group(1) if total else "")
' "$tmp/dom.html")
# The browser's own visit of / counts on visits-0 before the table.
is "$rows" "$want" "Chromium shows the table with every pod's count"
if [ "$rows" != "$want" ]; then
	diag "$(tail -n 5 "$tmp/chrome.log")"
fi
if [ -n "${VISITS_SCREENSHOT:-}" ]; then
	timeout 60 ip netns exec "$hub" "${chrome[@]}" --window-size=800,600 \
	    --screenshot="$VISITS_SCREENSHOT" \
	    "http://$(addr_of 0):$PORT/" >/dev/null 2>&1
	diag "screenshot in $VISITS_SCREENSHOT"
fi

# A stopped host: refused at once, listed with that error.
kill -TERM "${host_pids[2]}"
wait "${host_pids[2]}"
unset 'host_pids[2]'
wait_view 0 '.pods[] | select(.name == "visits-2") | .error |
    test("refused")' 5
ok $? "a stopped host is listed as refusing (after ${waited}s)"
is "$(jq -c '[.pods[] | select(has("visits")) | .name]' <<<"$body")" \
    '["visits-0","visits-1"]' "while the others still answer"

# The DNS server hangs: a /cluster waits for the lookup for 500 ms, then
# is answered from the last view, which says so.
kill -STOP "$dns_pid"
sleep 1.1
get 0 /cluster
jq -e '(.pods | length == 3) and (.stale |
    test("^visits-headless: still being looked up after 500 ms; this view is [0-9.]+ s old$"))' \
    >/dev/null <<<"$body"
status=$?
ok $status "with DNS hung, /cluster answers from the last view, marked stale (${ms} ms)"
[ $status = 0 ] || diag "$body"

# SIGTERM to visits-1's program while a /cluster waits on the view, the
# lookup stuck: the request is answered, and the program stops at once,
# leaving the lookup to the exit.
fcgi=
for p in $(ip netns pids "$id-1"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = visits-fcgi ] && fcgi=$p
done
ip netns exec "$hub" curl -sS --max-time 5 -o "$tmp/stopping.json" \
    -w '%{http_code}' "http://$(addr_of 1):$PORT/cluster" \
    >"$tmp/stopping.code" 2>&1 &
waiting=$!
sleep 0.2
start_ms=$(date +%s%3N)
kill -TERM "$fcgi"
while kill -0 "$fcgi" 2>/dev/null; do
	sleep 0.05
done
took=$(($(date +%s%3N) - start_ms))
wait "$waiting"
is "$(cat "$tmp/stopping.code") $(jq -r .stale <"$tmp/stopping.json" |
    sed 's/[0-9.]* s old/N s old/')" "200 stopping; this view is N s old" \
    "a /cluster waiting when SIGTERM comes is answered from the last view"
grep -q '"event":"stopped","msg":"exit 0"' "$tmp/h1/out.log"
ok $? "the program stops cleanly, in ${took} ms"
[ "$took" -lt 8000 ]
ok $? "well inside the grace period, the lookup still stuck in the resolver"
grep -q cluster_stop_slow "$tmp/h1/out.log"
ok $? "and it says that it did not wait for the lookup"
wait "${host_pids[1]}"
unset 'host_pids[1]'
kill -CONT "$dns_pid"

kill -TERM "${host_pids[0]}"
wait "${host_pids[0]}"
is "$?" 0 "the last host stops cleanly"
unset 'host_pids[0]'
# A sanitizer build (VISITS_FCGI=build-asan/...) reports in these logs.
bad=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
    "$tmp"/h*/out.log)
is "$bad" "" "no sanitizer report in any host's log"

done_testing
