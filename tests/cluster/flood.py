#!/usr/bin/env python3
"""flood.py URL SECONDS CONNECTIONS: GET URL as fast as CONNECTIONS kept
connections can for SECONDS; prints "requests N errors N p50 MS p99 MS
max MS" (latency of each answer, in milliseconds)."""
import http.client
import sys
import threading
import time
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
seconds = float(sys.argv[2])
conns = int(sys.argv[3])
path = url.path or "/"
times = []
errors = [0]
lock = threading.Lock()
end = time.monotonic() + seconds


def run():
    mine = []
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    while time.monotonic() < end:
        t = time.monotonic()
        try:
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise OSError(r.status)
        except (OSError, http.client.HTTPException):
            with lock:
                errors[0] += 1
            c.close()
            c = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
            continue
        mine.append((time.monotonic() - t) * 1000)
    with lock:
        times.extend(mine)


threads = [threading.Thread(target=run) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
times.sort()
n = len(times)


def pct(p):
    return times[min(n - 1, int(n * p))] if n else 0.0


print("requests %d errors %d p50 %.1f p99 %.1f max %.1f"
      % (n, errors[0], pct(0.5), pct(0.99), times[-1] if n else 0.0))
