#!/bin/bash
# tests/kube/behaviours.sh: what only a real kubelet and control plane
# show of the StatefulSet (k8s/overlays/minikube), in a namespace of its
# own that enforces Pod Security "restricted":
#   the pods admitted and ready there (and a pod that breaks the standard
#   refused); non-root, no capabilities, read-only roots; no probe in
#   `kubectl logs`; a program that hangs fails its liveness check and is
#   restarted alone, serving again within seconds, its count kept; a
#   program killed (SIGKILL) restarted; a read-only counter volume takes
#   the pod out of the Service's EndpointSlice, and back once it is
#   writable; `kubectl delete pod` under load through the Service gives
#   no 5xx, loses no visit, and both containers exit 0 well inside the
#   grace period; `kubectl drain` takes one pod at a time (the
#   PodDisruptionBudget); /cluster and the page's table in Chromium list
#   every pod with its count, through the Service.
#
# Run where the learner's commands reach the cluster:
#   tests/kube/cluster sh tests/kube/behaviours.sh
# with the images loaded (tests/kube/run.sh does both).  The node's side
# (a process to stop or kill, a mount to make read-only) goes through
# `tests/kube/cluster node`.  VISITS_KUBE_SCREENSHOT=FILE: also save the
# page as Chromium shows it through `kubectl port-forward svc/visits`.
#
# Prints TAP; exit status 0 only if all passed.  Each figure is a "# "
# line.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$top/tests/lib/tap.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../lib/version.sh
. "$top/tests/lib/version.sh"
cluster=$here/cluster
ns=visits-restricted
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-behaviours.XXXXXX") ||
	bail_out "no temporary directory"

