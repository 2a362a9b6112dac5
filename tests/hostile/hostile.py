#!/usr/bin/env python3
"""Hostile clients for visits-fcgi and its nginx, with a normal client
timed alongside.  Every command prints one JSON object; the TAP tests
(fcgi-garbage.sh, http-garbage.sh) check it.

    hostile.py fcgi-garbage SOCK URL --seconds S [--idle N]
        raw garbage on the FastCGI socket SOCK from several threads (the
        malformed cases of tests/cases/fcgi, whole or cut at a random
        byte, and random bytes) while N idle connections are held open,
        and meanwhile a normal client sends
        GET /time through nginx at URL: its answers, latencies and the
        garbage connections that did not end within 5 s ("hung")
    hostile.py fcgi-trickle SOCK URL --clients N --seconds S
        N connections trickle one request each, a byte every 0.5 s,
        while the normal client runs
    hostile.py fcgi-mgmt SOCK --records N [--clients C] [--no-read]
                     [--url URL --seconds S]
        N management records of an unknown type on each of C connections,
        their answers read (or not, --no-read), the normal client timed
        afterwards if URL is given
    hostile.py fcgi-bigpair SOCK
        one name-value pair claiming 1 GiB + 1 GiB (the case
        param-1gib-both)
    hostile.py http-garbage HOST PORT URL --seconds S [--idle N]
        bad HTTP on nginx's port: overlong URIs and headers, bad methods,
        HTTP/0.9, junk request lines, unsupported versions, pipelining,
        slowloris clients trickling headers, N idle connections; with the
        normal client.  Counting requests it sends itself are counted in
        "extra_visits".
"""

import argparse
import http.client
import json
import os
import random
import selectors
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import fcgi_client as fc  # noqa: E402

HANG = 5.0          # a hostile connection must be over within this


