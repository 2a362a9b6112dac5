#!/bin/bash
# tests/k8s/run.sh: the manifest tests.  No cluster needed.
#
#   1. every overlay (and the optional components) renders with
#      `kubectl kustomize`;
#   2. every rendered object is valid against the Kubernetes OpenAPI
#      schemas (kubernetes-models), unknown fields included (schema.mjs);
#   3. policy: restricted PSS, probes, ports/paths/socket consistent with
#      nginx/nginx.conf, `visits-fcgi --help` and the Containerfiles, pinned
#      tags, labels, ... (policy.mjs);
#   4. the checkers themselves catch broken manifests (mutated copies).
#
# Prints TAP; exit status 0 only if all passed.  Needs kubectl (with
# kustomize), node and npm; installs the npm packages of tests/k8s
# (package-lock.json) when missing.  The program's
# defaults come from $VISITS_FCGI, else build/fcgi/visits-fcgi, else
# `./dev build` makes it.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-k8s.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=../k8s/result.sh
. "$top/tests/k8s/result.sh"
# Lines "ok - ..." / "not ok - ..." / "#..." from the node checkers.
collect() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) result ok "${line#ok - }" ;;
		"not ok - "*) result not-ok "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done
}
finish() {
	done_testing
	exit
}

# --- tools -------------------------------------------------------------------
for tool in kubectl node npm; do
	if ! command -v $tool >/dev/null; then
		result not-ok "$tool is installed" "kubectl (with kustomize), node and npm are needed"
		finish
	fi
done
if [ ! -f "$here/node_modules/.visits-package-lock.json" ] ||
    ! cmp -s "$here/package-lock.json" "$here/node_modules/.visits-package-lock.json"; then
	if out=$("$here/npm-ci.sh" 2>&1); then
		result ok "npm ci (tests/k8s)"
	else
		result not-ok "npm ci (tests/k8s)" "$out"
		finish
	fi
fi

# --- the program's defaults ------------------------------------------------------
fcgi=${VISITS_FCGI:-$top/build/fcgi/visits-fcgi}
if [ ! -x "$fcgi" ] && [ -x "$top/dev" ]; then
	"$top/dev" build >"$tmp/build.log" 2>&1 || tail -20 "$tmp/build.log" | sed 's/^/# /'
fi
if "$fcgi" --help >"$tmp/help.txt" 2>&1; then
	result ok "visits-fcgi --help ($fcgi)"
else
	result not-ok "visits-fcgi --help ($fcgi)" "$(head -5 "$tmp/help.txt")"
fi

# --- render -----------------------------------------------------------------------
render() { # NAME KUSTOMIZATION-DIR
	if kubectl kustomize "$2" >"$tmp/$1.yaml" 2>"$tmp/$1.err"; then
		result ok "kubectl kustomize $3"
		rendered+=("$1=$tmp/$1.yaml")
	else
		result not-ok "kubectl kustomize $3" "$(cat "$tmp/$1.err")"
	fi
}
rendered=()
for dir in "$top"/k8s/overlays/*/; do
	o=$(basename "$dir")
	render "$o" "$dir" "k8s/overlays/$o"
done
# Every component, switched on in the generic overlay.
mkdir -p "$tmp/components"
{
	echo "apiVersion: kustomize.config.k8s.io/v1beta1"
	echo "kind: Kustomization"
	echo "resources:"
	echo "  - $(realpath --relative-to="$tmp/components" "$top/k8s/overlays/generic")"
	echo "components:"
	for c in "$top"/k8s/components/*/; do
		echo "  - $(realpath --relative-to="$tmp/components" "$c")"
	done
} >"$tmp/components/kustomization.yaml"
render components "$tmp/components" "k8s/overlays/generic + k8s/components/*"

# --- schemas and policy ---------------------------------------------------------------
collect < <(node "$here/schema.mjs" "${rendered[@]}" 2>&1)
collect < <(node "$here/policy.mjs" --top "$top" --help "$tmp/help.txt" \
    "${rendered[@]}" 2>&1)

