# shellcheck shell=bash
# tests/k8s/result.sh: tests/lib/tap.sh plus what the k8s and pod tests
# share: `result ok|not-ok DESC [DIAGNOSTIC...]` and `summary` (the plan and
# the closing "N passed, N failed" line; status 0 only if all passed).
# shellcheck source=../lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"

result() {
	if [ "$1" = ok ]; then pass "$2"; else fail "$2"; fi
	shift 2
	local d
	for d in "$@"; do [ -z "$d" ] || diag "$(sed 's/^/  /' <<<"$d")"; done
	return 0
}

summary() {
	done_testing
	echo "$((tap_count - tap_failed)) passed, $tap_failed failed"
	[ "$tap_failed" -eq 0 ]
}
