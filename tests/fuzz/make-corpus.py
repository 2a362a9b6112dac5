#!/usr/bin/env python3
"""Write the fuzz targets' seed corpus (committed in tests/fuzz/corpus/).

    make-corpus.py DIR     writes DIR/fcgi/* and DIR/route/*

The FastCGI seeds are whole connections as nginx/nginx.conf makes them
(BEGIN_REQUEST with FCGI_KEEP_CONN, the eight params in one PARAMS record,
the empty PARAMS, the empty STDIN; records padded to 8 bytes), built with
tests/lib/fcgi_client.py, and well-formed variants nginx does not send
(kept connections, split params, bodies, long URIs, many params).  The
malformed cases are data in tests/cases/fcgi, which run.sh gives libFuzzer
as seeds too.  capture-nginx.sh adds connections captured from a real
nginx (files named nginx-*).  Run again after changing this file and
commit the result; file names are stable, contents deterministic.
"""

import os
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
    seeds["param-long-uri"] = req("GET", "/" + "a" * 3000)
    seeds["param-many"] = req("GET", "/time", extra=[
        ("HTTP_X_%d" % i, "v") for i in range(300)])
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
