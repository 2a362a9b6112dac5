# shellcheck shell=bash
# tests/k8s/result.sh: tests/lib/tap.sh plus what the k8s and pod tests
# share: `result ok|not-ok DESC [DIAGNOSTIC...]`.  They end with
# done_testing (tap.sh).
# shellcheck source=../lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"

result() {
	if [ "$1" = ok ]; then pass "$2"; else fail "$2"; fi
	shift 2
	local d
	for d in "$@"; do [ -z "$d" ] || diag "$(sed 's/^/  /' <<<"$d")"; done
	return 0
}

