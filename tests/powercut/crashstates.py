#!/usr/bin/env python3
"""Every disk a power cut could leave, rebuilt from a logfs block log,
mounted, checked, and the counter read.

    crashstates.py FS BASE LOG VISITS WORK [--durable] [--budget N]
                   [--seed S] [--keep FILE]

FS       ext4, xfs or btrfs
BASE     the image as it was when logging began
LOG      the logfs log (tests/powercut/logfs.c: struct rec)
VISITS   drive.py's output: "SENT ACKED" log sizes, one visit a line
WORK     a directory for the state image and its mount point
--keep   where to write the first failing state's image (as built, before
         the mount), to look at it

The log is cut at its flushes.  A crash between flush k and flush k+1
leaves every write before flush k, and any subset of the writes between
the two (the disk's cache drops what it likes), in 4 KiB pieces.  Each
gap's subsets are all of them while there are at most 2^SMALL, else
every prefix and RANDOM random subsets.  Beyond --budget states in all,
every flush point (the empty subset) first, then a seeded sample of the
rest.

Each state is mounted (the journal or log replays), the counter file
data/visits read, the file system unmounted and checked (e2fsck -fn,
xfs_repair -n, btrfs check).  A state passes when it mounts, the checker
is clean, the counter is missing (0) or parses as the program parses it,
and its value is at most the visits sent before the state's end and, with
--durable, at least the visits whose 200 arrived before its last flush.

A failing state is built and checked a second time: when that one
passes (or reads another count), the state is "unstable", shown and
counted apart, and the second verdict stands.  Prints one line per
failing state (the first few), then a summary.  Exits
1 if any state failed, 2 if the premise does not hold (no flush in the
log, or no visit acknowledged).
"""

import argparse
import bisect
import mmap
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time

REC = struct.Struct("<IIQ")
REC_WRITE, REC_FLUSH = 0x57, 0x46
PIECE = 4096
SMALL = 4
RANDOM = 12
SHOW = 10
COUNT = re.compile(rb"(0|[1-9][0-9]{0,19})\n?")
CHECKER = {
    "ext4": ["e2fsck", "-fn"],
    "xfs": ["xfs_repair", "-n"],
    "btrfs": ["btrfs", "check"],
}
FINDING = re.compile(r"would|error|corrupt|bad|differences|wrong|fix\?",
                     re.I)
MOUNT_OPTS = {"ext4": [], "xfs": ["-o", "nouuid"], "btrfs": []}


def read_log(path):
    """(writes, flushes): writes as (log offset, disk offset, data offset,
    length); flushes as log offsets."""
    f = open(path, "rb")
    size = os.fstat(f.fileno()).st_size
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) if size else b""
    writes, flushes, p = [], [], 0
    while p + REC.size <= size:
        rtype, length, off = REC.unpack_from(m, p)
        if rtype == REC_WRITE:
            writes.append((p, off, p + REC.size, length))
        elif rtype == REC_FLUSH:
            flushes.append(p)
        else:
            sys.exit("crashstates: %s: bad record at %d" % (path, p))
        p += REC.size + length
    return m, writes, flushes