need kubectl jq python3 curl chromium
cleanup() {
	local p
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null
	done
	kubectl uncordon "$(node_name)" >/dev/null 2>&1
	kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

k() {
	kubectl -n "$ns" "$@"
}

node_name() {
	kubectl get nodes -o jsonpath='{.items[0].metadata.name}'
}

now_ms() {
	date +%s%3N
}

# visits_of POD: its count, as the program says it (through its nginx).
visits_of() {
	k exec "$1" -- wget -qO- localhost:8080/visits 2>/dev/null |
		jq -r .visits
}

# container_field POD CONTAINER JSONPATH-TAIL: one field of its status.
container_field() {
	k get pod "$1" -o jsonpath="{.status.containerStatuses[?(@.name==\"$2\")]$3}" 2>/dev/null
}

# host_pid POD CONTAINER: the container's first process, as the node
# sees it.
host_pid() {
	local id
	id=$(container_field "$1" "$2" .containerID)
	id=${id#containerd://}
	"$cluster" node ctr task ls | awk -v id="$id" '$1 == id { print $2 }'
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s; status 1 on timeout.
wait_until() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

ready() { # ready POD CONTAINER
	[ "$(container_field "$1" "$2" .ready)" = true ]
}

# endpoint_ready POD: "true"/"false" for POD in the Service visits'
# EndpointSlice ("" when it is not listed).
endpoint_ready() {
	k get endpointslices -l kubernetes.io/service-name=visits -o json |
		jq -r --arg pod "$1" '[.items[].endpoints[]? |
		    select(.targetRef.name == $pod) | .conditions.ready] |
		    first // "" | tostring'
}

# --- admitted under Pod Security "restricted" ----------------------------------
restricted_namespace "$ns"
ok $? "namespace $ns enforces Pod Security restricted"
out=$(k run not-restricted --image="localhost/visits-fcgi:$(visits_version)" \
    --restart=Never --dry-run=server 2>&1)
like "$out" 'violates PodSecurity "restricted' \
    "a pod without the restricted settings is refused there"
out=$(k apply -k "$top/k8s/overlays/minikube" 2>&1)
ok $? "kubectl apply -k k8s/overlays/minikube -n $ns" || diag "$out"
start=$(now_ms)
out=$(k rollout status sts/visits --timeout=180s 2>&1)
ok $? "its 3 pods admitted and ready in $(( ($(now_ms) - start) / 1000 )) s" ||
	diag "$out" "$(k get po,pvc,events 2>&1)"

# --- users, capabilities, root filesystems ----------------------------------------
for c in visits nginx; do
	out=$(k exec visits-0 -c "$c" -- sh -c 'id -u; id -g;
	    grep ^CapEff /proc/self/status;
	    touch /probe-of-root 2>&1' 2>&1)
	like "$out" $'^10001\n10001\nCapEff:\t0000000000000000\ntouch: /probe-of-root: Read-only file system' \
	    "container $c: user and group 10001, no capabilities, root read-only"
done

# --- the logs: requests only in nginx's, and no probe ------------------------------
# The readiness probe runs every 5 s, nginx's liveness every 10 s: wait
# for a few of each.
sleep 12
nginx_log=$(k logs visits-0 -c nginx 2>&1)
probes=$(grep -c -e /readyz -e /nginx-healthz -e kube-probe <<<"$nginx_log")
is "$probes" 0 "kubectl logs visits-0 -c nginx: no probe request" ||
	diag "$(grep -m3 -e /readyz -e /nginx-healthz <<<"$nginx_log")"
k exec visits-0 -- wget -qO- localhost:8080/visits >/dev/null
sleep 2 # nginx writes its log at least once a second
like "$(k logs visits-0 -c nginx --since=10s 2>&1)" '"user_agent":"Wget"' \
    "... and a request is there (the control)"
program_log=$(k logs visits-0 -c visits 2>&1)
events=$(jq -r .event <<<"$program_log" 2>&1 | sort -u | tr '\n' ' ')
like "$events" '^(started |store_loaded |store_ready |cluster_[a-z_]* )+$' \
    "kubectl logs visits-0: the program's state changes only, no request ($events)"

# --- /cluster and the page, through the Service ---------------------------------------
# A few visits first, as a learner's (3, 2 and 1), so that the table shows
# each pod with a count of its own.
for p in visits-0 visits-0 visits-0 visits-1 visits-1 visits-2; do
	k exec "$p" -- wget -qO- localhost:8080/time >/dev/null
done
port=8080
k port-forward svc/visits "$port:80" >"$tmp/forward.log" 2>&1 &
wait_until 20 grep -q Forwarding "$tmp/forward.log"
body=$(curl -s "localhost:$port/cluster")
want=""
for p in visits-0 visits-1 visits-2; do
	want="$want $p=$(visits_of $p)"
done
got=$(jq -r '[.pods[] | "\(.name)=\(.visits)"] | " " + join(" ")' <<<"$body")
is "$got" "$want" "GET /cluster through the Service: every pod with its own count"
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic
    --no-first-run --disable-background-networking
    --disable-component-update --disable-sync
    --user-data-dir="$tmp/chrome" --virtual-time-budget=5000)
timeout 60 "${chrome[@]}" --dump-dom "http://localhost:$port/" \
    >"$tmp/dom.html" 2>"$tmp/chrome.log"
rows=$(python3 - "$tmp/dom.html" <<'EOF'
import re, sys
html = open(sys.argv[1]).read()
body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
cells = lambda row: [re.sub(r"<[^>]*>", "", c).strip()
                     for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S) if body else []
print(" ".join(cells(r)[0].split()[0] + "=" + cells(r)[1]
               for r in rows if len(cells(r)) > 1))
EOF
)
# The page's own GET / counted a visit on the pod that served it.
want=""
for p in visits-0 visits-1 visits-2; do
	want="$want $p=$(visits_of $p)"
done
is "$rows" "${want# }" \
    "the page in Chromium, through the Service: a row for every pod, with its count" ||
	diag "$(tail -5 "$tmp/chrome.log")"
if [ -n "${VISITS_KUBE_SCREENSHOT:-}" ]; then
	timeout 60 "${chrome[@]}" --hide-scrollbars --window-size=760,520 \
	    --screenshot="$VISITS_KUBE_SCREENSHOT" "http://localhost:$port/" \
	    >>"$tmp/chrome.log" 2>&1
	ok $? "the page's screenshot: $VISITS_KUBE_SCREENSHOT"
fi

kill %% 2>/dev/null

# --- liveness: a hung program is restarted alone ---------------------------------------
for _ in 1 2 3; do
	k exec visits-1 -- wget -qO- localhost:8080/time >/dev/null
done
before=$(visits_of visits-1)
pid=$(host_pid visits-1 visits)
restarts=$(container_field visits-1 visits .restartCount)
"$cluster" node kill -STOP "$pid"
t0=$(now_ms)
# Three failed checks 10 s apart, then 5 s of grace (the probe's own).
if wait_until 90 sh -c "[ \"\$(kubectl -n $ns get pod visits-1 -o jsonpath='{.status.containerStatuses[?(@.name==\"visits\")].restartCount}')\" -gt $restarts ]"; then
	t_restart=$(now_ms)
	wait_until 30 ready visits-1 visits
	t_ready=$(now_ms)
	killed=$(k get events --field-selector involvedObject.name=visits-1,reason=Killing \
	    -o jsonpath='{.items[-1].message}')
	like "$killed" "Container visits failed liveness probe" \
	    "a stopped (SIGSTOP) program fails its liveness probe and is killed"
	diag "from SIGSTOP: restarted at $(( (t_restart - t0) / 1000 )) s," \
	    "ready again at $(( (t_ready - t0) / 1000 )) s"
	kill_time=$(k get events --field-selector involvedObject.name=visits-1,reason=Killing \
	    -o jsonpath='{.items[-1].lastTimestamp}')
	since_kill=$(( t_ready - $(date -d "$kill_time" +%s%3N) ))
	ok $(( since_kill < 15000 ? 0 : 1 )) \
	    "the new program serves $(( since_kill / 1000 )) s after the kubelet's kill (the probe's 5 s of grace, then a start)"
else
	fail "a stopped (SIGSTOP) program fails its liveness probe and is killed"
	diag "$(k describe pod visits-1 | tail -15)"
fi
is "$(container_field visits-1 nginx .restartCount)" 0 \
    "... nginx, healthy, is not restarted"
is "$(visits_of visits-1)" "$before" "... and the count is kept ($before)"

# --- a killed program is restarted ---------------------------------------------------
before=$(visits_of visits-1)
restarts=$(container_field visits-1 visits .restartCount)
"$cluster" node kill -KILL "$(host_pid visits-1 visits)"
t0=$(now_ms)
if wait_until 60 sh -c "[ \"\$(kubectl -n $ns get pod visits-1 -o jsonpath='{.status.containerStatuses[?(@.name==\"visits\")].restartCount}')\" -gt $restarts ]" &&
    wait_until 60 ready visits-1 visits; then
	pass "a killed (SIGKILL) program is restarted, ready $(( ($(now_ms) - t0) / 1000 )) s after the kill"
else
	fail "a killed (SIGKILL) program is restarted"
fi
is "$(visits_of visits-1)" "$before" "... with its count ($before)"

# --- readiness: a read-only counter volume, and back -----------------------------------
pid=$(host_pid visits-2 visits)
# In the container's mount (and pid: its /proc) namespaces.
"$cluster" node nsenter -t "$pid" -m -p mount -o remount,bind,ro /data
code=$(k exec visits-2 -- wget -qSO- localhost:8080/time 2>&1 |
    sed -n 's/^ *HTTP\/1.1 \([0-9]*\).*/\1/p' | head -1)
is "$code" 503 "read-only /data: a visit of visits-2 is refused (503)"
t0=$(now_ms)
if wait_until 60 sh -c "[ \"\$(kubectl -n $ns get endpointslices -l kubernetes.io/service-name=visits -o json | jq -r '[.items[].endpoints[]? | select(.targetRef.name == \"visits-2\") | .conditions.ready] | first | tostring')\" = false ]"; then
	pass "... visits-2 leaves the Service's EndpointSlice (ready false) in $(( ($(now_ms) - t0) / 1000 )) s"
else
	fail "... visits-2 leaves the Service's EndpointSlice"
	diag "endpoint: $(endpoint_ready visits-2)"
fi
"$cluster" node nsenter -t "$pid" -m -p mount -o remount,bind,rw /data
t0=$(now_ms)
if wait_until 60 sh -c "[ \"\$(kubectl -n $ns get endpointslices -l kubernetes.io/service-name=visits -o json | jq -r '[.items[].endpoints[]? | select(.targetRef.name == \"visits-2\") | .conditions.ready] | first | tostring')\" = true ]"; then
	pass "writable again: visits-2 is back in the EndpointSlice in $(( ($(now_ms) - t0) / 1000 )) s"
else
	fail "writable again: visits-2 is back in the EndpointSlice"
fi
is "$(container_field visits-2 visits .restartCount)" 0 \
    "... without a restart"

# --- kubectl delete pod under load through the Service -------------------------------
node_ip=$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[0].address}')
node_port=$(k get svc visits -o jsonpath='{.spec.ports[0].nodePort}')
sum_visits() {
	local p s=0
	for p in visits-0 visits-1 visits-2; do
		s=$((s + $(visits_of $p)))
	done
	echo $s
}
before=$(sum_visits)
k get pod visits-0 --watch -o json >"$tmp/watch.json" 2>/dev/null &
watcher=$!
python3 "$top/tests/campaign/load.py" --out "$tmp/load.json" \
    "http://$node_ip:$node_port/" --threads 8 --mode count --duration 20 \
    >"$tmp/load.log" 2>&1 &
loader=$!
sleep 4
t0=$(now_ms)
out=$(k delete pod visits-0 2>&1)
status=$?
t_delete=$(( $(now_ms) - t0 ))
wait "$loader"
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
ok $status "kubectl delete pod visits-0 under load: returned in $(( t_delete / 1000 )).$(( t_delete % 1000 / 100 )) s" ||
	diag "$out"
ok $(( t_delete < 20000 ? 0 : 1 )) \
    "... well inside the grace period (terminationGracePeriodSeconds 30)"
read -r sent acked other no_answer <<<"$(jq -r \
    '"\(.requests) \(.acked) \(.count_other) \(.count_no_answer)"' \
    "$tmp/load.json")"
fivexx=$(jq -r '[.status | to_entries[] | select(.key | test(" 5[0-9][0-9]$")) | .value] | add // 0' "$tmp/load.json")
is "$fivexx/$other" "0/0" \
    "... $sent requests through the Service's node port: $acked acknowledged, no 5xx"
# The watch's objects, one after another: each container's terminated
# state, and the order in which they ended.
read -r exits order <<<"$(python3 - "$tmp/watch.json" <<'EOF'
import json, sys
text, dec, pos, last = open(sys.argv[1]).read(), json.JSONDecoder(), 0, {}
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    obj, pos = dec.raw_decode(text, pos)
    for c in obj.get("status", {}).get("containerStatuses", []):
        t = c.get("state", {}).get("terminated")
        if t:
            last[c["name"]] = t
done = {k: last[k]["finishedAt"] for k in last}
print(",".join(f"{k}={last[k]['exitCode']}" for k in sorted(last)),
      "nginx-first" if done.get("nginx", "~") <= done.get("visits", "")
      else "program-first:" + ",".join(f"{k}@{done[k]}" for k in done))
EOF
)"
is "$exits" "nginx=0,visits=0" "... both containers exit 0"
is "$order" "nginx-first" \
    "... nginx ended (drained) no later than the program (to the second)"
