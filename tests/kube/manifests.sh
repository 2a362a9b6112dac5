#!/bin/bash
# tests/kube/manifests.sh: the manifests on the real API server.
#
#   tests/kube/cluster sh tests/kube/manifests.sh   the test, in the
#                           learner's shell (kubectl of the cluster's
#                           version, KUBECONFIG set)
#   tests/kube/manifests.sh --fetch
#                           outside it, where the Go module proxy is
#                           reached: puts the CRD's module (below) in Go's
#                           module cache (tests/kube/cluster build does)
#
# 1. Every overlay, and the generic one with every component, rendered
#    with `kubectl kustomize`.
# 2. Each render accepted by `kubectl apply --dry-run=server
#    --validate=strict`, with no warning, in a namespace of this run's that
#    enforces and warns Pod Security "restricted" (the server checks the
#    StatefulSet's pod template against it).  The ServiceMonitor needs
#    prometheus-operator's CRD: installed from its module for the run.
# 3. tests/kube/policy.py on what the server returned (-o json): what
#    neither the server nor the running pods show (its header says which
#    checks are where).
# 4. Controls: broken copies of the renders must be refused by the server
#    (an unknown field, a wrong type, also in the ServiceMonitor), warned
#    about (Pod Security), or caught by policy.py, each check by its own.
#
# Prints TAP; exit status 0 only if all passed.  Needs python3 and Go's
# module cache.  The program's defaults: `$VISITS_FCGI --help`, else
# build/fcgi/visits-fcgi (`./dev build` makes it).  Leaves nothing in the
# cluster: the namespace goes, and the CRD too if this run installed it.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

# prometheus-operator's CRD of the ServiceMonitor: its module, the
# version and hash (go.sum's "h1:") pinned, the file in the module.
crd_module=github.com/prometheus-operator/prometheus-operator
crd_version=v0.85.0
crd_sum=h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=
crd_file=example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml

tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-manifests.XXXXXX")
ns=visits-manifests-$$
own_crd=

