#!/bin/bash
# tests/pod/run.sh: the pod test.  Builds both images with podman, turns
# the StatefulSet of k8s/overlays/minikube into what its controller would
# create (a PersistentVolumeClaim and a Pod per replica), plays them with
# `podman kube play`, and checks through nginx in each pod what the README
# promises:
#   the HTTP table (/cluster: this pod alone, podman has no headless
#   Service); what counts and what does not; independent per-pod
#   counts; `cat /data/visits` in the default container equals /visits;
#   nslookup there resolves through the C library (the search list);
#   a pod deleted and played again keeps its count; the program killed
#   (SIGKILL) is restarted and keeps its count; a hung program fails its
#   liveness check (`podman healthcheck run`), is restarted, and is healthy
#   after, while nginx stays healthy; a liveness kill of the program the
#   way the kubelet does it (its preStop hook, SIGTERM, a new container)
#   has it ready again within seconds, timed; stopping a pod the way the
#   kubelet does (preStop hooks, then the stop signals) under load gives no
#   5xx, drains nginx before the program (timed), and loses no
#   acknowledged visit; the containers run as the pod's
#   non-root user with no capabilities and cannot write their root
#   filesystem; scaled to 5, the new pods count from 0 on new volumes,
#   and scaled down and up again they get their volumes and counts back.
#
# Needs root, and podman, runc and debootstrap (./dev test-pod installs
# them: dev's DEPS_POD).  Makes the base image when missing
# (tests/pod/setup.sh; cached).  Pods, volumes and ports are this run's
# own (names and image tags prefixed, ports free on 127.0.0.1) and removed
# at the end; the images' layers stay, as a cache.
#
# Prints TAP; exit status 0 only if all passed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-pod.XXXXXX")
prefix="vpt$$-"
t_start=$(date +%s)

