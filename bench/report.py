#!/usr/bin/env python3
"""bench/report.py FACTS RESULTS GC [CPU]: the report of bench/run.sh.

FACTS    key<TAB>value lines (machine, load averages, RSS, start times...)
RESULTS  round case conns rps p50_us p99_us non2xx socket_errors requests
GC       round conns committed_visits commits (durable /time runs)
CPU      round case conns, then before and after the run: busy idle
         nginx_workers program (clock ticks; see cpu_sample in run.sh),
         then wrk's CPU time in microseconds

Prints every round's values; the medians over rounds (req/s, p50, p99)
and req/s as ratios, each the median of the per-round ratios: to the
ceiling (nginx's `return 200`) and to the limit (null-fcgi behind the same
nginx) of the same round and connection count, to the same case at the
first connection count of the same round, and, with a base tree, to the
same case on the base; where the CPU went (microseconds a request in
nginx, visits-fcgi and the rest, and the idle share); the targets; and a
Markdown section to paste into doc/PERFORMANCE.md.
"""

import statistics
import sys

LABELS = {
    "ceiling": "nginx `return 200` (ceiling)",
    "limit": "null-fcgi (limit of the path)",
    "time-durable": "GET /time, counting, durable",
    "time-nodurable": "GET /time, counting, --no-durable",
    "visits": "GET /visits",
    "base-time-durable": "base: GET /time, counting, durable",
    "base-visits": "base: GET /visits",
}
ORDER = ["ceiling", "limit", "time-durable", "time-nodurable", "visits",
         "base-time-durable", "base-visits"]

# The targets, as ratios to the limit of the same round: (case, conns,
# at least).
LIMIT_TARGETS = [("visits", 64, 0.90), ("visits", 256, 0.90),
                 ("time-durable", 64, 0.85), ("time-durable", 256, 0.95)]


def read_facts(path):
    facts = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            facts[key] = value
    return facts