# crd_module_dir: the module's directory in Go's cache, downloaded when
# $GOPROXY allows; its hash checked against the pin.  Prints the
# directory, or why not on stderr.
crd_module_dir() {
	local json dir sum err
	# Outside any module: the query alone decides the version.
	json=$(cd "$tmp" && GOWORK=off go mod download -json \
	    "$crd_module@$crd_version" 2>"$tmp/go.err")
	{ read -r dir; read -r sum; read -r err; } < <(python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    d = {"Error": " ".join(sys.argv[1].split())}
print(d.get("Dir", "")); print(d.get("Sum", "")); print(d.get("Error", ""))
' "$json")
	if [ -n "$err" ] || [ ! -d "$dir" ]; then
		echo "go mod download $crd_module@$crd_version:" \
		    "${err:-$json}" "$(cat "$tmp/go.err")" >&2
		return 1
	fi
	if [ "$sum" != "$crd_sum" ]; then
		echo "$crd_module@$crd_version has the hash $sum, pinned $crd_sum" >&2
		return 1
	fi
	echo "$dir"
}

if [ "${1-}" = --fetch ]; then
	trap 'rm -rf "$tmp"' EXIT
	crd_module_dir >/dev/null
	exit
fi

# shellcheck source=../lib/tap.sh
. "$top/tests/lib/tap.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
t_start=$SECONDS

cleanup() {
	kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
	if [ -n "$own_crd" ]; then
		kubectl delete -f "$own_crd" --wait=false >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

finish() {
	diag "manifests checked in $((SECONDS - t_start)) s"
	done_testing
	exit
}

# diag_file FILE: its lines as diagnostics, indented.
diag_file() {
	[ -s "$1" ] && diag "$(sed 's/^/  /' "$1")"
}

# --- the cluster, the program's defaults, the CRD --------------------------
# kubectl supports one minor version of skew against the API server.
versions=
if kubectl version -o json >"$tmp/version.json" 2>"$tmp/err" &&
    versions=$(python3 -c '
import json, re, sys
v = json.load(open(sys.argv[1]))
c, s = v["clientVersion"], v["serverVersion"]
print("kubectl", c["gitVersion"], "server", s["gitVersion"])
minor = [int(re.sub(r"\D", "", x["minor"])) for x in (c, s)]
sys.exit(abs(minor[0] - minor[1]) > 1)' "$tmp/version.json")
then
	pass "kubectl reaches the API server, a minor version apart at most ($versions)"
else
	fail "kubectl reaches the API server, a minor version apart at most ($versions)"
	diag_file "$tmp/err"
	finish
fi

# ./dev builds it (test-k8s, test-kube) and says which.
fcgi=${VISITS_FCGI:-$top/build/fcgi/visits-fcgi}
if "$fcgi" --help >"$tmp/help.txt" 2>&1; then
	pass "visits-fcgi --help ($fcgi)"
else
	fail "visits-fcgi --help ($fcgi)"
	diag_file "$tmp/help.txt"
fi

# The learner's shell reaches no module proxy: the module comes from the
# cache, where `--fetch` put it.
if ! dir=$(GOPROXY=off crd_module_dir 2>"$tmp/err"); then
	fail "the ServiceMonitor CRD from $crd_module $crd_version"
	diag_file "$tmp/err"
	diag "  not in Go's module cache: tests/kube/cluster build, or" \
	    "tests/kube/manifests.sh --fetch outside the cluster's shell," \
	    "downloads it"
else
	crd=$dir/$crd_file
	if kubectl get -f "$crd" -o name >/dev/null 2>&1; then
		pass "the ServiceMonitor CRD is there already (not installed from $crd_module $crd_version)"
	elif kubectl create -f "$crd" >/dev/null 2>"$tmp/err" &&
	    own_crd=$crd &&
	    kubectl wait --for=condition=Established -f "$crd" \
	    --timeout=60s >/dev/null 2>>"$tmp/err"; then
		pass "the ServiceMonitor CRD from $crd_module $crd_version installed and established"
	else
		fail "the ServiceMonitor CRD from $crd_module $crd_version installed and established"
		diag_file "$tmp/err"
	fi
fi

if restricted_namespace "$ns" 2>"$tmp/err"; then
	pass "namespace $ns, Pod Security restricted (enforce, warn)"
else
	fail "namespace $ns, Pod Security restricted (enforce, warn)"
	diag_file "$tmp/err"
	finish
fi

# dry_run YAML JSON ERR: the server's answer to applying YAML, its objects
# in JSON, what it said on ERR.
dry_run() {
	kubectl apply -n "$ns" --dry-run=server --validate=strict -o json \
	    -f "$1" >"$2" 2>"$3"
}

# --- render, and apply on the server -----------------------------------------
# Every component, switched on in the generic overlay.
with_components "$tmp/components" generic

renders=()
for dir in "$top"/k8s/overlays/*/ "$tmp/components/"; do
	name=$(basename "$dir")
	if [ "$name" = components ]; then
		what="k8s/overlays/generic + k8s/components/*"
	else
		what=k8s/overlays/$name
	fi
	if ! kubectl kustomize "$dir" >"$tmp/$name.yaml" 2>"$tmp/err"; then
		fail "kubectl kustomize $what"
		diag_file "$tmp/err"
		continue
	fi
	pass "kubectl kustomize $what"
	desc="$what: accepted by the API server (--dry-run=server"
	desc="$desc --validate=strict), every object, no warning"
	if ! dry_run "$tmp/$name.yaml" "$tmp/$name.json" "$tmp/err"; then
		fail "$desc"
		diag_file "$tmp/err"
		continue
	fi
	# The kinds rendered (top-level "kind:" lines), and those the server
	# gave back.
	want=$(sed -n 's/^kind: //p' "$tmp/$name.yaml" | sort | tr '\n' ' ')
	got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for o in d.get("items", [d]) if d.get("kind") == "List" else [d]:
    print(o["kind"])' "$tmp/$name.json" | sort | tr '\n' ' ')
	if [ -s "$tmp/err" ] || [ "$want" != "$got" ]; then
		fail "$desc"
		diag_file "$tmp/err"
		[ "$want" = "$got" ] || diag "  rendered: $want" "  returned: $got"
	else
		pass "$desc"
	fi
	renders+=("$name=$tmp/$name.json")
done

# Each component's objects are in the render that switches them all on.
if [ -f "$tmp/components.yaml" ]; then
	want=$(sed -n 's/^kind: //p' "$top"/k8s/components/*/*.yaml |
	    grep -vx Component | sort | tr '\n' ' ')
	want=${want% }
	missing=
	for k in $want; do
		grep -qx "kind: $k" "$tmp/components.yaml" || missing="$missing $k"
	done
	is "$missing" "" "k8s/components/*: their objects ($want) are rendered"
fi

# --- policy -------------------------------------------------------------------------
# policy.py's checks, numbered into this stream.
[ ${#renders[@]} = 0 ] ||
	tap_nest policy python3 "$here/policy.py" --top "$top" \
	    --help "$tmp/help.txt" "${renders[@]}"

# --- controls: the server and the checks catch a broken manifest -----------------
# break_copy OUT RENDER HOW...: OUT.yaml, RENDER's YAML broken by HOW:
#   sed SCRIPT               a sed script
#   patch KIND NAME JSON     a JSON patch (RFC 6902) of one object, applied
#                            by kustomize (in the directory OUT.k)
# Prints why not, if not.
break_copy() {
	local out=$1 render=$2 how=$3
	shift 3
	case $how in
	sed) sed "$1" "$tmp/$render.yaml" >"$out.yaml" ;;
	patch)
		mkdir -p "$out.k" &&
		cp "$tmp/$render.yaml" "$out.k/in.yaml" &&
		cat >"$out.k/kustomization.yaml" <<-EOF &&
		resources:
		  - in.yaml
		patches:
		  - target:
		      kind: $1
		      name: $2
		    patch: '$3'
		EOF
		kubectl kustomize "$out.k" >"$out.yaml" 2>&1 ||
			cat "$out.yaml" ;;
	esac || return 1
	if cmp -s "$tmp/$render.yaml" "$out.yaml"; then
		echo "the change changed nothing: $how $*"
		return 1
	fi
}

# refused DESC PATTERN RENDER HOW...: the server refuses the broken copy,
# or warns about it, in words that match PATTERN (grep).
refused() {
	local desc=$1 pattern=$2 render=$3 out
	shift 3
	if [ ! -f "$tmp/$render.yaml" ]; then
		fail "$desc"
		diag "  no render $render"
	elif ! out=$(break_copy "$tmp/refused" "$render" "$@"); then
		fail "$desc"
		diag "  $out"
	elif dry_run "$tmp/refused.yaml" /dev/null "$tmp/err" &&
	    [ ! -s "$tmp/err" ]; then
		fail "$desc"
		diag "  accepted without a word: $*"
	elif grep -q -- "$pattern" "$tmp/err"; then
		pass "$desc"
	else
		fail "$desc"
		diag "  expected: $pattern"
		diag_file "$tmp/err"
	fi
}

# caught DESC PATTERN RENDER HOW...: the server accepts the broken copy,
# and policy.py reports a problem that matches PATTERN (grep).  The copies
# are made and sent to the server a few at a time (each mostly waits for
# it), and checked together by caught_all, as RENDER/N (N their number).
caught_desc=()
caught_pattern=()
caught_copies=()
caught() {
	local n=${#caught_desc[@]} render=$3
	caught_desc+=("policy.py catches $1")
	caught_pattern+=("$2")
	shift 3
	caught_copies+=("$render/$n=$tmp/caught-$n.json")
	while [ "$(jobs -pr | wc -l)" -ge 4 ]; do wait -n; done
	(
		out=$tmp/caught-$n
		if [ ! -f "$tmp/$render.json" ]; then
			echo "no render $render" >"$out.why"
		elif ! break_copy "$out" "$render" "$@" >"$out.why"; then
			:
		elif ! dry_run "$out.yaml" "$out.json" "$out.err"; then
			{ echo "the server refused the broken copy ($*):"
			  cat "$out.err"; } >"$out.why"
		else
			rm "$out.why"
		fi
	) &
}
caught_all() {
	local n out copies=()
	wait
	for n in "${!caught_copies[@]}"; do
		[ -f "$tmp/caught-$n.why" ] || copies+=("${caught_copies[n]}")
	done
	out=$([ ${#copies[@]} = 0 ] ||
	    python3 "$here/policy.py" --top "$top" --help "$tmp/help.txt" \
	    "minikube=$tmp/minikube.json" "${copies[@]}" 2>&1)
	for n in "${!caught_desc[@]}"; do
		if [ -f "$tmp/caught-$n.why" ]; then
			fail "${caught_desc[n]}"
			diag_file "$tmp/caught-$n.why"
		# The problems reported under the copy's failed checks.
		elif awk -v p="not ok - [^ ]*/$n: " '
			/^(not )?ok/ { f = ($0 ~ "^" p) }
			f && /^#/' <<<"$out" | grep -q -- "${caught_pattern[n]}"
		then
			pass "${caught_desc[n]}"
		else
			fail "${caught_desc[n]}"
			diag "  expected a problem matching: ${caught_pattern[n]}"
			diag "$(grep -- "/$n: " <<<"$out")"
		fi
	done
}

sts="patch StatefulSet visits"
ctr=/spec/template/spec/containers
label=app.kubernetes.io~1

refused "the API server refuses an unknown field" \
    'unknown field "spec.template.spec.containers\[0\].imagePullPolic"' \
    minikube $sts \
    "[{\"op\":\"add\",\"path\":\"$ctr/0/imagePullPolic\",\"value\":\"Always\"}]"
refused "the API server refuses a field of the wrong type" \
    'spec.replicas of type int32' minikube $sts \
    '[{"op":"replace","path":"/spec/replicas","value":"3"}]'
refused "the API server refuses an unknown field of the ServiceMonitor" \
    'unknown field "spec.endpoints\[0\].scrapeTimout"' components \
    patch ServiceMonitor visits \
    '[{"op":"add","path":"/spec/endpoints/0/scrapeTimout","value":"5s"}]'
refused "the API server warns of a pod template that Pod Security restricted forbids" \
    'would violate PodSecurity "restricted' minikube $sts "[{\"op\":\"replace\",\"path\":\"$ctr/1/securityContext/allowPrivilegeEscalation\",\"value\":true}]"

caught "a generic overlay that changes what minikube runs" \
    'StatefulSet visits: spec.replicas: 3 in minikube, 2 here' generic \
    $sts '[{"op":"replace","path":"/spec/replicas","value":2}]'
caught "pods started one by one" 'podManagementPolicy OrderedReady' \
    minikube $sts \
    '[{"op":"replace","path":"/spec/podManagementPolicy","value":"OrderedReady"}]'
caught "nginx mounting the counter volume" \
    'nginx mounts the counter volume' minikube $sts \
    "[{\"op\":\"add\",\"path\":\"$ctr/1/volumeMounts/-\",\"value\":{\"name\":\"data\",\"mountPath\":\"/data\"}}]"
caught "a command line for the program" 'sets a command line' minikube \
    $sts "[{\"op\":\"add\",\"path\":\"$ctr/0/command\",\"value\":[\"visits-serve\"]}]"
caught "a setting the program does not know" \
    'env VISITS_PEER is not a documented setting' minikube $sts \
    "[{\"op\":\"add\",\"path\":\"$ctr/0/env/-\",\"value\":{\"name\":\"VISITS_PEER\",\"value\":\"visits-headless\"}}]"
caught "a setting that repeats the program's default" \
    "VISITS_DATA_DIR=/data repeats the program's default" minikube $sts \
    "[{\"op\":\"add\",\"path\":\"$ctr/0/env/-\",\"value\":{\"name\":\"VISITS_DATA_DIR\",\"value\":\"/data\"}}]"
caught "another time zone" 'time zone UTC' minikube $sts \
    "[{\"op\":\"add\",\"path\":\"$ctr/0/env/-\",\"value\":{\"name\":\"VISITS_TIMEZONE\",\"value\":\"UTC\"}}]"
caught "a probe on a counting path" 'readinessProbe on /time' minikube \
    $sts "[{\"op\":\"replace\",\"path\":\"$ctr/0/readinessProbe/httpGet/path\",\"value\":\"/time\"}]"
caught "the program's liveness through nginx" \
    'livenessProbe is not visits-serve --check' minikube $sts \
    "[{\"op\":\"replace\",\"path\":\"$ctr/0/livenessProbe\",\"value\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":8080},\"periodSeconds\":10,\"timeoutSeconds\":3}}]"
caught "a probe timeout the check may need whole" \
    'startupProbe: timeoutSeconds 2, the check may take 2 s' minikube $sts \
    "[{\"op\":\"replace\",\"path\":\"$ctr/0/startupProbe/timeoutSeconds\",\"value\":2}]"
caught "a writable root filesystem" \
    'nginx: readOnlyRootFilesystem is not true' minikube $sts \
    "[{\"op\":\"replace\",\"path\":\"$ctr/1/securityContext/readOnlyRootFilesystem\",\"value\":false}]"
caught "a user that is not the images'" 'runAsUser 10002, image USER' \
    minikube $sts \
    '[{"op":"replace","path":"/spec/template/spec/securityContext/runAsUser","value":10002}]'
caught "no fsGroup" 'fsGroup None' minikube $sts \
    '[{"op":"remove","path":"/spec/template/spec/securityContext/fsGroup"}]'
caught "a container without a memory limit" 'nginx: no limits.memory' \
    minikube $sts \
    "[{\"op\":\"remove\",\"path\":\"$ctr/1/resources/limits/memory\"}]"
caught "a grace period the program's hook may use up" \
    'the grace period is 20 s' minikube $sts \
    '[{"op":"replace","path":"/spec/template/spec/terminationGracePeriodSeconds","value":20}]'
caught "a probe's grace period the program's hook may use up" \
    "the probe's grace period is 3 s" minikube $sts \
    "[{\"op\":\"replace\",\"path\":\"$ctr/0/livenessProbe/terminationGracePeriodSeconds\",\"value\":3}]"
caught "nginx's hook sleeping past the program's wait" \
    'nginx may take 9 + ' minikube sed 's/sleep 5;/sleep 9;/'
caught "a ClusterIP Service on minikube" 'visits type ClusterIP' minikube \
    patch Service visits \
    '[{"op":"replace","path":"/spec/type","value":"ClusterIP"}]'
np="patch NetworkPolicy visits"
caught "a NetworkPolicy without DNS" 'no egress to DNS' components $np \
    '[{"op":"remove","path":"/spec/egress/0"}]'
caught "a NetworkPolicy that lets no HTTP in" \
    "no ingress to the pods' http" components $np \
    '[{"op":"remove","path":"/spec/ingress"}]'
caught "a NetworkPolicy that keeps the pods apart" \
    "no egress to the pods' http" components $np \
    '[{"op":"remove","path":"/spec/egress/1"}]'
sm="patch ServiceMonitor visits"
caught "a ServiceMonitor without the release label" 'no label release' \
    components $sm '[{"op":"remove","path":"/metadata/labels/release"}]'
caught "a ServiceMonitor that selects no Service" \
    'selects the Services \[\]' components $sm \
    '[{"op":"replace","path":"/spec/selector/matchLabels/metrics","value":"false"}]'
caught "a ServiceMonitor on another port" 'scrapes port metrics' \
    components $sm \
    '[{"op":"replace","path":"/spec/endpoints/0/port","value":"metrics"}]'
caught "an object without a recommended label" \
    'PodDisruptionBudget visits: no label app.kubernetes.io/part-of' \
    minikube patch PodDisruptionBudget visits \
    "[{\"op\":\"remove\",\"path\":\"/metadata/labels/${label}part-of\"}]"
caught "a selector on the version" 'StatefulSet selector on' minikube \
    $sts "[{\"op\":\"add\",\"path\":\"/spec/selector/matchLabels/${label}version\",\"value\":\"0.1.0\"}]"
caught "claims labelled with the version" \
    'volumeClaimTemplates carry the version' minikube $sts \
    "[{\"op\":\"add\",\"path\":\"/spec/volumeClaimTemplates/0/metadata/labels/${label}version\",\"value\":\"0.1.0\"}]"
caught "an image tagged latest" 'is latest' minikube \
    sed 's/visits-nginx:\([0-9.]*\)$/visits-nginx:latest/'
caught "a tag that is not the version label's" \
    'app.kubernetes.io/version 9.9.9' minikube $sts \
    "[{\"op\":\"replace\",\"path\":\"/spec/template/metadata/labels/${label}version\",\"value\":\"9.9.9\"}]"
caught "imagePullPolicy Always with a tag" 'imagePullPolicy Always' \
    minikube $sts \
    "[{\"op\":\"replace\",\"path\":\"$ctr/0/imagePullPolicy\",\"value\":\"Always\"}]"
caught_all

finish