# --- the checkers catch what they should ------------------------------------------------
# expect_caught DESC CHECKER PATTERN SED-SCRIPT: a copy of the rendered
# minikube overlay, changed by SED-SCRIPT, must make CHECKER report a
# failure whose line or diagnostic matches PATTERN.
expect_caught() {
	local desc=$1 checker=$2 pattern=$3 script=$4 out
	sed "$script" "$tmp/minikube.yaml" >"$tmp/bad.yaml"
	if cmp -s "$tmp/minikube.yaml" "$tmp/bad.yaml"; then
		result not-ok "caught: $desc" "the mutation changed nothing: $script"
		return
	fi
	if [ "$checker" = schema ]; then
		out=$(node "$here/schema.mjs" "bad=$tmp/bad.yaml" 2>&1)
	else
		out=$(node "$here/policy.mjs" --top "$top" --help "$tmp/help.txt" \
		    "minikube=$tmp/bad.yaml" 2>&1)
	fi
	if printf '%s\n' "$out" | grep -A20 '^not ok' | grep -q -- "$pattern"; then
		result ok "caught: $desc"
	else
		result not-ok "caught: $desc" "$out"
	fi
}
if [ -f "$tmp/minikube.yaml" ]; then
	expect_caught "an unknown field in a container" schema \
	    'unknown field .*containers\[0\]\.imagePullPolic$' \
	    '0,/^\( *\)imagePullPolicy: IfNotPresent/s//&\n\1imagePullPolic: Always/'
	expect_caught "a wrongly typed field" schema 'replicas must be integer' \
	    's/^  replicas: 3$/  replicas: "3"/'
	expect_caught "a probe on a counting path" policy 'on /time' \
	    '0,/path: \/readyz/s//path: \/time/'
	expect_caught "a writable root filesystem" policy 'readOnlyRootFilesystem' \
	    '0,/readOnlyRootFilesystem: true/s//readOnlyRootFilesystem: false/'
	expect_caught "an image tagged latest" policy 'is latest' \
	    's/visits-nginx:0\.1\.0/visits-nginx:latest/'
	expect_caught "a command line in the StatefulSet" policy \
	    'sets a command line' \
	    '0,/^\( *\)image: localhost\/visits-fcgi.*/s//&\n\1command: [spawn-fcgi]/'
	expect_caught "another socket path than nginx.conf's" policy 'upstream' \
	    '0,/^\( *\)- name: VISITS_PEERS$/s//\1- {name: VISITS_SOCKET, value: \/run\/visits\/o.sock}\n&/'
	expect_caught "an env var that repeats the program's default" policy \
	    "repeats the program's default" \
	    '0,/^\( *\)- name: VISITS_PEERS$/s//\1- {name: VISITS_DATA_DIR, value: \/data}\n&/'
	expect_caught "the program's liveness not its own check" policy \
	    'livenessProbe is not visits-serve --check' \
	    '0,/- --check/s//- --help/'
	expect_caught "a port that nginx does not listen on" policy 'listen' \
	    's/containerPort: 8080/containerPort: 8081/'
	expect_caught "a program that may stop before nginx has drained" policy \
	    'program waits' 's/\[ \$i -lt 260 \]/[ $i -lt 100 ]/'
	expect_caught "a program that waits for nginx after a probe kill" policy \
	    'for the mark' 's/\[ \$i -lt 20 \]/[ $i -lt 260 ]/'
	expect_caught "a ClusterIP Service on minikube" policy 'visits type' \
	    's/type: NodePort/type: ClusterIP/'
	expect_caught "a storage class other than standard on minikube" policy \
	    'not standard' 's/storageClassName: standard/storageClassName: fast/'
	expect_caught "/cluster asking another name than the headless Service" \
	    policy 'VISITS_PEERS' 's/value: visits-headless$/value: visits/'
fi

finish