# shellcheck source=../k8s/result.sh
. "$top/tests/k8s/result.sh"
# check DESCRIPTION: ok when the problems collected in $problems are none
problems=()
problem() { problems+=("$*"); }
check() { # check DESCRIPTION [DIAGNOSTIC...]
	if [ ${#problems[@]} -eq 0 ]; then
		result ok "$@"
	else
		result not-ok "$1" "${problems[@]}" "${@:2}"
	fi
	problems=()
}
note() { echo "# $*"; }

cleanup() {
	local p
	for p in "${load_pids[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	if command -v podman >/dev/null; then
		for p in $(podman pod ls --format '{{.Name}}' 2>/dev/null |
		    grep "^$prefix"); do
			podman pod rm -f -t 0 "$p" >/dev/null 2>&1
		done
		for p in $(podman volume ls --format '{{.Name}}' 2>/dev/null |
		    grep "^$prefix"); do
			podman volume rm -f "$p" >/dev/null 2>&1
		done
		for p in ${IMAGES:-}; do # this run's tags; the layers stay
			podman untag "$p" "$p" >/dev/null 2>&1
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

finish() {
	note "pod test took $(($(date +%s) - t_start)) s"
	done_testing
	exit
}

# podman's complaints about the missing systemd (healthcheck timers) go to
# a log, not to the TAP stream.
pm() { podman "$@" 2>>"$tmp/podman.log"; }

# --- setup: podman, base image, npm packages -------------------------------
if [ "$(id -u)" != 0 ]; then
	result not-ok "running as root" "podman kube play with volumes needs root here"
	finish
fi
t0=$(date +%s)
if out=$("$here/setup.sh" 2>&1); then
	result ok "podman and the base image ready ($(($(date +%s) - t0)) s)" "$out"
else
	result not-ok "podman and the base image ready" "$out"
	finish
fi
export CONTAINERS_CONF
CONTAINERS_CONF=$("$here/setup.sh" --print-conf)
if ! out=$("$top/tests/k8s/npm-ci.sh" 2>&1); then
	result not-ok "npm ci (tests/k8s)" "$out"
	finish
fi

# Pods, volumes and image tags left by earlier runs that were killed
# (their shell is gone): removed, so that they hold no ports or disk.
for name in $(podman pod ls --format '{{.Name}}' 2>/dev/null;
    podman volume ls --format '{{.Name}}' 2>/dev/null); do
	[[ $name =~ ^vpt([0-9]+)- ]] || continue
	kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
	pm pod rm -f -t 0 "$name" >/dev/null 2>&1 || pm volume rm -f "$name" >/dev/null 2>&1
done
for name in $(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null); do
	[[ $name =~ -vpt([0-9]+)$ ]] || continue
	kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
	pm untag "$name" "$name" >/dev/null 2>&1
done

# --- the StatefulSet as Pods and PVCs ----------------------------------------
if ! kubectl kustomize "$top/k8s/overlays/minikube" >"$tmp/rendered.yaml" 2>"$tmp/err"; then
	result not-ok "kubectl kustomize k8s/overlays/minikube" "$(cat "$tmp/err")"
	finish
fi
# Free loopback ports, one per pod: the StatefulSet's replicas, and two
# more for the scale-up to 5.
SCALED=5
ports=$(node -e '
const net = require("net");
const n = Number(process.argv[1]), got = [], socks = [];
(function next() {
  if (got.length === n) { socks.forEach((s) => s.close());
    console.log(got.join(" ")); return; }
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    got.push(s.address().port); socks.push(s); next(); });
})();' $SCALED)
# shellcheck disable=SC2086
if ! node "$here/sts-to-pods.mjs" "$tmp/rendered.yaml" "$tmp" "$prefix" $ports \
    2>"$tmp/err"; then
	result not-ok "StatefulSet turned into Pods and PVCs" "$(cat "$tmp/err")"
	finish
fi
# shellcheck disable=SC1091
. "$tmp/facts.env"
read -r -a port <<<"$ports"
result ok "StatefulSet $STS_NAME turned into $REPLICAS Pods and PVCs" \
    "containers: $CONTAINERS (default: $DEFAULT_CONTAINER); ports: $ports"

# --- images --------------------------------------------------------------------
for img in $IMAGES; do
	case $img in
	*visits-fcgi:*) file=fcgi/Containerfile ;;
	*visits-nginx:*) file=nginx/Containerfile ;;
	*) result not-ok "image $img" "no Containerfile for it"; continue ;;
	esac
	t0=$(date +%s)
	if pm build --pull=never --layers -t "$img" -f "$top/$file" "$top" \
	    >"$tmp/build.log" 2>&1; then
		size=$(podman image inspect -f '{{.Size}}' "$img")
		result ok "build $img from $file ($(($(date +%s) - t0)) s, $((size / 1000000)) MB)"
	else
		result not-ok "build $img from $file" "$(tail -30 "$tmp/build.log")"
		finish
	fi
done

# --- helpers ---------------------------------------------------------------------
pod() { echo "${prefix}${STS_NAME}-$1"; }           # podman pod name
ctr() { echo "$(pod "$1")-$2"; }                      # podman container name
hpid() { podman inspect -f '{{.State.Pid}}' "$(ctr "$1" "$2")" 2>/dev/null; }

