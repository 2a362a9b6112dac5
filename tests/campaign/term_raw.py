#!/usr/bin/env python3
"""SIGTERM with FastCGI requests in flight, on the program's own socket.

    term_raw.py SOCK PID [--count N] [--delay S]

Opens N connections, sends each a GET /time but its last record, SIGTERMs
PID, then tries a new connection (it must be refused: the program stops
accepting at once), then completes the N requests and reads the answers.
Prints one JSON object a request and one for the new connection; exit 0
when every request got a complete 200 and the new connection was refused.
"""

import argparse
import json
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import fcgi_client as fc  # noqa: E402


def try_new(path, timeout):
    """What a newcomer gets after the stop."""
    try:
        s = fc.connect(path, timeout)
    except (ConnectionRefusedError, FileNotFoundError) as e:
        return {"new_connection": "refused", "detail": type(e).__name__}
    except OSError as e:
        return {"new_connection": "error", "detail": str(e)}
    try:
        s.sendall(fc.full_request("GET", "/time"))
        res = fc.answer_json(*fc.read_answer(s))
        return {"new_connection": "answered", "status": res["status"]}
    except socket.timeout:
        return {"new_connection": "accepted, then no answer (hang)"}
    except (OSError, EOFError, ValueError) as e:
        return {"new_connection": "accepted, then closed", "detail": str(e)}
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("socket")
    p.add_argument("pid", type=int)
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--delay", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=10)
    a = p.parse_args()
    tail = fc.record(fc.STDIN, b"")
    conns = []
    for _ in range(a.count):
        s = fc.connect(a.socket, a.timeout)
        s.sendall(fc.full_request("GET", "/time")[:-len(tail)])
        conns.append(s)
    import time
    time.sleep(a.delay)
    os.kill(a.pid, signal.SIGTERM)
    time.sleep(a.delay)
    new = try_new(a.socket, 3)
    good = new["new_connection"] == "refused"
    for i, s in enumerate(conns):
        try:
            s.sendall(tail)
            res = fc.answer_json(*fc.read_answer(s))
            res = {"status": res["status"], "body": res["body"],
                   "complete": res["protocol_status"] == 0}
        except (OSError, EOFError, ValueError) as e:
            res = {"error": str(e), "complete": False}
        finally:
            s.close()
        res["n"] = i
        good = good and res.get("complete") and res.get("status") == 200
        print(json.dumps(res))
    print(json.dumps(new))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
