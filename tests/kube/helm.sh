#!/bin/bash
# tests/kube/helm.sh: the chart k8s/chart on the real cluster, as a
# learner uses it.
#
#   1. helm lint --strict, with the defaults, values-minikube.yaml and
#      the optional parts;
#   2. the chart's appVersion is configure.ac's version; k8s/base and
#      k8s/components are what the chart renders (k8s/render
#      --check), and values-minikube.yaml gives the objects of
#      k8s/overlays/minikube (with the components: of the optional parts);
#   3. helm install into a namespace that enforces Pod Security
#      "restricted": the pods are admitted and Ready;
#   4. helm test: its pod finds /visits through the Service and every pod
#      in /cluster;
#   5. helm upgrade to a new tag of the images, under load through the
#      Service: every pod rolled, no answer other than 200, no request
#      unanswered, and each pod's count grew by exactly the visits it
#      acknowledged;
#   6. helm uninstall leaves the claims, and a new install takes them, and
#      the counts, back.
#
# Run on the learner's side of a running cluster, with the app's images
# loaded: `tests/kube/cluster sh tests/kube/helm.sh [CHART]` (CHART:
# another chart directory to install, such as a broken copy; the render
# checks are about k8s/chart).  It makes the new tag with podman and loads
# it with `tests/kube/cluster load` (so the same VISITS_KUBE_NAME), and
# leaves nothing behind in the cluster: its namespace goes at the end.
# Prints TAP; exit status 0 only if all passed.  About 2 minutes.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$top/tests/lib/tap.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../lib/version.sh
. "$top/tests/lib/version.sh"

chart=$(realpath "${1:-$top/k8s/chart}")
minikube=(-f "$chart/values-minikube.yaml")
optional=(--set networkPolicy.enabled=true --set serviceMonitor.enabled=true)
ns=visits-helm
release=visits
# What the chart names the objects for this release (its fullname).
sts=visits
selector=app.kubernetes.io/name=visits,app.kubernetes.io/instance=$release
version=$(visits_version)
# The same images under a new tag, for an upgrade that rolls the pods.
upgrade_tag=$version-upgrade
images=(localhost/visits-fcgi localhost/visits-nginx)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-helm.XXXXXX")
load_pid=

cleanup() {
	[ -z "$load_pid" ] || kill "$load_pid" 2>/dev/null
	kubectl delete namespace "$ns" --ignore-not-found --wait=false \
	    >/dev/null 2>&1
	local img
	# The new tag's name alone: untag without a name would take every
	# name off the image.
	for img in "${images[@]}"; do
		podman untag "$img:$upgrade_tag" "$img:$upgrade_tag" \
		    >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

need helm kubectl podman python3 jq
export CONTAINERS_CONF
CONTAINERS_CONF=$("$top/tests/pod/setup.sh" --print-conf)

# check DESC CMD...: ok when CMD succeeds; its output as diagnostics when
# it does not.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc"
		diag "$(tail -n 40 <<<"$out")"
	fi
}

# count POD: the count in its file, as `kubectl exec POD -- cat /data/visits`.
count() {
	kubectl exec -n "$ns" "$1" -c visits -- cat /data/visits 2>/dev/null ||
		echo "(none)"
}

# counts: "visits-0=N visits-1=N ..." of the pods there should be.
counts() {
	local i out=
	for i in $(seq 0 $((replicas - 1))); do
		out="$out $sts-$i=$(count "$sts-$i")"
	done
	echo "${out# }"
}

# pods_ready: every pod of the release Ready, as many as the replicas.
pods_ready() {
	kubectl wait -n "$ns" --for=condition=Ready pod -l "$selector" \
	    --timeout=60s >/dev/null &&
	    [ "$(kubectl get po -n "$ns" -l "$selector" -o name | wc -l)" = \
	    "$replicas" ]
}

replicas=$(helm show values "$chart" | sed -n 's/^replicaCount: //p')

# --- 1. lint ---------------------------------------------------------------------
# Against the cluster's version: an API it no longer serves is a failure
# (helm lint assumes an old one otherwise).
kube_version=$(kubectl version -o json | jq -r .serverVersion.gitVersion)
check "helm lint --strict --kube-version $kube_version (defaults)" \
    helm lint --strict --kube-version "$kube_version" "$chart"
check "helm lint --strict (values-minikube.yaml, NetworkPolicy, ServiceMonitor)" \
    helm lint --strict --kube-version "$kube_version" "$chart" \
    "${minikube[@]}" "${optional[@]}"

# --- 2. one source ------------------------------------------------------------------
is "$(helm show chart "$chart" | sed -n 's/^appVersion: //p' | tr -d '"')" \
    "$version" "the chart's appVersion, its images' tag, is configure.ac's version"
check "k8s/base and k8s/components are what k8s/chart renders (k8s/render --check)" \
    "$top/k8s/render" --check

# same_as_overlay DESC KUSTOMIZATION-DIR HELM-ARG...: helm template of
# k8s/chart, as kustomize labels it, gives the objects of the overlay.
same_as_overlay() {
	local desc=$1 dir=$2
	shift 2
	helm template "$release" "$top/k8s/chart" --skip-tests \
	    --set managedBy=kustomize "$@" >"$tmp/helm.yaml" &&
	    kubectl kustomize "$dir" >"$tmp/kustomize.yaml" &&
	    check "$desc" "$here/same-objects.py" "$tmp/helm.yaml" \
	    "$tmp/kustomize.yaml" ||
		fail "$desc (helm template or kubectl kustomize failed)"
}
same_as_overlay "values-minikube.yaml gives the objects of k8s/overlays/minikube" \
    "$top/k8s/overlays/minikube" -f "$top/k8s/chart/values-minikube.yaml"
