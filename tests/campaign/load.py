#!/usr/bin/env python3
"""HTTP load through nginx for the campaigns, recording every answer.

    load.py --out FILE URL [--threads N] [--mode count|mixed]
            [--duration S] [--delay S]

Each thread keeps one HTTP/1.1 connection (a new one after an error or a
"Connection: close").  count: GET /time only.  mixed: GET of /, /time,
/visits, /metrics, /healthz, /readyz, a 404 path, HEAD of / and /time.
Runs until SIGTERM/SIGINT (a request under way is finished first) or for
--duration seconds, then writes one JSON summary to FILE:

    requests      requests sent
    acked         counting requests (GET / or /time) answered a complete,
                  well-formed 200: the visits the service acknowledged
    acked_by      {"visits-0": n, ...}: acked, by the X-Served-By of the
                  answer (the pod that counted the visit)
    count_other   counting requests answered with another status
    no_answer     requests with no status line (connection refused,
                  reset, closed): for a counting one, "in flight"
    count_no_answer   the counting ones among them
    incomplete    answers cut short after the status line
    bad_body      complete answers whose body is not what the route sends
    unexpected    answers whose status is not the route's usual one
    status        {"GET /time 200": n, ...}
    max_seconds   slowest answer
"""

import argparse
import http.client
import json
import random
import re
import signal
import sys
import threading
import time
import urllib.parse

COUNTING = {"/", "/time"}
# (weight, method, path, usual status, body check)
MIXED = [
    (15, "GET", "/", 200, re.compile(rb"(?s)^<!DOCTYPE html>.*</html>\n?$",
                                     re.I)),
    (25, "GET", "/time", 200, re.compile(rb'^\{"time":"\d\d:\d\d:\d\d"\}\n$')),
    (15, "GET", "/visits", 200, re.compile(rb'^\{"visits":\d+\}\n$')),
    (10, "GET", "/metrics", 200, re.compile(rb"(?s)^# HELP .*visits_total")),
    (10, "GET", "/healthz", 200, re.compile(rb'^\{"status":"ok"\}\n$')),
    (10, "GET", "/readyz", 200, re.compile(rb'^\{"status":"ready"\}\n$')),
    (5, "GET", "/no-such-page", 404,
     re.compile(rb'^\{"error":"not found"\}\n$')),
    (5, "HEAD", "/time", 200, re.compile(rb"^$")),
    (5, "HEAD", "/", 200, re.compile(rb"^$")),
]
COUNT = [(1, "GET", "/time", 200, MIXED[1][4])]

stop = threading.Event()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.d = {"requests": 0, "acked": 0, "acked_by": {},
                  "count_other": 0, "no_answer": 0, "count_no_answer": 0,
                  "incomplete": 0, "bad_body": 0, "unexpected": 0,
                  "status": {},
                  "max_seconds": 0.0, "examples": []}

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                if k in ("status", "acked_by"):
                    self.d[k][v] = self.d[k].get(v, 0) + 1
                elif k == "seconds":
                    self.d["max_seconds"] = max(self.d["max_seconds"], v)
                elif k == "example":
                    if len(self.d["examples"]) < 10:
                        self.d["examples"].append(v)
                else:
                    self.d[k] += v


def worker(host, port, table, delay, stats, seed):
    rnd = random.Random(seed)
    weights = [t[0] for t in table]
    conn = None
    while not stop.is_set():
        _, method, path, usual, body_re = rnd.choices(table, weights)[0]
        counting = method == "GET" and path in COUNTING
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=30)
        t0 = time.monotonic()
        stats.add(requests=1)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            stats.add(no_answer=1, count_no_answer=int(counting))
            stats.add(status="%s %s none" % (method, path))
            conn.close()
            conn = None
            time.sleep(0.01)        # the service is down: do not spin
            continue
        key = "%s %s %d" % (method, path, resp.status)
        try:
            body = resp.read()
        except (OSError, http.client.HTTPException) as e:
            stats.add(incomplete=1, status=key + " incomplete",
                      example="%s: %s" % (key, e))
            conn.close()
            conn = None
            continue
        stats.add(status=key, seconds=time.monotonic() - t0)
        if resp.status != usual:
            stats.add(unexpected=1)
        elif not body_re.match(body):
            stats.add(bad_body=1, example="%s: %r" % (key, body[:80]))
        elif counting:
            stats.add(acked=1,
                      acked_by=resp.getheader("X-Served-By", "(none)"))
        if counting and resp.status != 200:
            stats.add(count_other=1)
        if resp.will_close:
            conn.close()
            conn = None
        if delay:
            time.sleep(delay)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--mode", choices=("count", "mixed"), default="count")
    p.add_argument("--duration", type=float, default=0)
    p.add_argument("--delay", type=float, default=0)
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.url)
    table = COUNT if a.mode == "count" else MIXED
    stats = Stats()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=worker, args=(
        u.hostname, u.port, table, a.delay, stats, i))
        for i in range(a.threads)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while not stop.is_set():
        stop.wait(0.2)
        if a.duration and time.monotonic() - t0 >= a.duration:
            stop.set()
    for t in threads:
        t.join()
    stats.d["seconds"] = round(time.monotonic() - t0, 3)
    stats.d["max_seconds"] = round(stats.d["max_seconds"], 3)
    with open(a.out, "w") as f:
        json.dump(stats.d, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
