#!/usr/bin/env python3
"""A small FastCGI client for the tests: talks to visits-fcgi's Unix socket
directly, without nginx, to do what nginx never would (hold a request
half-sent, send malformed records).

    fcgi_client.py request SOCK [--method M] [--uri U] [--timeout S]
        one request; prints one JSON object: status, headers, body,
        app_status, protocol_status; exit 0 when an answer came
    fcgi_client.py inflight SOCK PID [--count N] [--uri U] [--delay S]
                            [--newcomer]
        opens N connections, sends each request but its last record,
        waits until PID has accepted them and read what was sent (ss),
        SIGTERMs PID, waits S seconds, completes the requests and reads the
        answers; prints one JSON object a request; exit 0 when every
        answer is a complete 200.  With --newcomer, before completing them
        it tries a new connection, which must be refused (the program
        stops accepting at once), and prints one more object for it
    fcgi_client.py abuse SOCK
        every malformed case of tests/cases/fcgi, each on its own
        connection; after each one a well-formed request must still be
        answered; prints one JSON object a case; exit 0 when the program
        survived them all
    fcgi_client.py stall SOCK [--count N] [--timeout S]
        holds N connections with half a record each and meanwhile times a
        normal request; exit 0 when it was answered within S seconds
"""

import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = \
    1, 2, 3, 4, 5, 6, 7
RESPONDER = 1
KEEP_CONN = 1


def record(rtype, content=b"", request_id=1, version=VERSION):
    """One record, padded to a multiple of 8 as the spec recommends."""
    pad = -len(content) % 8
    return struct.pack(">BBHHBx", version, rtype, request_id, len(content),
                       pad) + content + b"\0" * pad


def stream(rtype, data, request_id=1):
    """A whole stream: records of at most 65535 bytes, then the empty one."""
    out = b""
    for i in range(0, len(data), 65535):
        out += record(rtype, data[i:i + 65535], request_id)
    return out + record(rtype, b"", request_id)


def pair_length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    out = b""
    for name, value in params:
        name, value = name.encode(), value.encode()
        out += pair_length(len(name)) + pair_length(len(value)) + name + value
    return out


def nginx_params(method, uri):
    """What nginx/nginx.conf passes."""
    path, _, query = uri.partition("?")
    return [("REQUEST_METHOD", method), ("REQUEST_URI", uri),
            ("DOCUMENT_URI", path), ("QUERY_STRING", query),
            ("SERVER_PROTOCOL", "HTTP/1.1"), ("CONTENT_LENGTH", ""),
            ("CONTENT_TYPE", ""), ("REMOTE_ADDR", "127.0.0.1")]


def begin(flags=0, role=RESPONDER, request_id=1):
    return record(BEGIN_REQUEST, struct.pack(">HB5x", role, flags),
                  request_id)


def full_request(method="GET", uri="/healthz", request_id=1, flags=0):
    return (begin(flags, request_id=request_id)
            + stream(PARAMS, encode_params(nginx_params(method, uri)),
                     request_id)
            + record(STDIN, b"", request_id))


def connect(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(buf), n))
        buf += chunk
    return buf


def read_answer(s):
    """Records until END_REQUEST: (stdout, stderr, app, protocol)."""
    out, err = b"", b""
    while True:
        hdr = recv_exact(s, 8)
        version, rtype, _rid, length, pad = struct.unpack(">BBHHBx", hdr)
        if version != VERSION:
            raise ValueError("bad record version %d" % version)
        content = recv_exact(s, length + pad)[:length]
        if rtype == STDOUT:
            out += content
        elif rtype == STDERR:
            err += content
        elif rtype == END_REQUEST:
            app, proto = struct.unpack(">IB3x", content)
            return out, err, app, proto
        else:
            raise ValueError("unexpected record type %d" % rtype)


def parse_cgi(out):
    """CGI response: headers, blank line, body; Status defaults to 200."""
    sep = out.find(b"\r\n\r\n")
    seplen = 4
    if sep < 0:
        sep, seplen = out.find(b"\n\n"), 2
    if sep < 0:
        return None, {}, out
    headers = {}
    for line in out[:sep].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = 200
    if "status" in headers:
        status = int(headers["status"].split()[0])
    return status, headers, out[sep + seplen:]


def answer_json(out, err, app, proto):
    status, headers, body = parse_cgi(out)
    return {"status": status, "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "stderr": err.decode("utf-8", "replace"),
            "app_status": app, "protocol_status": proto}


def do_request(path, method, uri, timeout):
    s = connect(path, timeout)
    try:
        s.sendall(full_request(method, uri))
        return answer_json(*read_answer(s))
    finally:
        s.close()


def cmd_request(a):
    try:
        res = do_request(a.socket, a.method, a.uri, a.timeout)
    except (OSError, EOFError, ValueError) as e:
        print(json.dumps({"error": str(e)}))
        return 1
    print(json.dumps(res))
    return 0


