#!/usr/bin/env python3
"""Write the fuzz targets' seed corpus (committed in tests/fuzz/corpus/).

    make-corpus.py DIR     writes DIR/fcgi/* and DIR/route/*

The FastCGI seeds are whole connections as nginx/nginx.conf makes them
(BEGIN_REQUEST with FCGI_KEEP_CONN, the eight params in one PARAMS record,
the empty PARAMS, the empty STDIN; records padded to 8 bytes), built with
tests/lib/fcgi_client.py, plus the odd cases a fuzzer would take long to
find by itself.  capture-nginx.sh adds connections captured from a real
nginx (files named nginx-*).  Run again after changing this file and
commit the result; file names are stable, contents deterministic.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import fcgi_client as fc  # noqa: E402

ROUTES = ["/", "/time", "/visits", "/healthz", "/readyz", "/metrics",
          "/cluster", "/nope", "/time?x=1", "/?a=b", "/visits#frag", ""]
KEEP = fc.KEEP_CONN
GET_VALUES = 9


def req(method, uri, flags=KEEP, request_id=1, extra=()):
    """One request as nginx sends it (extra params appended)."""
    params = fc.nginx_params(method, uri) + list(extra)
    return (fc.begin(flags, request_id=request_id)
            + fc.record(fc.PARAMS, fc.encode_params(params), request_id)
            + fc.record(fc.PARAMS, b"", request_id)
            + fc.record(fc.STDIN, b"", request_id))


def raw_pair(name, value, name_len=None, value_len=None):
    """A name-value pair whose declared lengths may lie."""
    nl = len(name) if name_len is None else name_len
    vl = len(value) if value_len is None else value_len
    enc = (lambda n: bytes([n]) if n < 128
           else struct.pack(">I", (n | 0x80000000) & 0xffffffff))
    return enc(nl) + enc(vl) + name + value


def fcgi_seeds():
    seeds = {}
    safe = {"/": "index", "": "empty-uri"}
    for uri in ROUTES:
        name = safe.get(uri, uri.strip("/").replace("?", "-q-")
                        .replace("#", "-h-").replace("=", "-"))
        seeds["get-" + name] = req("GET", uri)
        seeds["head-" + name] = req("HEAD", uri)
    seeds["post-time"] = req("POST", "/time")
    seeds["delete-index"] = req("DELETE", "/")
    seeds["get-nokeep-time"] = req("GET", "/time", flags=0)
    # Kept connections: several requests one after the other.
    seeds["keep-sequence"] = (req("GET", "/time") + req("GET", "/visits")
                              + req("HEAD", "/") + req("GET", "/metrics")
                              + req("GET", "/readyz"))
    seeds["keep-visits-10"] = b"".join(req("GET", "/") for _ in range(10))
    seeds["keep-then-close"] = (req("GET", "/time")
                                + req("GET", "/time", flags=0)
                                + req("GET", "/time"))
    seeds["keep-request-ids"] = (req("GET", "/time", request_id=1)
                                 + req("GET", "/healthz", request_id=2)
                                 + req("GET", "/", request_id=65535))
    # Only REQUEST_URI (another FastCGI client than nginx).
    body = fc.encode_params([("REQUEST_METHOD", "GET"),
                             ("REQUEST_URI", "/time?x=1")])
    seeds["request-uri-only"] = (fc.begin(KEEP) + fc.record(fc.PARAMS, body)
                                 + fc.record(fc.PARAMS) + fc.record(fc.STDIN))
    # Params split over several records, one byte each.
    body = fc.encode_params(fc.nginx_params("GET", "/time"))
    seeds["params-split"] = (fc.begin(KEEP)
                             + b"".join(fc.record(fc.PARAMS, body[i:i + 1])
                                        for i in range(len(body)))
                             + fc.record(fc.PARAMS) + fc.record(fc.STDIN))
    # A request body: small, and larger than the handler discards.
    seeds["stdin-small"] = (fc.begin(KEEP)
                            + fc.stream(fc.PARAMS, fc.encode_params(
                                fc.nginx_params("GET", "/time")
                                + [("CONTENT_LENGTH", "5")]))
                            + fc.stream(fc.STDIN, b"hello")
                            + req("GET", "/visits"))
    seeds["stdin-70k"] = (fc.begin(KEEP)
                          + fc.stream(fc.PARAMS, fc.encode_params(
                              fc.nginx_params("GET", "/time")))
                          + fc.stream(fc.STDIN, b"x" * 70000)
                          + req("GET", "/visits"))
    # Lengths that lie: a pair claiming 2 GiB, 128 bytes, more than sent.
    seeds["param-2gib-name"] = (fc.begin(KEEP) + fc.record(
        fc.PARAMS, raw_pair(b"X", b"y", name_len=0x7fffffff))
        + fc.record(fc.PARAMS) + fc.record(fc.STDIN))
    seeds["param-2gib-value"] = (fc.begin(KEEP) + fc.record(
        fc.PARAMS, raw_pair(b"REQUEST_METHOD", b"GET", value_len=0x7fffffff))
        + fc.record(fc.PARAMS) + fc.record(fc.STDIN))
    seeds["param-4gib-both"] = (fc.begin(KEEP) + fc.record(
        fc.PARAMS, raw_pair(b"A", b"B", name_len=0xffffffff,
                            value_len=0xffffffff))
        + fc.record(fc.PARAMS) + fc.record(fc.STDIN))
    seeds["param-len-past-end"] = (fc.begin(KEEP) + fc.record(
        fc.PARAMS, raw_pair(b"DOCUMENT_URI", b"/time", value_len=200))
        + fc.record(fc.PARAMS) + fc.record(fc.STDIN))
    seeds["param-long-uri"] = req("GET", "/" + "a" * 3000)
    seeds["param-many"] = req("GET", "/time", extra=[
        ("HTTP_X_%d" % i, "v") for i in range(300)])
    seeds["param-odd-names"] = req("GET", "/time", extra=[
        ("", ""), ("=", "="), ("\x01\xff", "\0\0"),
        ("REQUEST_METHOD", "HEAD"), ("DOCUMENT_URI", "")])
    seeds["param-nul-in-uri"] = (fc.begin(KEEP) + fc.stream(
        fc.PARAMS, fc.encode_params([("REQUEST_METHOD", "GET"),
                                     ("DOCUMENT_URI", "/time\0/x")]))
        + fc.record(fc.STDIN))
    # Aborts, odd roles, management records, multiplexing.
    seeds["abort-after-begin"] = (fc.begin(KEEP)
                                  + fc.record(fc.ABORT_REQUEST)
                                  + req("GET", "/time"))
    seeds["abort-after-params"] = (fc.begin(KEEP) + fc.stream(
        fc.PARAMS, fc.encode_params(fc.nginx_params("GET", "/time")))
        + fc.record(fc.ABORT_REQUEST) + fc.record(fc.STDIN)
        + req("GET", "/visits"))
    seeds["role-authorizer"] = (fc.begin(KEEP, role=2) + fc.stream(
        fc.PARAMS, fc.encode_params(fc.nginx_params("GET", "/time")))
        + fc.record(fc.STDIN))
    seeds["role-filter"] = (fc.begin(KEEP, role=3) + fc.stream(
        fc.PARAMS, fc.encode_params(fc.nginx_params("GET", "/time")))
        + fc.record(fc.STDIN) + fc.record(8, b"data"))
    seeds["role-unknown"] = fc.begin(KEEP, role=99) + req("GET", "/")
    seeds["get-values"] = (fc.record(GET_VALUES, fc.encode_params(
        [("FCGI_MAX_CONNS", ""), ("FCGI_MAX_REQS", ""),
         ("FCGI_MPXS_CONNS", "")]), request_id=0) + req("GET", "/time"))
    seeds["unknown-type-mgmt"] = (fc.record(11, b"abc", request_id=0)
                                  + req("GET", "/healthz"))
    seeds["unknown-type"] = fc.record(42, b"abc") + req("GET", "/healthz")
    seeds["multiplexed"] = (fc.begin(KEEP, request_id=1)
                            + fc.begin(KEEP, request_id=2)
                            + fc.stream(fc.PARAMS, fc.encode_params(
                                fc.nginx_params("GET", "/time")), 2)
                            + fc.stream(fc.PARAMS, fc.encode_params(
                                fc.nginx_params("GET", "/")), 1)
                            + fc.record(fc.STDIN, b"", 2)
                            + fc.record(fc.STDIN, b"", 1))
    seeds["params-before-begin"] = (fc.stream(fc.PARAMS, fc.encode_params(
        fc.nginx_params("GET", "/time"))) + req("GET", "/time"))
    seeds["request-id-0"] = req("GET", "/time", request_id=0)
    # Broken framing.
    seeds["bad-version"] = fc.record(fc.BEGIN_REQUEST, struct.pack(
        ">HB5x", 1, KEEP), version=9) + req("GET", "/")
    seeds["truncated-header"] = req("GET", "/time") + b"\x01\x04\x00"
    seeds["truncated-content"] = req("GET", "/time")[:-12]
    seeds["begin-short-body"] = (fc.record(fc.BEGIN_REQUEST, b"\x00\x01")
                                 + req("GET", "/"))
    seeds["no-stdin-end"] = req("GET", "/time")[:-8]
    seeds["empty"] = b""
    seeds["zero-bytes"] = b"\0" * 64
    return seeds


def route_seeds():
    seeds = {}
    for uri in ROUTES + ["/time/", "/TIME", "/timex", "?", "#", "/time?",
                         "/metrics#x?y", "//", "/\0time"]:
        seeds["uri-" + uri.encode().hex()] = uri.encode()
    for method in ["GET", "HEAD", "POST", "get", "GETX", ""]:
        seeds["method-" + (method or "empty")] = method.encode()
        seeds["both-" + (method or "empty")] = (method + "\n/time?x").encode()
    for count in ["0", "1\n", "42", "16\n", "18446744073709551615",
                  "18446744073709551615\n", "18446744073709551616",
                  "99999999999999999999", "-1", "007", "0\n", "\n", "",
                  "12\n\n", " 12", "12 ", "1e3", "+5"]:
        seeds["count-" + (count.encode().hex() or "empty")] = count.encode()
    return seeds


def write(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write(os.path.join(sys.argv[1], "fcgi"), fcgi_seeds())
    write(os.path.join(sys.argv[1], "route"), route_seeds())


if __name__ == "__main__":
    main()
