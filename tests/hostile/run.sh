#!/bin/bash
# tests/hostile/run.sh: every hostile-input test against the real stack
# (nginx + spawn-fcgi + visits-fcgi on free ports, under $TMPDIR), about
# 90 s, as one TAP stream ("fcgi-garbage: ...", "http-garbage: ...").
# Needs VISITS_FCGI (./dev hostile builds and sets it).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
for t in fcgi-garbage http-garbage; do
	tap_nest "$t" "$here/$t.sh"
done
done_testing