with_components "$tmp/components" minikube
same_as_overlay "... and with the NetworkPolicy and the ServiceMonitor, those of k8s/components" \
    "$tmp/components" -f "$top/k8s/chart/values-minikube.yaml" "${optional[@]}"

# --- 3. install under Pod Security "restricted" ----------------------------------------
kubectl delete namespace "$ns" --ignore-not-found >/dev/null 2>&1
restricted_namespace "$ns"
check "helm install into a namespace enforcing Pod Security restricted" \
    helm install "$release" "$chart" -n "$ns" "${minikube[@]}" --wait \
    --timeout 90s
check "the $replicas pods admitted and Ready" pods_ready
if [ "$tap_failed" != 0 ] && ! pods_ready >/dev/null 2>&1; then
	diag "$(kubectl get events -n "$ns" --field-selector type=Warning \
	    2>&1 | tail -n 5)"
	diag "no release to test further"
	done_testing
	exit
fi

# --- 4. helm test ---------------------------------------------------------------------
# The test pod is deleted when it succeeds, and stays when it fails.
if out=$(helm test "$release" -n "$ns" --hide-notes --timeout 2m 2>&1); then
	pass "helm test: /visits through the Service, /cluster lists every pod"
else
	fail "helm test: /visits through the Service, /cluster lists every pod"
	diag "$(grep -E '^(Phase|Error|[[:space:]]+\*)' <<<"$out")"
	diag "$(kubectl logs -n "$ns" "$sts-test" 2>&1)"
fi

# --- 5. upgrade under load -------------------------------------------------------------
for img in "${images[@]}"; do
	podman tag "$img:$version" "$img:$upgrade_tag"
done
"$top/tests/kube/cluster" load "${images[@]/%/:$upgrade_tag}" \
    >"$tmp/load-images.log" 2>&1 ||
	bail_out "cluster load of the new tag: $(cat "$tmp/load-images.log")"
ip=$(kubectl get svc -n "$ns" "$sts" -o jsonpath='{.spec.clusterIP}')
port=$(kubectl get svc -n "$ns" "$sts" -o jsonpath='{.spec.ports[0].port}')
before=$(counts)
python3 "$top/tests/campaign/load.py" --out "$tmp/load.json" \
    --threads 4 --duration 150 "http://$ip:$port/" &
load_pid=$!
sleep 2
t0=$SECONDS
check "helm upgrade to the images tagged $upgrade_tag, under load" \
    helm upgrade "$release" "$chart" -n "$ns" "${minikube[@]}" \
    --set "images.fcgi.tag=$upgrade_tag" \
    --set "images.nginx.tag=$upgrade_tag" --wait --timeout 150s
roll=$((SECONDS - t0))
sleep 2
kill "$load_pid"
wait "$load_pid"
load_pid=
rolled() {
	local got want
	want=$(printf "%s:$upgrade_tag %s:$upgrade_tag\n" "${images[@]}")
	want=$(for i in $(seq 1 "$replicas"); do echo "$want"; done)
	got=$(kubectl get po -n "$ns" -l "$selector" -o \
	    jsonpath='{range .items[*]}{.spec.containers[*].image}{"\n"}{end}')
	[ "$got" = "$want" ] || { echo "images: $got"; return 1; }
	kubectl rollout status -n "$ns" "sts/$sts" --timeout=10s
}
check "every pod rolled to the new images, Ready (in $roll s)" rolled
diag "load: $(jq -c '{requests, acked, acked_by, no_answer, incomplete,
    unexpected, bad_body, status, max_seconds}' "$tmp/load.json")"
is "$(jq '.unexpected + .bad_body' "$tmp/load.json")" 0 \
    "no answer other than a well-formed 200 during the upgrade (no 5xx)"
is "$(jq '.no_answer + .incomplete' "$tmp/load.json")" 0 \
    "every request answered in full during the upgrade"
after=$(counts)
want=$(jq -r --arg before "$before" '
    .acked_by as $acked
    | ($before | split(" ") | map(split("=") | {(.[0]): (.[1] | tonumber)})
       | add) as $b
    | [$b | keys[] as $p | "\($p)=\($b[$p] + ($acked[$p] // 0))"]
    | join(" ")' "$tmp/load.json")
is "$after" "$want" \
    "each pod's count grew by the visits it acknowledged (before: $before)"
[ "$(jq .acked "$tmp/load.json")" -gt 0 ]
ok $? "visits were acknowledged under load"

# --- 6. uninstall, install again ----------------------------------------------------------
check "helm uninstall" helm uninstall "$release" -n "$ns" --wait --timeout 60s
# The pods go after the StatefulSet, and with them whatever would delete
# the claims.
kubectl wait -n "$ns" --for=delete pod -l "$selector" --timeout=60s \
    >/dev/null 2>&1
claims() {
	kubectl get pvc -n "$ns" -o json | jq -r '.items[] | .metadata.name +
	    " " + .status.phase +
	    if .metadata.deletionTimestamp then " (being deleted)" else "" end'
}
want=$(for i in $(seq 0 $((replicas - 1))); do
	echo "data-$sts-$i Bound"; done)
is "$(claims)" "$want" "the claims stay after helm uninstall"
check "helm install again" helm install "$release" "$chart" -n "$ns" \
    "${minikube[@]}" --wait --timeout 90s
is "$(counts)" "$after" "the new install has the counts back"

done_testing