class Normal(threading.Thread):
    """GET /time through nginx on one kept connection, timed."""

    def __init__(self, url):
        super().__init__(daemon=True)
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.stop = threading.Event()
        self.latencies, self.errors, self.ok = [], [], 0
        self.t0 = time.monotonic()

    def run(self):
        conn = None
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port,
                                                      timeout=15)
                conn.request("GET", "/time")
                r = conn.getresponse()
                body = r.read()
                good = (r.status == 200 and body.startswith(b'{"time":"')
                        and body.endswith(b'"}\n'))
                if good:
                    self.ok += 1
                else:
                    self.errors.append("status %d: %r" % (r.status,
                                                          body[:80]))
            except (OSError, http.client.HTTPException) as e:
                self.errors.append("%s: %s" % (type(e).__name__, e))
                if conn is not None:
                    conn.close()
                conn = None
            self.latencies.append(time.monotonic() - t0)
            time.sleep(0.01)
        if conn is not None:
            conn.close()

    def summary(self):
        lat = sorted(self.latencies) or [0.0]
        return {"normal_ok": self.ok, "normal_errors": len(self.errors),
                "normal_error_samples": self.errors[:5],
                "normal_requests": len(self.latencies),
                "latency_p50": round(lat[len(lat) // 2], 4),
                "latency_p99": round(lat[min(len(lat) - 1,
                                             len(lat) * 99 // 100)], 4),
                "latency_max": round(lat[-1], 4)}


def drain(s, limit=HANG):
    """Read until the server closes; True if it did within `limit`."""
    s.settimeout(limit)
    end = time.monotonic() + limit
    try:
        while time.monotonic() < end:
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


MALFORMED = fc.malformed_cases()


def garbage(rng):
    """(name, bytes): a malformed case of tests/cases/fcgi, as it is or cut
    at a random byte, or random bytes."""
    kind = rng.randrange(4)
    if kind == 0:
        return "random", rng.randbytes(rng.randrange(1, 4096))
    name, data = rng.choice(MALFORMED)
    if kind == 1 and len(data) > 1:
        return name + "-cut", data[:rng.randrange(1, len(data))]
    return name, data


def cmd_fcgi_garbage(a):
    normal = Normal(a.url)
    normal.start()
    idle = []
    for _ in range(a.idle):
        idle.append(fc.connect(a.socket, 5))
    deadline = time.monotonic() + a.seconds
    lock = threading.Lock()
    stats = {"sent": 0, "hung": 0, "hung_cases": [], "slowest_close": 0.0}
    pending = {}        # socket -> (case, time sent)
    done = threading.Event()

    def reaper():
        """Every garbage connection must be closed within --hang s."""
        sel = selectors.DefaultSelector()
        while not (done.is_set() and not pending):
            with lock:
                for s, (name, t0) in list(pending.items()):
                    if s not in sel.get_map():
                        sel.register(s, selectors.EVENT_READ)
            for key, _ in sel.select(0.05):
                s = key.fileobj
                try:
                    d = s.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(s)
                    with lock:
                        name, t0 = pending.pop(s)
                        stats["slowest_close"] = max(
                            stats["slowest_close"],
                            round(time.monotonic() - t0, 3))
                    s.close()
            now = time.monotonic()
            with lock:
                for s, (name, t0) in list(pending.items()):
                    if now - t0 > a.hang:
                        if s in sel.get_map():
                            sel.unregister(s)
                        del pending[s]
                        stats["hung"] += 1
                        stats["hung_cases"].append(name)
                        s.close()

    def attacker(seed):
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            name, data = garbage(rng)
            try:
                s = fc.connect(a.socket, a.hang)
            except OSError as e:
                with lock:
                    stats["hung"] += 1
                    stats["hung_cases"].append("connect: %s" % e)
                continue
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass        # closed on us before we were done
            s.setblocking(False)
            with lock:
                stats["sent"] += 1
                pending[s] = (name, time.monotonic())
            while len(pending) > 200 and time.monotonic() < deadline:
                time.sleep(0.01)

    reap = threading.Thread(target=reaper, daemon=True)
    reap.start()
    threads = [threading.Thread(target=attacker, args=(i,), daemon=True)
               for i in range(a.attackers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reap.join(a.hang + 5)
    normal.stop.set()
    normal.join()
    idle_alive = 0
    for s in idle:
        # An idle connection is kept (not timed) and still usable.
        try:
            s.settimeout(5)
            s.sendall(fc.full_request("GET", "/healthz"))
            if fc.answer_json(*fc.read_answer(s))["status"] == 200:
                idle_alive += 1
        except (OSError, EOFError, ValueError):
            pass
        s.close()
    out = dict(stats, idle=a.idle, idle_then_served=idle_alive)
    out["hung_cases"] = out["hung_cases"][:10]
    out.update(normal.summary())
    print(json.dumps(out))
    return 0


def cmd_fcgi_trickle(a):
    stop = threading.Event()
    req = fc.full_request("GET", "/healthz", flags=fc.KEEP_CONN)

    def trickle():
        try:
            s = fc.connect(a.socket, 30)
            for b in req[:-1]:
                if stop.is_set():
                    break
                s.send(bytes([b]))
                time.sleep(0.5)
            s.close()
        except OSError:
            pass

    ts = [threading.Thread(target=trickle, daemon=True)
          for _ in range(a.clients)]
    for t in ts:
        t.start()
    time.sleep(1)
    normal = Normal(a.url)
    normal.start()
    time.sleep(a.seconds)
    normal.stop.set()
    stop.set()
    normal.join()
    out = {"tricklers": a.clients}
    out.update(normal.summary())
    print(json.dumps(out))
    return 0


def cmd_fcgi_mgmt(a):
    """Records sent while a thread reads the answers (or, with
    --no-read, never reads them: the answers fill the socket buffer)."""
    rec = fc.record(11, b"", request_id=0)
    conns, readers, got = [], [], []

    def reader(s, i):
        n = 0
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                n += len(d)
                if n >= 16 * a.records:
                    break
        except OSError:
            pass
        got[i] = n

    for i in range(a.clients):
        s = fc.connect(a.socket, 10)
        conns.append(s)
        got.append(0)
        if not a.no_read:
            t = threading.Thread(target=reader, args=(s, i), daemon=True)
            t.start()
            readers.append(t)
    blocked = 0
    for s in conns:
        s.settimeout(2)
        try:
            for _ in range(0, a.records, 4096):
                s.sendall(rec * 4096)
        except OSError:
            blocked += 1    # the program stopped reading
    normal = None
    if a.url:
        normal = Normal(a.url)
        normal.start()
        time.sleep(a.seconds)
        normal.stop.set()
        normal.join()
    for t in readers:
        t.join(10)
    for s in conns:
        s.close()
    out = {"clients": a.clients, "records": a.records,
           "answered_bytes": sum(got), "sends_blocked": blocked}
    if normal is not None:
        out.update(normal.summary())
    print(json.dumps(out))
    return 0


def cmd_fcgi_bigpair(a):
    data = dict(MALFORMED)["param-1gib-both"]
    s = fc.connect(a.socket, 5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    ended = drain(s)
    s.close()
    print(json.dumps({"closed": ended}))
    return 0


def http_exchange(host, port, data, timeout=5, half_close=True):
    """Send raw bytes, read until close or timeout: the raw answer.
    Half-closing at once is fine for requests nginx refuses; one it passes
    upstream would be dropped as a client that went away (499)."""
    s = socket.create_connection((host, port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        try:
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        out += b"<timeout>"
    except OSError as e:
        out += ("<%s>" % e).encode()
    finally:
        s.close()
    return out


def statuses(raw):
    """Status codes of every HTTP/1.x answer in a raw stream, in order."""
    codes = []
    for part in raw.split(b"HTTP/1.")[1:]:
        try:
            codes.append(int(part[2:5]))
        except ValueError:
            codes.append(0)
    return codes


H = b"Host: localhost\r\n"
BAD_HTTP = [
    # (name, request, acceptable status codes)
    ("uri-9k", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n",
     {414}),
    ("uri-1m", b"GET /" + b"a" * 1000000 + b" HTTP/1.1\r\n" + H + b"\r\n",
     {414, 400}),
    ("header-9k", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: "
     + b"a" * 9000 + b"\r\n\r\n", {400, 431}),
    ("header-1m", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: "
     + b"a" * 1000000 + b"\r\n\r\n", {400, 431}),
    ("headers-5000", b"GET /healthz HTTP/1.1\r\n" + H
     + b"".join(b"X-%d: y\r\n" % i for i in range(5000)) + b"\r\n",
     {400, 431}),
    ("method-foo", b"FOO /time HTTP/1.1\r\n" + H + b"\r\n", {405}),
    ("method-post", b"POST /time HTTP/1.1\r\n" + H
     + b"Content-Length: 5\r\n\r\nhello", {405}),
    ("method-delete", b"DELETE / HTTP/1.1\r\n" + H + b"\r\n", {405}),
    ("method-trace", b"TRACE / HTTP/1.1\r\n" + H + b"\r\n", {405}),
    ("method-junk", b"G@T / HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("method-long", b"A" * 5000 + b" / HTTP/1.1\r\n" + H + b"\r\n",
     {400, 405, 414}),
    ("junk-binary", b"\x00\x01\x02\xff\xfe junk\r\n\r\n", {400}),
    ("junk-no-uri", b"GET\r\n\r\n", {400}),
    ("junk-crlf", b"\r\n\r\n\r\n", {400, None}),
    ("junk-tls", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,
     {400}),
    ("no-host", b"GET /healthz HTTP/1.1\r\n\r\n", {400}),
    ("double-host", b"GET /healthz HTTP/1.1\r\n" + H + H + b"\r\n", {400}),
    ("dotdot", b"GET /../../etc/passwd HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("encoded-nul", b"GET /time%00x HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("bad-content-length", b"GET /healthz HTTP/1.1\r\n" + H
     + b"Content-Length: -1\r\n\r\n", {400}),
    ("cl-and-chunked", b"GET /healthz HTTP/1.1\r\n" + H
     + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
     {400}),
    ("big-body", b"GET /healthz HTTP/1.1\r\n" + H
     + b"Content-Length: 100000\r\n\r\n" + b"x" * 100000, {413}),
    # An unsupported version gets nginx's 505, the one 5xx that is the
    # right answer to a bad request.
    ("http-9.9", b"GET /healthz HTTP/9.9\r\n" + H + b"\r\n", {505}),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 505}),
]


def cmd_http_garbage(a):
    normal = Normal(a.url)
    normal.start()
    host, port = a.host, a.port
    results, bad = [], []
    idle = [socket.create_connection((host, port)) for _ in range(a.idle)]

    # Slowloris: headers a byte every 0.5 s, never finished.
    slow_stop = threading.Event()
    slow_ended = []

    def slowloris():
        s = socket.create_connection((host, port))
        s.settimeout(0.5)
        line = b"GET /healthz HTTP/1.1\r\n" + H + b"X-Slow: " + b"a" * 1000
        t0 = time.monotonic()
        try:
            for b in line:
                if slow_stop.is_set():
                    break
                s.send(bytes([b]))
                try:
                    if s.recv(4096) == b"":
                        break
                except socket.timeout:
                    pass
        except OSError:
            pass
        slow_ended.append(round(time.monotonic() - t0, 1))
        s.close()

    slow = [threading.Thread(target=slowloris, daemon=True)
            for _ in range(a.slow)]
    for t in slow:
        t.start()

    for name, req, want in BAD_HTTP:
        raw = http_exchange(host, port, req)
        codes = statuses(raw)
        code = codes[0] if codes else None
        ok = code in want
        results.append({"case": name, "status": code, "ok": ok})
        if not ok:
            bad.append("%s: %s, want %s (%r)" % (name, code, sorted(
                w for w in want if w is not None), raw[:60]))

    # HTTP/0.9: no status line; nginx answers with the body alone.
    raw = http_exchange(host, port, b"GET /healthz\r\n", half_close=False)
    ok09 = raw.startswith(b'{"status":"ok"}') or statuses(raw)[:1] == [400]
    results.append({"case": "http-0.9", "answer": raw[:40].decode(
        "latin-1"), "ok": ok09})
    if not ok09:
        bad.append("http-0.9: %r" % raw[:60])

    # Pipelining: 20 requests in one write, 10 of them counting.
    pipe = b"".join(b"GET %s HTTP/1.1\r\n%s\r\n" % (
        b"/time" if i % 2 else b"/healthz", H) for i in range(20))
    raw = http_exchange(host, port, pipe + b"GET /healthz HTTP/1.1\r\n" + H
                        + b"Connection: close\r\n\r\n", timeout=10,
                        half_close=False)
    codes = statuses(raw)
    okpipe = codes == [200] * 21
    results.append({"case": "pipelined-21", "statuses": len(codes),
                    "ok": okpipe})
    if not okpipe:
        bad.append("pipelined: %s" % codes)

    time.sleep(max(0.0, a.seconds - (time.monotonic() - normal.t0)))
    slow_stop.set()
    for t in slow:
        t.join(2)
    normal.stop.set()
    normal.join()
    idle_closed = 0
    for s in idle:
        s.settimeout(0.1)
        try:
            if s.recv(1) == b"":
                idle_closed += 1
        except (socket.timeout, OSError):
            pass
        s.close()
    out = {"cases": len(results), "bad": bad, "extra_visits": 10,
           "slowloris": a.slow, "slowloris_seconds": sorted(slow_ended),
           "idle": a.idle, "idle_closed_by_nginx": idle_closed}
    out.update(normal.summary())
    print(json.dumps(out))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("fcgi-garbage")
    g.add_argument("socket")
    g.add_argument("url")
    g.add_argument("--seconds", type=float, default=20)
    g.add_argument("--idle", type=int, default=200)
    g.add_argument("--attackers", type=int, default=4)
    g.add_argument("--hang", type=float, default=12,
                   help="a garbage connection must be closed within this"
                   " (the program's --io-timeout, 10 s, and 2 s)")
    g.set_defaults(func=cmd_fcgi_garbage)
    t = sub.add_parser("fcgi-trickle")
    t.add_argument("socket")
    t.add_argument("url")
    t.add_argument("--clients", type=int, default=5)
    t.add_argument("--seconds", type=float, default=8)
    t.set_defaults(func=cmd_fcgi_trickle)
    m = sub.add_parser("fcgi-mgmt")
    m.add_argument("socket")
    m.add_argument("--records", type=int, default=100000)
    m.add_argument("--clients", type=int, default=1)
    m.add_argument("--no-read", action="store_true")
    m.add_argument("--url")
    m.add_argument("--seconds", type=float, default=5)
    m.set_defaults(func=cmd_fcgi_mgmt)
    b = sub.add_parser("fcgi-bigpair")
    b.add_argument("socket")
    b.set_defaults(func=cmd_fcgi_bigpair)
    h = sub.add_parser("http-garbage")
    h.add_argument("host")
    h.add_argument("port", type=int)
    h.add_argument("url")
    h.add_argument("--seconds", type=float, default=15)
    h.add_argument("--idle", type=int, default=200)
    h.add_argument("--slow", type=int, default=20)
    h.set_defaults(func=cmd_http_garbage)
    a = p.parse_args()
    sys.exit(a.func(a))


if __name__ == "__main__":
    main()
