#!/usr/bin/env python3
"""Visits for a power-cut run, each stamped with the block log's size.

    drive.py URL LOG OUT [--seconds S] [--clients N] [--pause P]
             [--neighbour FILE]

N clients send GET URL (a counting request) in a loop for S seconds, each
pausing P seconds between visits (a few hundred visits, not tens of
thousands: each one adds crash states to check).  For
each visit OUT gets one line "SENT ACKED": the size of LOG (the logfs
block log) just before the request was sent, and just after its 200
arrived (-1 when no 200 came).  A write or flush in the log before SENT
cannot belong to the visit; one before ACKED finished before the answer.

--neighbour: meanwhile another program on the same file system writes and
fsyncs FILE twice a second.  Its fsync commits the file system's journal,
with whatever metadata the counter's updates left in it, long before the
kernel's periodic write-back: the window where a rename is on disk and
the renamed file's data may not be.
"""

import argparse
import http.client
import os
import sys
import threading
import time
import urllib.parse


def client(url, log, deadline, pause, out, lock):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    while time.monotonic() < deadline:
        sent = os.stat(log).st_size
        acked = -1
        try:
            conn.request("GET", u.path)
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                acked = os.stat(log).st_size
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port,
                                              timeout=30)
        with lock:
            out.append((sent, acked))
        time.sleep(pause)
    conn.close()


def neighbour(path, deadline):
    n = 0
    while time.monotonic() < deadline:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, b"neighbour %d\n" % n)
        os.fsync(fd)
        os.close(fd)
        n += 1
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("log")
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--pause", type=float, default=0.02)
    ap.add_argument("--neighbour")
    a = ap.parse_args()
    deadline = time.monotonic() + a.seconds
    visits, lock = [], threading.Lock()
    threads = [threading.Thread(target=client,
                                args=(a.url, a.log, deadline, a.pause, visits,
                                      lock))
               for _ in range(a.clients)]
    if a.neighbour:
        threads.append(threading.Thread(target=neighbour,
                                        args=(a.neighbour, deadline)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(a.out, "w") as f:
        for sent, acked in visits:
            f.write("%d %d\n" % (sent, acked))
    ok = sum(1 for _, acked in visits if acked >= 0)
    print("drive: %d visits sent, %d acknowledged" % (len(visits), ok),
          file=sys.stderr)
    return 0 if ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
