#!/usr/bin/env python3
"""Check, in an `strace -f -tt` log of visits-fcgi serving one counting
request, the order of the syscalls that store the visit and answer it.

    strace_order.py TRACE DATA_DIR durable|not-durable

Prints one line a check ("ok - ..." / "not ok - ...") and the trace lines
it relied on ("# ..."); exit 0 when every check passed.

durable:      openat(DATA_DIR) = D, openat(D, "visits.tmp", O_WRONLY...) = T
              (created, or left by an earlier update), write(T, "N\\n"),
              fdatasync(T), renameat or renameat2(D, "visits.tmp", D,
              "visits"...), fsync(D), each finished before the next starts,
              and the last finished before the first write of the answer
              (a FastCGI STDOUT record) to the accepted connection.
not-durable:  the same without fsync(D) (no fsync at all before the
              answer): the data is synced before the rename, so that a
              power cut leaves the old or the new count, never an empty
              file; the directory is not, so the visit may be lost.
"""

import re
import sys

LINE = re.compile(r"^(\d+) +(\d\d:\d\d:\d\d\.\d+) (.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
RET = re.compile(r"\) += (-?\d+|\?)")


class Call:
    def __init__(self, pid, time, name, start, text):
        self.pid, self.time, self.name = pid, time, name
        self.start, self.end = start, None
        self.text = text            # the arguments, as strace shows them
        self.ret = None
        self.lines = []

    def finish(self, idx, rest):
        m = None
        for m in RET.finditer(rest):
            pass
        if m is not None:
            self.ret = m.group(1)
            self.text += rest[:m.start()]
        else:
            self.text += rest
        self.end = idx

    def arg(self, n):
        return [a.strip() for a in self.text.split(",")][n]


def parse(path):
    calls, pending = [], {}
    with open(path, errors="replace") as f:
        for idx, raw in enumerate(f):
            raw = raw.rstrip("\n")
            m = LINE.match(raw)
            if not m:
                continue
            pid, time, rest = m.groups()
            r = RESUMED.match(rest)
            if r:
                c = pending.pop(pid, None)
                if c is None or c.name != r.group(1):
                    continue
                c.lines.append(raw)
                c.finish(idx, r.group(2))
                continue
            m = CALL.match(rest)
            if not m:
                continue            # signals, exits
            c = Call(pid, time, m.group(1), idx, "")
            c.lines.append(raw)
            body = m.group(2)
            if body.endswith("<unfinished ...>"):
                c.text = body[:-len("<unfinished ...>")].rstrip()
                pending[pid] = c
            else:
                c.finish(idx, body)
            calls.append(c)
    return calls


def main():
    trace, data_dir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    durable = mode == "durable"
    calls = parse(trace)
    results = []

    def check(cond, desc):
        results.append(bool(cond))
        print(("ok - " if cond else "not ok - ") + desc)
        return cond

    def show(what, c):
        for line in c.lines:
            print("# %-14s %s" % (what, line))

    def first(pred, after=-1, before=None):
        for c in calls:
            if c.start > after and (before is None or c.start < before) \
                    and pred(c):
                return c
        return None

    def last(pred, before):
        found = None
        for c in calls:
            if c.start < before and pred(c):
                found = c
        return found

    # The answer: the first write of a FastCGI STDOUT record ("\1\6").
    answer = first(lambda c: c.name in ("write", "writev", "sendmsg")
                   and '"\\1\\6' in c.text)
    if not check(answer is not None, "the answer is in the trace"):
        return 1
    conn = answer.arg(0)
    acc = last(lambda c: c.name in ("accept", "accept4") and c.ret == conn,
               answer.start)
    check(acc is not None, "the answer goes to the accepted connection "
          "(fd %s)" % conn)
    tmp = last(lambda c: c.name == "openat" and '"visits.tmp"' in c.text
               and "O_WRONLY" in c.text and c.ret not in (None, "-1"),
               answer.start)
    if not check(tmp is not None,
                 "visits.tmp opened for writing before the answer"):
        return 1
    t, d = tmp.ret, tmp.arg(0)
    dopen = last(lambda c: c.name == "openat" and c.ret == d
                 and '"%s"' % data_dir in c.text and "O_DIRECTORY" in c.text,
                 tmp.start)
    check(dopen is not None, "its directory fd %s is the data directory, "
          "opened by path" % d)
    write = first(lambda c: c.name == "write" and c.arg(0) == t, tmp.start)
    sync = first(lambda c: c.name == "fdatasync" and c.arg(0) == t,
                 tmp.start)
    ren = first(lambda c: c.name.startswith("rename") and
                re.search(r'%s, "visits\.tmp", %s, "visits"' % (d, d),
                          c.text), tmp.start)
    dsync = first(lambda c: c.name == "fsync" and c.arg(0) == d, tmp.start)
    syncs = [c for c in calls if c.name in ("fsync", "sync", "syncfs",
                                            "msync")
             and c.start < answer.start]

    # The evidence, in the order the calls began (a sync after the
    # answer, such as the one at exit, is not part of it).
    shown = [(what, c) for what, c in (
        ("open dir", dopen), ("open tmp", tmp), ("write tmp", write),
        ("fdatasync", sync), ("rename", ren), ("fsync dir", dsync),
        ("accept", acc), ("answer", answer))
        if c is not None and c.start <= answer.start]
    for what, c in sorted(shown, key=lambda wc: wc[1].start):
        show(what, c)

    ok_done = lambda c: c is not None and c.end is not None and \
        c.ret is not None and c.ret != "-1"
    check(ok_done(write) and re.search(r'"\d+\\n"', write.text),
          "the new count (digits, newline) is written to visits.tmp "
          "(fd %s)" % t)
    order = [("write visits.tmp", write), ("fdatasync visits.tmp", sync),
             ("renameat visits.tmp -> visits", ren)]
    if durable:
        order += [("fsync of the directory", dsync)]
    order += [("answer written", answer)]
    for (a_name, a), (b_name, b) in zip(order, order[1:]):
        check(ok_done(a) and b is not None and a.end < b.start,
              "%s finished (%s) before %s started (%s)" % (
                  a_name, a.time if a else "-", b_name,
                  b.time if b else "-"))
    if durable:
        check(ok_done(sync) and ok_done(dsync),
              "both syncs succeeded")
    else:
        check(ok_done(sync), "the data sync succeeded")
        check(not syncs, "no fsync before the answer (%d seen)" %
              len(syncs))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