def taken_in(path, timeout):
    """Wait until the program has accepted every connection to path: ss
    shows the listening socket's queue (Recv-Q of the LISTEN line) empty.
    The bytes sent stay unread until a whole request is there (the program
    peeks).  True if so within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["ss", "-xlH"], capture_output=True,
                             text=True).stdout
        queued = [int(f[2]) for f in (line.split() for line in
                                      out.splitlines())
                  if len(f) >= 5 and f[1] == "LISTEN" and f[4] == path]
        if queued and not any(queued):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def newcomer(path, timeout):
    """What a new connection gets after the stop."""
    try:
        s = connect(path, timeout)
    except (ConnectionRefusedError, FileNotFoundError) as e:
        return {"new_connection": "refused", "detail": type(e).__name__}
    except OSError as e:
        return {"new_connection": "error", "detail": str(e)}
    try:
        s.sendall(full_request("GET", "/time"))
        res = answer_json(*read_answer(s))
        return {"new_connection": "answered", "status": res["status"]}
    except socket.timeout:
        return {"new_connection": "accepted, then no answer (hang)"}
    except (OSError, EOFError, ValueError) as e:
        return {"new_connection": "accepted, then closed", "detail": str(e)}
    finally:
        s.close()


def cmd_inflight(a):
    conns = []
    # Everything up to the end of the params: the program has the
    # connection and the request's beginning, and cannot answer yet.
    tail = record(PARAMS, b"") + record(STDIN, b"")
    head = full_request("GET", a.uri)[:-len(tail)]
    for i in range(a.count):
        s = connect(a.socket, a.timeout)
        s.sendall(head)
        conns.append(s)
    # SIGTERM only once the program holds every request's beginning: a
    # connection still in the listen queue is not in flight yet.
    taken = taken_in(a.socket, 10)
    time.sleep(a.delay)
    os.kill(a.pid, signal.SIGTERM)
    time.sleep(a.delay)
    new = newcomer(a.socket, 3) if a.newcomer else None
    good = new is None or new["new_connection"] == "refused"
    for i, s in enumerate(conns):
        try:
            try:
                s.sendall(tail)
            except OSError:
                pass    # an answer may be waiting all the same
            res = answer_json(*read_answer(s))
            res["complete"] = res["protocol_status"] == 0
        except (OSError, EOFError, ValueError) as e:
            res = {"error": str(e), "complete": False}
        finally:
            s.close()
        res["n"] = i
        res["taken_before_sigterm"] = taken
        good = good and res.get("complete") and res.get("status") == 200
        print(json.dumps(res))
    if new is not None:
        print(json.dumps(new))
    return 0 if good else 1


CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                     "cases", "fcgi")


def malformed_cases():
    """(name, bytes) for each malformed FastCGI case in tests/cases/fcgi."""
    cases = []
    for name in sorted(os.listdir(CASES)):
        with open(os.path.join(CASES, name), "rb") as f:
            cases.append((name, f.read()))
    return cases


def cmd_abuse(a):
    good = True
    for name, data in malformed_cases():
        res = {"case": name}
        try:
            s = connect(a.socket, a.timeout)
            try:
                try:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                except OSError as e:
                    # The program may close before reading it all.
                    res["send"] = str(e)
                t0 = time.monotonic()
                try:
                    while s.recv(65536):
                        pass
                    res["outcome"] = "answered or closed"
                except socket.timeout:
                    res["outcome"] = "hang"
                    good = False
                except OSError as e:
                    res["outcome"] = "closed: %s" % e
                res["seconds"] = round(time.monotonic() - t0, 3)
            finally:
                s.close()
            after = do_request(a.socket, "GET", "/healthz", a.timeout)
            res["then_healthz"] = after["status"]
            if after["status"] != 200:
                good = False
        except (OSError, EOFError, ValueError) as e:
            res["then_healthz"] = "failed: %s" % e
            good = False
        print(json.dumps(res))
    return 0 if good else 1


def cmd_stall(a):
    held = []
    for _ in range(a.count):
        s = connect(a.socket, a.timeout)
        s.sendall(begin()[:4])
        held.append(s)
    time.sleep(0.2)
    t0 = time.monotonic()
    try:
        res = do_request(a.socket, "GET", "/healthz", a.timeout)
        res = {"status": res["status"]}
    except (OSError, EOFError, ValueError) as e:
        res = {"error": str(e)}
    res["seconds"] = round(time.monotonic() - t0, 3)
    res["held"] = a.count
    for s in held:
        s.close()
    print(json.dumps(res))
    return 0 if res.get("status") == 200 and res["seconds"] < a.timeout \
        else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("request")
    r.add_argument("socket")
    r.add_argument("--method", default="GET")
    r.add_argument("--uri", default="/healthz")
    r.add_argument("--timeout", type=float, default=10)
    r.set_defaults(func=cmd_request)
    f = sub.add_parser("inflight")
    f.add_argument("socket")
    f.add_argument("pid", type=int)
    f.add_argument("--count", type=int, default=4)
    f.add_argument("--uri", default="/time")
    f.add_argument("--delay", type=float, default=0.5)
    f.add_argument("--timeout", type=float, default=10)
    f.add_argument("--newcomer", action="store_true")
    f.set_defaults(func=cmd_inflight)
    b = sub.add_parser("abuse")
    b.add_argument("socket")
    b.add_argument("--timeout", type=float, default=15)
    b.set_defaults(func=cmd_abuse)
    s = sub.add_parser("stall")
    s.add_argument("socket")
    s.add_argument("--count", type=int, default=8)
    s.add_argument("--timeout", type=float, default=3)
    s.set_defaults(func=cmd_stall)
    a = p.parse_args()
    sys.exit(a.func(a))


if __name__ == "__main__":
    main()
