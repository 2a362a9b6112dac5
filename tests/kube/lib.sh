# shellcheck shell=bash
# tests/kube/lib.sh: what several of the cluster's suites set up alike.
# Needs $top (the source tree) and kubectl on the learner's side.

# restricted_namespace NS: a new namespace NS that enforces Pod Security
# "restricted" (and warns with it), at the cluster's own version.
restricted_namespace() {
	kubectl create -f - >/dev/null <<EOF2
apiVersion: v1
kind: Namespace
metadata:
  name: $1
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
EOF2
}

# with_components DIR OVERLAY: DIR/kustomization.yaml, k8s/overlays/OVERLAY
# with every component of k8s/components switched on.
with_components() {
	local c
	mkdir -p "$1" || return
	{
		echo "apiVersion: kustomize.config.k8s.io/v1beta1"
		echo "kind: Kustomization"
		echo "resources:"
		echo "  - $(realpath --relative-to="$1" "$top/k8s/overlays/$2")"
		echo "components:"
		for c in "$top"/k8s/components/*/; do
			echo "  - $(realpath --relative-to="$1" "$c")"
		done
	} >"$1/kustomization.yaml"
}
