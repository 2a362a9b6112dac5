#!/bin/bash
# tests/fuzz/capture-nginx.sh [OUTDIR]: seeds captured from the real
# nginx.  Starts nginx (nginx/nginx.conf, as the tests render it) in front
# of a recording FastCGI socket instead of visits-fcgi, sends HTTP requests
# through it with curl, and writes what nginx sent upstream: one file per
# request (nginx-req-N) and one per kept connection (nginx-conn-N, several
# requests in a row).  OUTDIR defaults to tests/fuzz/corpus/fcgi.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$here/corpus/fcgi}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-capture.XXXXXX")
export STACK_LOG_DIR=$tmp/log
# shellcheck source=tests/lib/stack.sh
. "$top/tests/lib/stack.sh"
recorder=
cleanup() {
	stack_nginx_stop >/dev/null 2>&1 || :
	[ -z "$recorder" ] || kill "$recorder" 2>/dev/null || :
	rm -rf "$tmp"
}
trap cleanup EXIT
stack_setup "$tmp"
# shellcheck disable=SC2034 # stack.sh reads it (empty: a free port)
STACK_PORT=

# The recorder: answers every request with a tiny 200 and keeps the bytes.
python3 - "$STACK_SOCK" "$tmp/rec" <<'EOF' &
import os, socket, struct, sys, threading
path, rec = sys.argv[1], sys.argv[2]
os.makedirs(rec, exist_ok=True)
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(64)
lock = threading.Lock()
counter = [0]

def serve(conn, n):
    conn_bytes, req_bytes, buf = b"", b"", b""
    k = 0
    while True:
        while len(buf) < 8:
            chunk = conn.recv(65536)
            if not chunk:
                if conn_bytes:
                    open("%s/conn-%03d" % (rec, n), "wb").write(conn_bytes)
                return
            buf += chunk
        _, rtype, rid, clen, plen = struct.unpack(">BBHHBx", buf[:8])
        while len(buf) < 8 + clen + plen:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        rec_bytes, buf = buf[:8 + clen + plen], buf[8 + clen + plen:]
        req_bytes += rec_bytes
        conn_bytes += rec_bytes
        if rtype == 5 and clen == 0:
            open("%s/req-%03d-%02d" % (rec, n, k), "wb").write(req_bytes)
            k += 1
            req_bytes = b""
            body = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n"
            pad = -len(body) % 8
            conn.sendall(struct.pack(">BBHHBx", 1, 6, rid, len(body), pad)
                         + body + b"\0" * pad
                         + struct.pack(">BBHHBx", 1, 6, rid, 0, 0)
                         + struct.pack(">BBHHBx", 1, 3, rid, 8, 0)
                         + b"\0" * 8)

while True:
    c, _ = srv.accept()
    with lock:
        counter[0] += 1
        n = counter[0]
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
EOF
recorder=$!
while [ ! -S "$STACK_SOCK" ]; do sleep 0.05; done
stack_nginx_start

base=$STACK_BASE_URL
long=$(printf 'a%.0s' $(seq 1 2000))
# One keep-alive curl: nginx keeps its upstream connection as well.
curl -s -o /dev/null "$base/" -o /dev/null "$base/time" \
    -o /dev/null "$base/visits" -o /dev/null "$base/healthz" \
    -o /dev/null "$base/readyz" -o /dev/null "$base/metrics"
curl -s -o /dev/null -I "$base/"
curl -s -o /dev/null -I "$base/time?x=1"
curl -s -o /dev/null "$base/time?a=b&c=%2F"
curl -s -o /dev/null "$base/%74ime"
curl -s -o /dev/null "$base/a/../time"
curl -s -o /dev/null "$base/nope#x"
curl -s -o /dev/null "$base/$long?$long"
curl -s -o /dev/null -H 'X-Forwarded-For: 1.2.3.4' -H 'Cookie: a=b' \
    -A 'fuzz/1.0' "$base/time"
curl -s -o /dev/null --http1.0 "$base/visits"
stack_nginx_stop || :
sleep 0.5	# the recorder writes a connection when nginx closes it
kill "$recorder" 2>/dev/null || :
wait "$recorder" 2>/dev/null || :
recorder=

i=0
for f in "$tmp"/rec/req-*; do
	cp "$f" "$out/nginx-req-$i"
	i=$((i + 1))
done
j=0
for f in "$tmp"/rec/conn-*; do
	# Only connections that carried more than one request.
	if [ "$(find "$tmp/rec" -name "req-${f##*conn-}-*" | wc -l)" -gt 1 ]
	then
		cp "$f" "$out/nginx-conn-$j"
		j=$((j + 1))
	fi
done
echo "capture-nginx: $i requests, $j kept connections with several" \
    "requests, in $out"
