#!/bin/bash
# Counting rules: only a successful GET of / or /time counts, exactly once;
# probes, scrapes, /visits, HEAD, 404 and 405 never do.  Then exactness:
# 16 concurrent clients x 500 requests raise the count by exactly 8000, and
# the file says the same as /visits.
. "$(dirname "$0")/../lib/it.sh"

stack_start "$it_tmp" || bail_out "cannot start the stack"

visits
is "$visits" 0 "a new data directory starts at 0"
[ ! -e "$STACK_DATA_DIR/visits" ] || is "$(cat "$STACK_DATA_DIR/visits")" 0 \
    "the counter file, if any, says 0"

# Requests that must not count.
for r in "GET /visits" "GET /healthz" "GET /readyz" "GET /metrics" \
    "HEAD /" "HEAD /time" "HEAD /visits" "GET /nope" "GET /time/" \
    "HEAD /nope" "POST /" "POST /time" "PUT /time" "DELETE /" \
    "OPTIONS /time" "GET /nginx-healthz"; do
	read -r m p <<<"$r"
	http "$m" "$p"
	visits
	is "$visits" 0 "$r does not count"
done

http GET /
is "$http_code" 200 "GET / answers 200"
visits
is "$visits" 1 "GET / counts once"
http GET /time
visits
is "$visits" 2 "GET /time counts once"
http GET '/time?x=1'
visits
is "$visits" 3 "GET /time?x=1 counts once"
file_count
is "$file_count" 3 "the counter file says 3"
is "$(od -An -c "$STACK_DATA_DIR/visits" | tr -s ' ')" " 3 \n" \
    "the file is the count in ASCII decimal and a newline"

# Exactness under concurrency: 16 clients (one curl process each, one
# kept-alive connection) x 500 requests.
clients=16 each=500
visits
base=$visits
start=$SECONDS
pids=()
for c in $(seq "$clients"); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 120 \
	    "$STACK_BASE_URL/time?c=$c&n=[1-$each]" >"$it_tmp/codes.$c" &
	pids+=($!)
done
wait "${pids[@]}"
elapsed=$((SECONDS - start))
n200=$(cat "$it_tmp"/codes.* | grep -c '^200$')
is "$n200" $((clients * each)) \
    "$clients clients x $each GET /time: all 200 (${elapsed}s)"
[ "$n200" = $((clients * each)) ] ||
	diag "answers: $(cat "$it_tmp"/codes.* | sort | uniq -c | tr '\n' ' ')"
visits
is "$visits" $((base + n200)) "the count rose by exactly $n200"
file_count
is "$file_count" "$visits" "the counter file equals /visits"

# The same through HEAD and probes in parallel with counting: still exact.
visits
base=$visits
pids=()
curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
    "$STACK_BASE_URL/?n=[1-300]" >"$it_tmp/mixed.1" &
pids+=($!)
curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
    "$STACK_BASE_URL/time?n=[1-300]" >"$it_tmp/mixed.2" &
pids+=($!)
curl -s -o /dev/null --max-time 60 \
    "$STACK_BASE_URL/{healthz,readyz,metrics,visits}?n=[1-100]" &
pids+=($!)
curl -s -o /dev/null -I --max-time 60 "$STACK_BASE_URL/time?n=[1-300]" &
pids+=($!)
# Only these: a bare `wait` would wait for nginx and the program too.
wait "${pids[@]}"
n200=$(cat "$it_tmp"/mixed.* | grep -c '^200$')
is "$n200" 600 "600 counting GETs mixed with probes and HEADs: all 200"
visits
is "$visits" $((base + n200)) "only the counting GETs counted"

stack_stop
ok $? "the stack stops cleanly"
is "$(cat "$STACK_DATA_DIR/visits")" "$visits" \
    "after a stop the file still has the count"
fail_diag "$STACK_LOG_DIR/fcgi.log"
fail_diag "$STACK_LOG_DIR/nginx.err"

done_testing
