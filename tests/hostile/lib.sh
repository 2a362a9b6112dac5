# shellcheck shell=bash
# tests/hostile/lib.sh: what the hostile tests share (after it.sh).

# check_normal JSON [WHAT]: the checks of the normal client's answers in
# hostile.py's JSON (during WHAT, when given): no error, answered, every
# answer within $bound seconds.  Adds to $served and $unanswered.
check_normal() {
	local j=$1 p=${2:+$2: } ok errors max
	ok=$(jq -r .normal_ok <<<"$j")
	errors=$(jq -r .normal_errors <<<"$j")
	max=$(jq -r .latency_max <<<"$j")
	diag "${p}normal client: $ok answers, $errors errors, latency" \
	    "p50 $(jq -r .latency_p50 <<<"$j")s p99" \
	    "$(jq -r .latency_p99 <<<"$j")s max ${max}s"
	is "$errors" 0 "${p}the normal client got no error"
	[ "$errors" = 0 ] || diag "$(jq -c .normal_error_samples <<<"$j")"
	ok "$([ "$ok" -gt 0 ] && echo 0 || echo 1)" \
	    "${p}the normal client was answered ($ok times)"
	ok "$(awk -v m="$max" -v b="$bound" 'BEGIN { print (m <= b) ? 0 : 1 }')" \
	    "${p}every normal answer within ${bound}s (max ${max}s)"
	served=$((${served:-0} + ok))
	unanswered=$((${unanswered:-0} + errors))
}
