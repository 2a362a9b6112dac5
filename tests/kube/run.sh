#!/bin/bash
# tests/kube/run.sh: the cluster suite (./dev test-kube, and CI).  On a
# one-node Kubernetes of its own (tests/kube/cluster, named
# $VISITS_KUBE_NAME, default visits-kube-test), brought up here and
# removed at the end:
#   1. the app's images built with podman and loaded into the node (the
#      way minikube image load does);
#   2. the manifests: every overlay and component through the API server's
#      strict validation, and the policy checks (manifests.sh);
#   3. the README's "Kubernetes walkthrough", every command run and its
#      output compared (walkthrough.py);
#   4. what only a real kubelet shows: probes, restarts, readiness,
#      deletion under load, drain, logs, the page (behaviours.sh);
#   5. the Helm chart, installed, tested, upgraded under load and
#      uninstalled (helm.sh);
#   6. nothing left on the machine by down, also after a start that was
#      killed half-way.
#
#   tests/kube/run.sh [--update]
#       --update  record this run's outputs in the README's walkthrough
#                 and its screenshot of the page (doc/page.png)
#
# Needs root and dev's DEPS_KUBE (./dev test-kube installs them).  Prints
# TAP; exit status 0 only if all passed.  Each step says what it does and
# how long it took; logs are under $VISITS_KUBE_STATE (the cluster's state
# directory, kept until the next run).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/tap.sh
. "$top/tests/lib/tap.sh"
# shellcheck source=../lib/version.sh
. "$top/tests/lib/version.sh"
export VISITS_KUBE_NAME=${VISITS_KUBE_NAME:-visits-kube-test}
export VISITS_KUBE_STATE=${VISITS_KUBE_STATE:-$("$here/cluster" state)}
cluster=$here/cluster
update=
[ "${1:-}" = --update ] && update=--update
t_suite=$SECONDS

need podman python3 jq go
[ "$(id -u)" = 0 ] || bail_out "needs root"
# The learner's commands run from the top of the repository.
cd "$top" || bail_out "no $top"

say() {
	echo "# kube: $*"
}

# step NAME CMD...: CMD's output to the state directory's log, its time
# said; status as CMD's.
step() {
	local name=$1 t=$SECONDS log=$VISITS_KUBE_STATE/suite-$1.log status
	shift
	say "$name: $*"
	"$@" >"$log" 2>&1
	status=$?
	say "$name: $((SECONDS - t)) s (log $log)"
	[ $status = 0 ] || diag "$(tail -20 "$log")"
	return $status
}

# What the cluster could leave on the machine, to compare before and
# after: its cgroups and processes, mounts of its state directory, the
# host's firewall rules, CNI's and the runtime's usual places, the
# kernel settings the kubelet changes.
machine_state() {
	local d
	for d in /sys/fs/cgroup/*/"$VISITS_KUBE_NAME"; do
		[ -e "$d" ] && echo "cgroup $d"
	done
	grep -F "$VISITS_KUBE_STATE" /proc/self/mountinfo | sed 's/^/mount /'
	ps -eo pid=,args= | grep -F "$VISITS_KUBE_STATE/" | grep -v grep |
		sed 's/^/process /'
	iptables-save 2>/dev/null | grep -v '^#' | sed 's/^/iptables /'
	ip link show | sed -n 's/^[0-9]*: \([^:@]*\).*/link \1/p'
	for d in /var/lib/cni /run/netns /run/containerd /etc/cni /opt/cni; do
		[ -e "$d" ] && echo "path $d"
	done
	sysctl vm.overcommit_memory vm.panic_on_oom kernel.panic \
	    kernel.panic_on_oops kernel.keys.root_maxkeys \
	    kernel.keys.root_maxbytes
}

# down_leaves_nothing DESC: cluster down, then the machine as it was before.
down_leaves_nothing() {
	"$cluster" down >/dev/null 2>&1
	machine_state >"$VISITS_KUBE_STATE/machine-after"
	diff "$VISITS_KUBE_STATE/machine-before" \
	    "$VISITS_KUBE_STATE/machine-after" >"$VISITS_KUBE_STATE/machine-diff"
	ok $? "$1" || diag "$(cat "$VISITS_KUBE_STATE/machine-diff")"
}

# --- the app's images -------------------------------------------------------------
mkdir -p "$VISITS_KUBE_STATE"
"$cluster" down >/dev/null 2>&1
export CONTAINERS_CONF
CONTAINERS_CONF=$("$top/tests/pod/setup.sh" --print-conf)
version=$(visits_version)
images() {
	"$top/tests/pod/setup.sh" &&
		podman build -t "localhost/visits-fcgi:$version" \
		    -f "$top/fcgi/Containerfile" "$top" &&
		podman build -t "localhost/visits-nginx:$version" \
		    -f "$top/nginx/Containerfile" "$top"
}
step images images
ok $? "the app's images built (podman)" || bail_out "no images (see above)"

# --- the cluster ------------------------------------------------------------------
machine_state >"$VISITS_KUBE_STATE/machine-before"
trap '"$cluster" down >/dev/null 2>&1' EXIT
step build "$cluster" build
ok $? "the cluster's components and add-on images built ($(grep -o 'components built in [0-9]* s' \
    "$VISITS_KUBE_STATE/suite-build.log"))"
t=$SECONDS
step up "$cluster" up
ok $? "cluster up: node Ready, CoreDNS and the provisioner ready, in $((SECONDS - t)) s" ||
	bail_out "no cluster (see above)"
step load "$cluster" load "localhost/visits-fcgi:$version" \
    "localhost/visits-nginx:$version"
ok $? "the app's images loaded into the node" || bail_out "no images (see above)"

# --- the suites, on the learner's side ----------------------------------------------
tap_nest manifests "$cluster" sh "$here/manifests.sh"
t=$SECONDS
tap_nest walkthrough "$cluster" sh python3 "$here/walkthrough.py" \
    $update "$top/README.md"
say "walkthrough: $((SECONDS - t)) s"
t=$SECONDS
screenshot=
[ -n "$update" ] && screenshot=$top/doc/page.png
VISITS_KUBE_SCREENSHOT=$screenshot tap_nest behaviours \
    "$cluster" sh "$here/behaviours.sh"
say "behaviours: $((SECONDS - t)) s"
t=$SECONDS
tap_nest helm "$cluster" sh "$here/helm.sh"
say "helm: $((SECONDS - t)) s"

# --- nothing left behind ---------------------------------------------------------------
down_leaves_nothing "cluster down: no process, cgroup, mount, link, firewall rule, CNI or runtime state or kernel setting left"
# A start killed half-way (here: once the API server is up).
"$cluster" up >"$VISITS_KUBE_STATE/suite-interrupted.log" 2>&1 &
starting=$!
for _ in $(seq 300); do
	grep -q 'kube-controller-manager' "$VISITS_KUBE_STATE/suite-interrupted.log" && break
	sleep 0.2
done
kill -9 "$starting" 2>/dev/null
wait "$starting" 2>/dev/null
down_leaves_nothing "a start killed (SIGKILL) half-way, then down: nothing left either"
trap - EXIT
say "suite: $((SECONDS - t_suite)) s"
done_testing