# req I METHOD PATH: request to pod I through nginx; sets code, ctype, body,
# size (of the body received) and the header file $tmp/h
req() {
	local i=$1 method=$2 path=$3 how
	how=(-X "$method")
	[ "$method" = HEAD ] && how=(--head)
	local out
	out=$(curl -s --max-time 15 "${how[@]}" -D "$tmp/h" -o "$tmp/b" \
	    -w '%{http_code} %{size_download}' "http://127.0.0.1:${port[$i]}$path")
	code=${out% *} size=${out#* }
	ctype=$(header Content-Type)
	body=$(cat "$tmp/b")
}
header() { sed -n "s/^$1: *//Ip" "$tmp/h" | tr -d '\r' | head -1; }
visits() { # visits I: the count that /visits of pod I reports
	req "$1" GET /visits
	sed -n 's/^{"visits":\([0-9]*\)}$/\1/p' <<<"$body"
}
# wait_ready I [SECONDS]: until /readyz of pod I answers 200
wait_ready() {
	local i=$1 deadline=$(($(date +%s) + ${2:-60}))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		[ "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' \
		    "http://127.0.0.1:${port[$i]}/readyz")" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}
play() { # play I: podman kube play of pod I, then wait until ready
	pm kube play "$tmp/pod-$1.yaml" >/dev/null && wait_ready "$1"
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); } # ms since a date +%s%N
moscow_now() { date -u -d '+3 hours' +%H:%M:%S; } # Moscow: UTC+3, no DST
secs() { IFS=: read -r h m s <<<"$1"; echo $((10#$h * 3600 + 10#$m * 60 + 10#$s)); }

# --- the pods -----------------------------------------------------------------------
# Like the controller: a pod's claims are made once, with the pod.
t0=$(date +%s)
for i in $(seq 0 $((REPLICAS - 1))); do
	pm kube play "$tmp/pvc-$i.yaml" >/dev/null ||
	    problem "kube play pvc-$i: $(tail -3 "$tmp/podman.log")"
	pm kube play "$tmp/pod-$i.yaml" >/dev/null ||
	    problem "kube play pod-$i: $(tail -3 "$tmp/podman.log")"
done
for i in $(seq 0 $((REPLICAS - 1))); do
	wait_ready "$i" 60 || problem "$(pod "$i") not ready on port ${port[$i]}" \
	    "$(podman logs "$(ctr "$i" "$DEFAULT_CONTAINER")" 2>&1 | tail -5)"
	for c in $CONTAINERS; do
		st=$(podman inspect -f '{{.State.Status}}' "$(ctr "$i" "$c")" 2>&1)
		[ "$st" = running ] || problem "$(ctr "$i" "$c"): $st"
	done
done
check "$REPLICAS pods played, every container running, /readyz 200 ($(($(date +%s) - t0)) s)"
[ "$tap_failed" -eq 0 ] || finish

# --- the README's HTTP table, in every pod ---------------------------------------------
hms='[0-2][0-9]:[0-5][0-9]:[0-5][0-9]'
for i in $(seq 0 $((REPLICAS - 1))); do
	host="$STS_NAME-$i"
	dyn() { # the headers of every program answer
		[ "$(header Cache-Control)" = no-store ] ||
		    problem "$1: Cache-Control '$(header Cache-Control)'"
		[ "$(header X-Served-By)" = "$host" ] ||
		    problem "$1: X-Served-By '$(header X-Served-By)', not $host"
	}
	req "$i" GET /
	[ "$code" = 200 ] || problem "GET / $code"
	[[ $ctype == text/html* ]] || problem "GET / Content-Type $ctype"
	grep -q "$host" <<<"$body" || problem "GET / page does not name $host"
	grep -q "$hms" <<<"$body" || problem "GET / page has no HH:MM:SS time"
	dyn "GET /"
	check "$host: GET / is a page with the time and the pod's name"

	req "$i" GET /time
	now=$(moscow_now)
	[ "$code" = 200 ] || problem "GET /time $code"
	[ "$ctype" = application/json ] || problem "GET /time Content-Type $ctype"
	if [[ $body =~ ^\{\"time\":\"($hms)\"\}$ ]]; then
		d=$(($(secs "$now") - $(secs "${BASH_REMATCH[1]}")))
		d=$(((d + 86400 + 43200) % 86400 - 43200))
		[ "${d#-}" -le 5 ] ||
		    problem "time ${BASH_REMATCH[1]} is not Moscow's ($now)"
	else
		problem "GET /time body '$body'"
	fi
	dyn "GET /time"
	check "$host: GET /time is {\"time\":\"HH:MM:SS\"} in Moscow time"

	req "$i" GET /visits
	[ "$code" = 200 ] && [ "$ctype" = application/json ] &&
	    [[ $body =~ ^\{\"visits\":[0-9]+\}$ ]] ||
	    problem "GET /visits: $code $ctype '$body'"
	dyn "GET /visits"
	check "$host: GET /visits is {\"visits\":N}"

	for p in /healthz /readyz; do
		req "$i" GET $p
		[ "$code" = 200 ] && [ "$ctype" = application/json ] ||
		    problem "GET $p: $code $ctype '$body'"
		dyn "GET $p"
	done
	req "$i" GET /nginx-healthz
	[ "$code" = 200 ] && [ "$body" = '{"status":"ok"}' ] ||
	    problem "GET /nginx-healthz: $code '$body'"
	check "$host: /healthz, /readyz and nginx's /nginx-healthz answer 200"

	v=$(visits "$i")
	req "$i" GET /metrics
	m=$(sed -n 's/^visits_total \([0-9]*\)$/\1/p' <<<"$body")
	[ "$code" = 200 ] && [[ $ctype == text/plain* ]] ||
	    problem "GET /metrics: $code $ctype"
	[ "$m" = "$v" ] || problem "visits_total '$m', /visits $v"
	check "$host: GET /metrics is Prometheus text; visits_total equals /visits"

	# podman plays no headless Service: the name does not resolve here
	# (tests/cluster has the other pods), and the view is this pod alone.
	req "$i" GET /cluster
	[ "$code" = 200 ] && [ "$ctype" = application/json ] ||
	    problem "GET /cluster: $code $ctype"
	[[ $body == "{\"served_by\":\"$host\",\"pods\":["*"{\"name\":\"$host\",\"visits\":$v}"* ]] ||
	    problem "GET /cluster does not list $host with its count $v: $body"
	dyn "GET /cluster"
	check "$host: GET /cluster lists this pod with its count" "$body"

	for p in / /time /visits; do
		req "$i" GET $p
		get_ctype=$ctype
		req "$i" HEAD $p
		[ "$code" = 200 ] && [ "$ctype" = "$get_ctype" ] && [ "$size" = 0 ] ||
		    problem "HEAD $p: $code '$ctype' (GET: '$get_ctype'), body $size bytes"
	done
	check "$host: HEAD gives the headers of GET and no body"

	req "$i" GET /nope
	[ "$code" = 404 ] && [ "$ctype" = application/json ] &&
	    [ "$body" = '{"error":"not found"}' ] ||
	    problem "GET /nope: $code $ctype '$body'"
	for m in POST PUT DELETE; do
		req "$i" $m /time
		[ "$code" = 405 ] && [ "$(header Allow)" = "GET, HEAD" ] ||
		    problem "$m /time: $code Allow '$(header Allow)'"
	done
	check "$host: other paths 404 JSON, other methods 405 with Allow: GET, HEAD"

	before=$(visits "$i")
	for p in / /time /time?x=1 /?a=b; do req "$i" GET "$p"; done
	for p in /visits /healthz /readyz /metrics /nginx-healthz /nope /timex; do
		req "$i" GET "$p"
	done
	req "$i" HEAD /
	req "$i" HEAD /time
	req "$i" POST /
	after=$(visits "$i")
	[ "$after" = $((before + 4)) ] ||
	    problem "count $before -> $after after 4 visits and 10 other requests"
	check "$host: only GET / and GET /time count (query strings ignored)"
done

# --- independent counts; the file on the volume ---------------------------------------
for i in $(seq 0 $((REPLICAS - 1))); do
	v0[i]=$(visits "$i")
	for _ in $(seq 1 $((i * 2 + 1))); do req "$i" GET /time; done
done
for i in $(seq 0 $((REPLICAS - 1))); do
	v=$(visits "$i")
	[ "$v" = $((v0[i] + i * 2 + 1)) ] ||
	    problem "$STS_NAME-$i: ${v0[i]} -> $v after $((i * 2 + 1)) visits"
done
check "each pod counts its own visits (1, 3, 5 visits: each count rose by its own)"

for i in $(seq 0 $((REPLICAS - 1))); do
	v=$(visits "$i")
	f=$(podman exec "$(ctr "$i" "$DEFAULT_CONTAINER")" cat /data/visits 2>&1)
	[ "$f" = "$v" ] || problem "$STS_NAME-$i: cat /data/visits '$f', /visits $v"
done
check "exec cat /data/visits in the default container equals /visits, in every pod"

out=$(podman exec "$(ctr 0 "$DEFAULT_CONTAINER")" sh -c \
    'for c in sh cat nslookup; do command -v $c || echo "no $c"; done' 2>&1)
grep -q '^no ' <<<"$out" && problem "$out"
check "the default container has sh, cat and nslookup" "$out"

# nslookup asks the C library, as `nslookup visits-1.visits-headless` in a
# cluster needs (the pod's search list); busybox's own DNS client would
# ask the name server for the bare name.  The pod's own name is in its
# /etc/hosts, which only the C library reads.
out=$(podman exec "$(ctr 0 "$DEFAULT_CONTAINER")" nslookup "$STS_NAME-0" 2>&1) ||
    problem "nslookup $STS_NAME-0 failed"
grep -q "^Name: *$STS_NAME-0\$" <<<"$out" || problem "no 'Name: $STS_NAME-0' line"
check "nslookup resolves through the C library: nslookup $STS_NAME-0 in the pod" "$out"

# --- users, capabilities, read-only roots ---------------------------------------------
for c in $CONTAINERS; do
	name=$(ctr 0 "$c")
	p=$(hpid 0 "$c")
	st=$(cat "/proc/$p/status" 2>/dev/null)
	uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$st")
	[ "$uids" = "$RUN_AS_USER $RUN_AS_USER $RUN_AS_USER $RUN_AS_USER" ] ||
	    problem "$c: pid $p Uid (real, effective, saved, fs): $uids"
	[ "$(awk '/^CapEff:/ {print $2}' <<<"$st")" = 0000000000000000 ] ||
	    problem "$c: CapEff $(awk '/^CapEff:/ {print $2}' <<<"$st")"
	[ "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$st")" = 1 ] ||
	    problem "$c: NoNewPrivs is not set"
	[ "$(awk '/^Seccomp:/ {print $2}' <<<"$st")" = 2 ] ||
	    problem "$c: no seccomp filter"
	others=$(podman top "$name" huser 2>/dev/null | tail -n +2 | sort -u | tr '\n' ' ')
	[ "$others" = "$RUN_AS_USER " ] || problem "$c: processes run as uids $others"
done
check "every process runs as uid $RUN_AS_USER, no capabilities, no_new_privs, seccomp"

for c in $CONTAINERS; do
	for f in /rootfs-write-test /etc/rootfs-write-test /bin/rootfs-write-test; do
		out=$(podman exec "$(ctr 0 "$c")" sh -c "echo x > $f" 2>&1) &&
		    problem "$c: wrote $f"
		grep -q 'Read-only file system' <<<"$out" ||
		    problem "$c: $f: '$out' (expected: Read-only file system)"
	done
done
out=$(podman exec "$(ctr 0 "$DEFAULT_CONTAINER")" sh -c \
    'echo x > /data/.write-test && rm /data/.write-test' 2>&1) ||
    problem "$DEFAULT_CONTAINER cannot write its volume /data: $out"
out=$(podman exec "$(ctr 0 "$WEB_CONTAINER")" sh -c \
    'echo x > /tmp/nginx/.write-test && rm /tmp/nginx/.write-test' 2>&1) ||
    problem "$WEB_CONTAINER cannot write /tmp/nginx: $out"
check "root filesystems are read-only; /data and /tmp/nginx are writable"

# --- a pod deleted and played again keeps its count -----------------------------------
i=1
v=$(visits $i)
pm pod rm -f "$(pod $i)" >/dev/null || problem "pod rm: $(tail -2 "$tmp/podman.log")"
podman pod exists "$(pod $i)" && problem "$(pod $i) still exists"
for e in $EMPTYDIRS; do # an emptyDir goes with its pod (podman: already)
	if podman volume exists "$(pod $i)-$e"; then
		pm volume rm "$(pod $i)-$e" >/dev/null || problem "volume rm $(pod $i)-$e"
	fi
done
play $i || problem "$(pod $i) not ready after kube play"
v2=$(visits $i)
[ "$v2" = "$v" ] || problem "count $v before, $v2 after"
req $i GET /time
[ "$(visits $i)" = $((v + 1)) ] || problem "does not count after: $(visits $i)"
check "a pod deleted and played again keeps its count ($v) and counts on"

# --- the program killed is restarted and keeps its count ------------------------------
i=0
v=$(visits $i)
p=$(hpid $i "$DEFAULT_CONTAINER")
r=$(podman inspect -f '{{.RestartCount}}' "$(ctr $i "$DEFAULT_CONTAINER")")
kill -KILL "$p"
t0=$(date +%s)
while p2=$(hpid $i "$DEFAULT_CONTAINER"); [ "$p2" = "$p" ] || [ "${p2:-0}" = 0 ]; do
	[ $(($(date +%s) - t0)) -gt 30 ] && break
	sleep 0.2
done
wait_ready $i 30 || problem "not ready again"
r2=$(podman inspect -f '{{.RestartCount}}' "$(ctr $i "$DEFAULT_CONTAINER")")
[ "$p2" != "$p" ] && [ "${p2:-0}" != 0 ] || problem "pid $p -> '$p2'"
[ "$r2" = $((r + 1)) ] || problem "restart count $r -> $r2"
[ "$(visits $i)" = "$v" ] || problem "count $v -> $(visits $i)"
check "the program killed (SIGKILL) is restarted, keeps its count ($v)" \
    "pid $p -> $p2, restarts $r -> $r2, $(($(date +%s) - t0)) s"

# --- liveness: a hung program fails `podman healthcheck run`, is restarted -----------
i=0
prog=$(ctr $i "$DEFAULT_CONTAINER")
web=$(ctr $i "$WEB_CONTAINER")
v=$(visits $i)
pm healthcheck run "$prog" >/dev/null || problem "program unhealthy at first"
pm healthcheck run "$web" >/dev/null || problem "nginx unhealthy at first"
retries=$(podman inspect -f '{{.Config.Healthcheck.Retries}}' "$prog")
p=$(hpid $i "$DEFAULT_CONTAINER")
kill -STOP "$p"
t0=$(date +%s)
for k in $(seq 1 "$retries"); do
	if pm healthcheck run "$prog" >/dev/null; then
		problem "check $k of the stopped program: healthy"
	fi
	pm healthcheck run "$web" >/dev/null ||
	    problem "nginx unhealthy while the program is stopped"
	note "check $k: $(podman inspect -f '{{.State.Health.Status}}, failing streak {{.State.Health.FailingStreak}}' "$prog" 2>/dev/null)"
done
check "a stopped (SIGSTOP) program fails $retries liveness checks in a row; nginx stays healthy"
# podman acts on the failed liveness check like the kubelet: it restarts
# the container.
while p2=$(hpid $i "$DEFAULT_CONTAINER"); [ "$p2" = "$p" ] || [ "${p2:-0}" = 0 ]; do
	[ $(($(date +%s) - t0)) -gt 90 ] && break
	sleep 0.5
done
wait_ready $i 30 || problem "not ready again"
[ "$p2" != "$p" ] || { problem "not restarted"; kill -CONT "$p"; }
pm healthcheck run "$prog" >/dev/null || problem "program unhealthy after"
st=$(podman inspect -f '{{.State.Health.Status}}' "$prog")
[ "$st" = healthy ] || problem "health status $st"
[ "$(visits $i)" = "$v" ] || problem "count $v -> $(visits $i)"
check "after the failed checks the program is restarted and healthy again, count kept" \
    "$(($(date +%s) - t0)) s from SIGSTOP to healthy"

# --- a liveness kill, the way the kubelet does it --------------------------------------
# The kubelet runs the preStop hook of a container it kills for a failed
# liveness or startup probe too, then its stop signal, then starts a new
# one.  nginx is not stopping then: the program's hook must not wait for
# it.
i=0
prog=$(ctr $i "$DEFAULT_CONTAINER")
v=$(visits $i)
mapfile -d '' -t hook <"$tmp/prestop-$DEFAULT_CONTAINER"
t0=$(date +%s%N)
pm exec "$prog" "${hook[@]}" >/dev/null || problem "the preStop hook failed"
t_hook=$(ms_since "$t0")
pm stop -t "$GRACE" "$prog" >/dev/null || problem "podman stop failed"
t_stop=$(ms_since "$t0")
ec=$(podman inspect -f '{{.State.ExitCode}}' "$prog")
pm start "$prog" >/dev/null || problem "podman start failed"
wait_ready $i 30 || problem "not ready again"
t_ready=$(ms_since "$t0")
[ "$ec" = 0 ] || problem "the program exited with $ec"
[ "$t_hook" -le 3000 ] ||
    problem "its preStop hook took $t_hook ms: it waited for nginx"
[ "$t_ready" -le 10000 ] || problem "ready again only after $t_ready ms"
[ "$(visits $i)" = "$v" ] || problem "count $v -> $(visits $i)"
check "a liveness kill of the program (preStop hook, SIGTERM, new container): ready again in $((t_ready / 1000)) s, count kept" \
    "hook $t_hook ms, program stopped at $t_stop ms, ready at $t_ready ms"

# --- stopping a pod under load: no 5xx, no acknowledged visit lost --------------------
i=2
v=$(visits $i)
load() { # load FILE: GET /time until $tmp/stop-load exists (60 s at most)
	local end=$(($(date +%s) + 60))
	while [ ! -e "$tmp/stop-load" ] && [ "$(date +%s)" -lt $end ]; do
		curl -s -o /dev/null --max-time 15 -w '%{http_code}\n' \
		    "http://127.0.0.1:${port[$i]}/time" >>"$1"
	done
}
rm -f "$tmp/stop-load" "$tmp"/load-*
load_pids=()
for k in 1 2 3 4; do
	load "$tmp/load-$k" &
	load_pids+=($!)
done
sleep 2
# What the kubelet does: each container's preStop hook, then its stop
# signal (nginx: SIGQUIT from its image, the program: SIGTERM), all
# containers at once, within the grace period.
t0=$(date +%s)
t0n=$(date +%s%N)
for c in $CONTAINERS; do
	(
		if [ -f "$tmp/prestop-$c" ]; then
			mapfile -d '' -t hook <"$tmp/prestop-$c"
			pm exec "$(ctr $i "$c")" "${hook[@]}" >/dev/null
		fi
		date +%s%N >"$tmp/hook-end-$c"
		pm stop -t "$GRACE" "$(ctr $i "$c")" >/dev/null
	) &
done
wait_stop=$(($(date +%s) + GRACE + 10))
while [ "$(date +%s)" -lt $wait_stop ]; do
	running=0
	for c in $CONTAINERS; do
		[ "$(podman inspect -f '{{.State.Status}}' "$(ctr $i "$c")")" = running ] &&
		    running=1
	done
	[ $running = 0 ] && break
	sleep 0.2
done
t_stop=$(($(date +%s) - t0))
sleep 1
touch "$tmp/stop-load"
wait "${load_pids[@]}"
load_pids=()
total=$(cat "$tmp"/load-* | wc -l)
ok=$(cat "$tmp"/load-* | grep -c '^200$')
bad=$(cat "$tmp"/load-* | grep -c '^5')
codes=$(cat "$tmp"/load-* | sort | uniq -c | tr -s ' \n' ' ')
[ "$running" = 0 ] || problem "containers still running after ${t_stop} s"
[ "$bad" = 0 ] || problem "$bad answers 5xx"
[ "$ok" -gt 0 ] || problem "no request answered"
for c in $CONTAINERS; do
	ec=$(podman inspect -f '{{.State.ExitCode}}' "$(ctr $i "$c")")
	[ "$ec" = 0 ] || problem "$c exited with $ec"
done
# The drain order: nginx is gone before the program stops.
end_web=$(podman inspect -f '{{.State.FinishedAt.UnixNano}}' "$(ctr $i "$WEB_CONTAINER")")
end_prog=$(podman inspect -f '{{.State.FinishedAt.UnixNano}}' "$(ctr $i "$DEFAULT_CONTAINER")")
[ "$end_web" -lt "$end_prog" ] ||
    problem "the program stopped before nginx ($end_prog <= $end_web)"
check "a pod stopped like the kubelet does, under load: no 5xx, nginx exits before the program, both exit 0" \
    "$total requests: $codes(000: refused after nginx closed); stopped in $t_stop s"
# When: the program's hook waited for nginx (past nginx's own hook), and
# nginx was gone before the program's stop signal.
at() { echo "$((($1 - t0n) / 1000000))"; } # ms after the stop began
hook_web=$(at "$(cat "$tmp/hook-end-$WEB_CONTAINER")")
hook_prog=$(at "$(cat "$tmp/hook-end-$DEFAULT_CONTAINER")")
[ "$hook_prog" -gt "$hook_web" ] ||
    problem "the program's hook ended at $hook_prog ms, before nginx's ($hook_web ms)"
[ "$hook_prog" -ge "$(at "$end_web")" ] ||
    problem "the program's hook ended at $hook_prog ms, nginx exited at $(at "$end_web") ms"
check "a pod deletion drains nginx first: the program's hook waits until nginx has exited" \
    "nginx: hook done $hook_web ms, exited $(at "$end_web") ms; program: hook done $hook_prog ms, exited $(at "$end_prog") ms"
pm pod start "$(pod $i)" >/dev/null || problem "pod start: $(tail -2 "$tmp/podman.log")"
wait_ready $i 60 || problem "not ready again"
v2=$(visits $i)
[ "$v2" = $((v + ok)) ] || problem "count $v + $ok answered visits = $((v + ok)), but $v2"
check "every answered visit was counted, none twice ($v + $ok = $v2)"

# --- kubectl scale sts --replicas=5, back to 3, and to 5 again ---------------------
for i in $(seq 0 $((REPLICAS - 1))); do v0[i]=$(visits "$i"); done
for i in $(seq "$REPLICAS" $((SCALED - 1))); do
	pm kube play "$tmp/pvc-$i.yaml" >/dev/null &&
	    pm kube play "$tmp/pod-$i.yaml" >/dev/null && wait_ready "$i" ||
	    problem "$(pod "$i") not ready: $(tail -3 "$tmp/podman.log")"
	[ "$(visits "$i")" = 0 ] || problem "new $STS_NAME-$i counts from $(visits "$i")"
	req "$i" GET /time
	[ "$(header X-Served-By)" = "$STS_NAME-$i" ] ||
	    problem "X-Served-By '$(header X-Served-By)'"
	for _ in $(seq 1 "$i"); do req "$i" GET /time; done
	v0[i]=$(visits "$i")
done
for i in $(seq 0 $((REPLICAS - 1))); do
	[ "$(visits "$i")" = "${v0[i]}" ] || problem "$STS_NAME-$i changed"
done
check "scaled to $SCALED: new pods with new volumes count from 0, the others keep theirs"
for i in $(seq "$REPLICAS" $((SCALED - 1))); do
	pm pod rm -f "$(pod "$i")" >/dev/null
	podman volume exists "${prefix}data-$STS_NAME-$i" ||
	    problem "volume of $STS_NAME-$i gone with the pod"
done
for i in $(seq "$REPLICAS" $((SCALED - 1))); do
	play "$i" || problem "$(pod "$i") not ready again"
	[ "$(visits "$i")" = "${v0[i]}" ] ||
	    problem "$STS_NAME-$i: ${v0[i]} before, $(visits "$i") after"
done
check "scaled down to $REPLICAS and up again: the volumes stayed, the counts came back"

finish