def pieces(writes):
    """Each write cut at 4 KiB boundaries of the disk: (disk offset, data
    offset, length)."""
    out = []
    for _, off, data, length in writes:
        end = off + length
        while off < end:
            n = min(end, (off // PIECE + 1) * PIECE) - off
            out.append((off, data, n))
            off, data = off + n, data + n
    return out


def subsets(n, rng):
    if n <= SMALL:
        return [[i for i in range(n) if mask >> i & 1]
                for mask in range(1 << n)]
    out = [list(range(k)) for k in range(n + 1)]
    for _ in range(RANDOM):
        out.append(sorted(rng.sample(range(n), rng.randrange(1, n))))
    return out


def apply(fd, m, chunks):
    for off, data, n in chunks:
        os.pwrite(fd, m[data:data + n], off)


def build(ckpt, image, m, chunks):
    """image := ckpt (every write up to the state's last flush), then
    chunks (the subset of the writes after it).  Always a new file: a
    loop device whose detach another program deferred still writes its
    cache back to the file it had, which must not be the next state."""
    if os.path.exists(image):
        os.unlink(image)
    r = run(["cp", "--sparse=always", ckpt, image])
    if r.returncode != 0:
        sys.exit("crashstates: cp: " + r.stdout.strip())
    fd = os.open(image, os.O_WRONLY)
    apply(fd, m, chunks)
    os.close(fd)


def verdict(a, image, mnt, must, may):
    """(value, problem or None, kind of problem) for one state."""
    value, problem = check_state(a.fs, image, mnt)
    if problem is not None:
        return value, problem, "bad file"
    if value > may:
        return value, "count %d > %d visits sent" % (value, may), \
            "too high"
    if a.durable and value < must:
        return value, "count %d < %d visits acknowledged: %d lost" % (
            value, must, must - value), "lost"
    return value, None, None


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def check_state(fs, image, mnt):
    """(value or None, problem or None) for one state image."""
    r = run(["losetup", "--find", "--show", image])
    if r.returncode != 0:
        sys.exit("crashstates: losetup: " + r.stdout.strip())
    dev = r.stdout.strip()
    try:
        # A loop device's cache may still hold blocks of the image it
        # served before (a clean superblock: no journal replay).
        r = run(["blockdev", "--flushbufs", dev])
        if r.returncode != 0:
            sys.exit("crashstates: blockdev: " + r.stdout.strip())
        r = run(["mount", "-t", fs] + MOUNT_OPTS[fs] + [dev, mnt])
        if r.returncode != 0:
            return None, "does not mount: " + r.stdout.strip()
        try:
            with open(os.path.join(mnt, "data", "visits"), "rb") as f:
                text = f.read()
        except FileNotFoundError:
            text = None
        except OSError as e:
            text = e
        finally:
            u = run(["umount", mnt])
            if u.returncode != 0:
                sys.exit("crashstates: umount: " + u.stdout.strip())
        c = run(CHECKER[fs] + [dev])
        if c.returncode != 0:
            # What the checker found, not its progress lines.
            found = [line.strip() for line in c.stdout.splitlines()
                     if FINDING.search(line)] or \
                c.stdout.strip().splitlines()[-3:]
            return None, "%s: %s" % (" ".join(CHECKER[fs]),
                                     " / ".join(found)[:300])
        if text is None:
            return 0, None
        if isinstance(text, OSError):
            return None, "counter unreadable: %s" % text
        if not COUNT.fullmatch(text):
            return None, "counter does not parse: %r" % text[:40]
        return int(text), None
    finally:
        run(["losetup", "-d", dev])


STOP = []


def stop(signum, frame):
    """SIGTERM: stop after the state being checked (never between its
    mount and its umount, or before its loop device is freed)."""
    STOP.append(signum)


def main():
    signal.signal(signal.SIGTERM, stop)
    ap = argparse.ArgumentParser()
    ap.add_argument("fs", choices=sorted(CHECKER))
    ap.add_argument("base")
    ap.add_argument("log")
    ap.add_argument("visits")
    ap.add_argument("work")
    ap.add_argument("--durable", action="store_true")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep")
    a = ap.parse_args()
    start = time.monotonic()
    rng = random.Random(a.seed)

    m, writes, flushes = read_log(a.log)
    sent, acked = [], []
    with open(a.visits) as f:
        for line in f:
            s, k = map(int, line.split())
            sent.append(s)
            if k >= 0:
                acked.append(k)
    sent.sort()
    acked.sort()
    if not flushes or not acked:
        print("crashstates: premise not met: %d flushes in the log, %d "
              "visits acknowledged" % (len(flushes), len(acked)))
        return 2

    # Gap k: the writes after flush k-1 (k = 0: after the start) and
    # before flush k (the last gap: before the end of the log).
    bounds = [0] + flushes + [len(m)]
    wpos = [w[0] for w in writes]
    gaps = []
    for k in range(len(bounds) - 1):
        lo = bisect.bisect_left(wpos, bounds[k])
        hi = bisect.bisect_left(wpos, bounds[k + 1])
        gaps.append((lo, hi))
    # First every flush point (no write of the gap: where a visit
    # acknowledged before the flush is most likely missing), then the
    # others; each group sampled if it does not fit in the budget.
    points, others = [], []
    for k, (lo, hi) in enumerate(gaps):
        n = len(pieces(writes[lo:hi]))
        for sub in subsets(n, rng):
            (others if sub else points).append((k, sub))
    total = len(points) + len(others)
    states = points if len(points) <= a.budget else \
        rng.sample(points, a.budget)
    left = a.budget - len(states)
    states += others if len(others) <= left else rng.sample(others, left)
    states.sort()

    image = os.path.join(a.work, "state.img")
    ckpt = os.path.join(a.work, "flushed.img")
    mnt = os.path.join(a.work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    run(["cp", "--sparse=always", a.base, ckpt])
    ckfd = os.open(ckpt, os.O_WRONLY)
    at = 0              # gaps applied to ckpt
    failed, lost_max, values, shown, kinds = 0, 0, set(), 0, {}
    unstable = 0
    for k, sub in states:
        if STOP:
            sys.exit(128 + STOP[0])
        while at < k:
            lo, hi = gaps[at]
            apply(ckfd, m, [(w[1], w[2], w[3]) for w in writes[lo:hi]])
            at += 1
        lo, hi = gaps[k]
        chunks = pieces(writes[lo:hi])
        # Visits that must be there: acknowledged before the state's last
        # flush; that may be there: sent before the state's end.
        must = bisect.bisect_right(acked, bounds[k]) if k > 0 else 0
        may = bisect.bisect_left(sent, bounds[k + 1])
        build(ckpt, image, m, [chunks[i] for i in sub])
        value, problem, kind = verdict(a, image, mnt, must, may)
        if problem is not None:
            # A state is one fixed image: a failure that a second image
            # built the same way does not show is the checking's fault
            # (counted and shown, not a failure of the program).
            build(ckpt, image, m, [chunks[i] for i in sub])
            value2, problem2, kind2 = verdict(a, image, mnt, must, may)
            if problem2 is None or value2 != value:
                unstable += 1
                print("UNSTABLE %s gap %d/%d (%d of %d pieces): %s, then "
                      "%s" % (a.fs, k, len(gaps) - 1, len(sub),
                              len(chunks), problem, problem2 or
                              "count %d" % value2))
                value, problem, kind = value2, problem2, kind2
        if problem is None:
            values.add(value)
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "lost":
            lost_max = max(lost_max, must - value)
        if a.keep and not failed:
            build(ckpt, a.keep, m, [chunks[i] for i in sub])
        failed += 1
        if shown < SHOW:
            print("FAIL %s gap %d/%d (%d of %d pieces): %s" % (
                a.fs, k, len(gaps) - 1, len(sub), len(chunks), problem))
            shown += 1
    os.close(ckfd)
    os.unlink(ckpt)
    if os.path.exists(image):
        os.unlink(image)
    print("crashstates: %s%s: %d writes, %d flushes, %d visits sent, %d "
          "acknowledged; %d crash states (of %d), %d failed (%d with "
          "acknowledged visits lost, at most %d; %d with a file that does "
          "not mount, check, read or parse; %d too high), %d unstable, "
          "counts seen %d..%d; %.0fs" % (
              a.fs, " durable" if a.durable else "", len(writes),
              len(flushes), len(sent), len(acked), len(states), total,
              failed, kinds.get("lost", 0), lost_max,
              kinds.get("bad file", 0), kinds.get("too high", 0),
              unstable,
              min(values, default=0), max(values, default=0),
              time.monotonic() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