def read_tsv(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def ms(us):
    v = us / 1000.0
    return "%.2f ms" % v if v >= 1 else "%.3f ms" % v


def kib(text):
    """'VmRSS VmHWM' in kB -> (rss, hwm) ints, or None."""
    try:
        rss, hwm = (int(x) for x in text.split())
        return rss, hwm
    except (ValueError, AttributeError):
        return None


def rate(v):
    return "{:,.0f}".format(v)


def short_rate(v):
    return "%.1fk" % (v / 1000.0) if v >= 1000 else "%.0f" % v


def p_cpu(p, facts, cpu, rows, conns_seen):
    """Where the CPU went: microseconds of CPU a request, medians."""
    tck = float(facts.get("clk_tck") or 100)
    reqs = {(r, case, n): int(q) for r, case, n, _a, _b, _c, _d, _e, q
            in rows}
    split = {}
    for r, case, n, b0, i0, g0, f0, b1, i1, g1, f1, w in cpu:
        q = reqs.get((r, case, n))
        if not q:
            continue
        busy, idle = float(b1) - float(b0), float(i1) - float(i0)
        ng, fc = float(g1) - float(g0), float(f1) - float(f0)
        us = 1e6 / tck / q
        wrk = float(w) / q
        split.setdefault((case, int(n)), []).append((
            ng * us, fc * us, wrk, ng * us + fc * us + wrk,
            (busy - ng - fc) * us - wrk, busy * us,
            100.0 * idle / (busy + idle) if busy + idle > 0 else 0.0))
    if not split:
        return
    p("Where the CPU went (median of the rounds): microseconds of CPU a "
      "request in the nginx workers, in the program (visits-fcgi, all "
      "threads; null-fcgi for the limit), in wrk, those three together "
      "(the path's own cost, which the machine's other work barely "
      "touches), in everything else (kernel threads, other work on this "
      "shared machine), all of it, and the share of the machine left idle "
      "(iowait included). nginx, the program and the machine in clock "
      "ticks of %g Hz from /proc, so short runs are coarse." % tck)
    p("")
    p("| case | conns | nginx µs | program µs | wrk µs | path µs | "
      "other µs | all µs | idle |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in ORDER:
        for n in conns_seen:
            v = split.get((case, n))
            if not v:
                continue
            med = [statistics.median(x[k] for x in v) for k in range(7)]
            p("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | "
              "%.0f %% |" % (LABELS.get(case, case), n, *med))
    p("")


def ratio_to(m, case, n, ref_case, ref_n):
    """Median over rounds of case@n / ref_case@ref_n, same round."""
    per = m.get((case, n), {})
    ref = m.get((ref_case, ref_n), {})
    ratios = [per[r][0] / ref[r][0] for r in sorted(per)
              if r in ref and ref[r][0] > 0]
    return statistics.median(ratios) if ratios else None


def fmt_ratio(v):
    return "%.2f" % v if v is not None else "-"


def main():
    facts = read_facts(sys.argv[1])
    rows = read_tsv(sys.argv[2])
    gc = read_tsv(sys.argv[3])
    cpu = read_tsv(sys.argv[4]) if len(sys.argv) > 4 else []

    # m[(case, conns)][round] = (rps, p50, p99, non2xx, errors)
    m = {}
    rounds = set()
    conns_seen = []
    for r, case, n, rps, p50, p99, bad, err, _reqs in rows:
        r, n = int(r), int(n)
        rounds.add(r)
        if n not in conns_seen:
            conns_seen.append(n)
        m.setdefault((case, n), {})[r] = (
            float(rps), float(p50), float(p99), int(bad), int(err))
    first = conns_seen[0] if conns_seen else None
    conns_seen.sort()

    summary = []
    for case in ORDER:
        for n in conns_seen:
            per = m.get((case, n))
            if not per:
                continue
            rs = sorted(per)
            base = None
            if ("base-" + case, n) in m:
                base = ratio_to(m, case, n, "base-" + case, n)
            summary.append({
                "case": case, "conns": n,
                "rps": statistics.median(per[r][0] for r in rs),
                "p50": statistics.median(per[r][1] for r in rs),
                "p99": statistics.median(per[r][2] for r in rs),
                "ratio": ratio_to(m, case, n, "ceiling", n),
                "limit": ratio_to(m, case, n, "limit", n),
                "first": ratio_to(m, case, n, case, first),
                "base": base,
                "by_round": [per[r][0] for r in rs],
                "bad": sum(per[r][3] for r in rs),
                "err": sum(per[r][4] for r in rs),
            })

    nrounds = len(rounds)
    out = []
    p = out.append

    p("All rounds (req/s; p50 / p99; ratios to the same round's ceiling "
      "and limit):")
    p("")
    p("| case | conns | round | req/s | p50 | p99 | of ceiling | of limit | "
      "non-2xx | socket errors |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in ORDER:
        for n in conns_seen:
            for r in sorted(m.get((case, n), {})):
                rps, p50, p99, bad, err = m[(case, n)][r]
                refs = []
                for ref in ("ceiling", "limit"):
                    v = m.get((ref, n), {}).get(r)
                    refs.append("%.2f" % (rps / v[0]) if v and v[0] else "-")
                p("| %s | %d | %d | %s | %s | %s | %s | %s | %d | %d |" % (
                    case, n, r, rate(rps), ms(p50), ms(p99), refs[0],
                    refs[1], bad, err))
    p("")

    # The Markdown section for doc/PERFORMANCE.md.
    load_rounds = [facts.get("load_round_%d" % r, "?")
                   for r in sorted(rounds)]
    p("### Performance")
    p("")
    p("Machine: %s CPUs (%s), %s, %s; data directory on %s. "
      "The machine is shared: load average %s at start, %s at end "
      "(per round: %s)." % (
          facts.get("nproc", "?"), facts.get("cpu", "?"),
          facts.get("kernel", "?"), facts.get("os", "?"),
          facts.get("fs", "?"), facts.get("load_start", "?"),
          facts.get("load_end", "?"), "; ".join(load_rounds)))
    p("")
    p("Software: %s, nginx %s, %s; tree %s%s." % (
        facts.get("program", "?"), facts.get("nginx", "?"),
        facts.get("wrk", "?"), facts.get("tree", "?"),
        "; base: " + facts["base"] if facts.get("base") else ""))
    p("")
    p("Command: `./dev bench` (%s), started %s: the median of %d "
      "interleaved round%s of `wrk -t%s -cN -d%ss --latency` on "
      "127.0.0.1." % (
          facts.get("config", ""), facts.get("started", "?"), nrounds,
          "" if nrounds == 1 else "s", facts.get("wrk_threads", "?"),
          facts.get("duration", "?")))
    p("")
    has_base = any(x["base"] is not None for x in summary)
    p("| case | conns | req/s | of ceiling | of limit | of c%s | %sp50 | "
      "p99 | req/s by round |" % (first, "of base | " if has_base else ""))
    p("|---|---:|---:|---:|---:|---:|%s---:|---:|---|" % (
        "---:|" if has_base else ""))
    for x in summary:
        flag = ""
        if x["bad"] or x["err"]:
            flag = " (%d non-2xx, %d socket errors)" % (x["bad"], x["err"])
        p("| %s | %d | %s | %s | %s | %s | %s%s | %s | %s%s |" % (
            LABELS.get(x["case"], x["case"]), x["conns"], rate(x["rps"]),
            fmt_ratio(x["ratio"]), fmt_ratio(x["limit"]),
            fmt_ratio(x["first"]),
            fmt_ratio(x["base"]) + " | " if has_base else "",
            ms(x["p50"]), ms(x["p99"]),
            " / ".join(short_rate(v) for v in x["by_round"]), flag))
    p("")
    p("The ceiling is nginx answering `GET /nginx-healthz` by itself "
      "(`return 200`, access_log off) on the same nginx; the limit is "
      "null-fcgi (bench/null-fcgi.c) answering a fixed 200 through the "
      "same nginx.conf, access log included: the most any program behind "
      "this nginx can reach. The other cases go through the program. "
      "\"of ceiling\", \"of limit\", \"of c%s\"%s are medians of the "
      "per-round ratios of req/s (same round; same connection count, or "
      "the same case at %d connections)." % (
          first, " and \"of base\" (the same case on the base tree)"
          if has_base else "", first or 0))
    p("")

    p_cpu(p, facts, cpu, rows, conns_seen)

    rss = kib(facts.get("rss_durable"))
    rss_n = kib(facts.get("rss_nodurable"))
    fresh = kib(facts.get("rss_fresh"))
    if rss:
        line = ("visits-fcgi memory after the load: VmRSS %d KiB (peak "
                "VmHWM %d KiB) durable" % rss)
        if rss_n:
            line += ", VmRSS %d KiB (VmHWM %d KiB) not durable" % rss_n
        if fresh:
            line += "; just started and answering: VmRSS %d KiB" % fresh[0]
        p(line + ".")
    else:
        p("visits-fcgi memory: not read.")
    starts = [float(x) for x in facts.get("starts", "").split()]
    if starts:
        p("")
        socks = [float(x) for x in facts.get("socks", "").split()]
        p("Start to first answer (spawn-fcgi + visits-fcgi started, nginx "
          "already up, first 200 on /healthz through nginx): median "
          "%.2f ms (%s ms)%s." % (
              statistics.median(starts),
              ", ".join("%.2f" % x for x in starts),
              "; spawn-fcgi's socket appeared after a median %.2f ms, "
              "and from the socket (spawn-fcgi execs the program once it "
              "listens) to the first 200: median %.2f ms" % (
                  statistics.median(socks),
                  statistics.median(b - a for a, b in zip(socks, starts)))
              if len(socks) == len(starts) else ""))
    gsum = {}
    for _r, n, v, c in gc:
        t = gsum.setdefault(int(n), [0, 0])
        t[0] += int(v)
        t[1] += int(c)
    if gsum:
        parts = []
        tv = tc = 0
        for n in sorted(gsum):
            v, c = gsum[n]
            tv += v
            tc += c
            if c:
                parts.append("%.1f at %d connections (%d visits, %d commits)"
                             % (v / c, n, v, c))
        p("")
        if tc:
            p("Group commit (durable GET /time, visits_store_committed_"
              "visits_total / visits_store_commits_total): %.1f visits per "
              "commit; %s." % (tv / tc, "; ".join(parts)))
        else:
            p("Group commit: no commits counted.")
    p("")

    # The targets, as a reading aid.
    if facts.get("mode") == "full":
        by = {(x["case"], x["conns"]): x for x in summary}
        p("Targets (medians of the per-round ratios):")
        for case, n, want in LIMIT_TARGETS:
            x = by.get((case, n))
            if x and x["limit"] is not None:
                p("- %s at c%d: %.2f of the limit (target >= %.2f): %s" % (
                    case, n, x["limit"], want,
                    "met" if x["limit"] >= want else "NOT met"))
        for case in ("visits", "time-durable"):
            for n in conns_seen:
                x = by.get((case, n))
                if n == first or not x or x["first"] is None:
                    continue
                lim = by.get(("limit", n))
                p("- %s at c%d: %.2f of c%d, p99 %s (target >= 1.00, no "
                  "fall past c%d): %s%s" % (
                      case, n, x["first"], first, ms(x["p99"]), first,
                      "met" if x["first"] >= 1.0 else "NOT met",
                      "; the limit's own: %.2f of c%d" % (lim["first"], first)
                      if lim and lim["first"] is not None else ""))
        for x in summary:
            if x["case"] == "time-durable" and x["ratio"] is not None:
                p("- durable GET /time at c%d: %.2f of the ceiling "
                  "(target >= 0.40): %s" % (
                      x["conns"], x["ratio"],
                      "met" if x["ratio"] >= 0.40 else "NOT met"))
        for x in summary:
            if x["conns"] == 64 and x["case"] not in (
                    "ceiling", "limit") and not x["case"].startswith("base"):
                p("- %s p99 at c64: %s (target < 5 ms): %s" % (
                    x["case"], ms(x["p99"]),
                    "met" if x["p99"] < 5000 else "NOT met"))
        if rss:
            p("- RSS after the load: VmRSS %d KiB, VmHWM %d KiB (target "
              "< 2048 KiB): %s" % (
                  rss[0], rss[1], "met" if max(rss) < 2048 else
                  "VmRSS met, peak not" if rss[0] < 2048 else "NOT met"))
        if starts:
            med = statistics.median(starts)
            p("- first answer: %.2f ms (target < 10 ms): %s" % (
                med, "met" if med < 10 else "NOT met"))
        p("")
    p("Run took %s s." % facts.get("elapsed", "?"))
    print("\n".join(out))


if __name__ == "__main__":
    main()