wait_until 120 ready visits-0 visits
wait_until 60 ready visits-0 nginx
after=$(sum_visits)
delta=$((after - before))
if [ "$delta" -ge "$acked" ] && [ "$delta" -le $((acked + no_answer)) ]; then
	pass "... no visit lost: the counts rose by $delta ($acked acknowledged, $no_answer unanswered)"
else
	fail "... no visit lost"
	diag "counts rose by $delta; $acked acknowledged, $no_answer unanswered"
fi

# --- drain: one pod at a time ----------------------------------------------------------
node=$(node_name)
min_ready=3
(
	while sleep 0.3; do
		k get sts visits -o jsonpath='{.status.readyReplicas}{"\n"}'
	done
) >"$tmp/ready.log" 2>/dev/null &
sampler=$!
out=$(timeout 60 kubectl drain "$node" --pod-selector app.kubernetes.io/name=visits \
    --delete-emptydir-data --ignore-daemonsets --timeout=30s 2>&1)
drained=$?
kill "$sampler" 2>/dev/null
min_ready=$(sort -n "$tmp/ready.log" | grep . | head -1)
ok $(( drained != 0 ? 0 : 1 )) \
    "kubectl drain of the one node stops at the PodDisruptionBudget"
like "$out" "Cannot evict pod as it would violate the pod's disruption budget" \
    "... which it names"
is "${min_ready:-?}" 2 "... never more than one pod down (ready, at least: ${min_ready:-?})"
kubectl uncordon "$node" >/dev/null
if k rollout status sts/visits --timeout=120s >/dev/null 2>&1; then
	pass "uncordoned: all 3 pods ready again"
else
	fail "uncordoned: all 3 pods ready again"
fi

done_testing
