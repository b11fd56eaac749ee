#!/usr/bin/python3
"""Turns one bench/run's raw JSON lines into the table, one JSON line per figure
(medians over the runs) and docs/performance.md. Only what the run printed is
reported: a (system, metric) with any failed or unverified run has no figure."""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys

CURVE_METRICS = ("claim_us_redis", "claim_us_sqlite", "memory_per_pending_at")
SYSTEMS = ["nfl-compute", "bullmq", "beequeue", "rq", "celery"]
PEERS = SYSTEMS[1:]
LABEL = {"nfl-compute": "nfl-compute", "bullmq": "BullMQ", "beequeue": "Bee-Queue",
         "rq": "RQ (SimpleWorker; C = processes)", "celery": "Celery (threads pool)",
         "redis-benchmark": "redis-benchmark"}
# metric -> (column title, unit, higher is better)
COLUMNS = [
    ("enqueue_bulk", "bulk enqueue /s", True),
    ("enqueue_single", "single enqueue /s", True),
    ("drain_c1", "drain C=1 /s", True),
    ("drain_c8", "drain C=8 /s", True),
    ("latency_p50", "latency p50 (µs)", False),
    ("latency_p99", "latency p99 (µs)", False),
    ("memory_per_pending", "Redis B / pending task", False),
]


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def load(raw_path):
    rows = []
    with open(raw_path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
    return rows


def figures(rows):
    """{(system, metric, concurrency): {"value", "runs", "failed", "n", "unit"}}"""
    groups = {}
    for r in rows:
        if "metric" not in r or "system" not in r:
            continue
        metric = r["metric"]
        if metric in CURVE_METRICS:
            # One point per queue length: the length is part of the figure's name.
            metric = f"{metric}@{r.get('n')}"
        key = (r["system"], metric, r.get("concurrency"))
        g = groups.setdefault(key, {"values": [], "failed": 0, "errors": [], "n": r.get("n"), "unit": r.get("unit")})
        if r.get("error") or not r.get("verified") or r.get("value") is None:
            g["failed"] += 1
            g["errors"].append(r.get("error", "unverified"))
        else:
            g["values"].append(float(r["value"]))
            g["n"] = r.get("n", g["n"])
            g["unit"] = r.get("unit", g["unit"])
    out = {}
    for key, g in groups.items():
        fig = {"runs": len(g["values"]), "failed": g["failed"], "errors": g["errors"], "n": g["n"], "unit": g["unit"],
               "value": statistics.median(g["values"]) if g["values"] and not g["failed"] else None}
        out[key] = fig
    return out


def get(figs, system, metric):
    for (s, m, _c), f in figs.items():
        if s == system and m == metric:
            return f
    return None


def cell(f, digits=0):
    if f is None:
        return "—"
    if f["value"] is None:
        return "FAILED" if f["failed"] else "—"
    return f"{f['value']:,.{digits}f}"


def versions(root):
    v = {}
    m = re.search(r"project\(nfl-compute VERSION ([0-9.]+)", open(os.path.join(root, "CMakeLists.txt")).read())
    rev = run(["git", "-C", root, "rev-parse", "--short", "HEAD"])
    dirty = run(["git", "-C", root, "status", "--porcelain"])
    v["nfl-compute"] = f"{m.group(1) if m else '?'} ({rev}{', uncommitted changes' if dirty else ''})"
    v["redis-server"] = (re.search(r"v=(\S+)", run(["redis-server", "--version"])) or [None, "?"])[1]
    v["node"] = run(["node", "--version"])
    for pkg in ("bullmq", "bee-queue", "ioredis"):
        try:
            with open(os.path.join(root, "bench", "node_modules", pkg, "package.json")) as f:
                v[pkg] = json.load(f)["version"]
        except OSError:
            v[pkg] = "not installed"
    py = run(["/usr/bin/python3", "-c",
              "import sys, rq, celery, redis; print(sys.version.split()[0], rq.__version__, celery.__version__, "
              "redis.__version__)"]).split()
    if len(py) == 4:
        v["python3"], v["rq"], v["celery"], v["redis-py"] = py
    return v


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {"nproc": os.cpu_count() if not run(["nproc"]) else int(run(["nproc"])), "cpu": cpu,
            "memory_gib": round(mem_kib / 1048576, 1), "kernel": platform.release()}


def ratio_lines(figs):
    """nfl-compute against the best peer measured in the same run, per metric."""
    lines = []
    for metric, title, higher in COLUMNS:
        ours = get(figs, "nfl-compute", metric)
        peers = [(p, get(figs, p, metric)) for p in PEERS]
        peers = [(p, f) for p, f in peers if f and f["value"] is not None]
        if not peers:
            continue
        best_name, best = (max if higher else min)(peers, key=lambda pf: pf[1]["value"])
        if ours is None or ours["value"] is None:
            state = "FAILED" if ours and ours["failed"] else "pending"
            lines.append(f"| {title} | {state} | {LABEL[best_name]} {best['value']:,.0f} | — |")
            continue
        r = ours["value"] / best["value"] if higher else best["value"] / ours["value"]
        lines.append(f"| {title} | {ours['value']:,.0f} | {LABEL[best_name]} {best['value']:,.0f} | "
                     f"{r:.2f}× {'(better)' if r >= 1 else '(worse)'} |")
    return lines


def targets(figs):
    def val(system, metric):
        f = get(figs, system, metric)
        return None if f is None else f["value"]

    def best_peer(metric):
        vals = [val(p, metric) for p in PEERS if val(p, metric) is not None]
        return max(vals) if vals else None

    rows = []

    def add(name, target, ours, ok):
        state = "pending" if ours is None else ("met" if ok else "NOT met")
        rows.append(f"| {name} | {target} | {'—' if ours is None else f'{ours:,.0f}'} | {state} |")

    d8, bp8 = val("nfl-compute", "drain_c8"), best_peer("drain_c8")
    add("drain C=8 (tasks/s)", "≥ 45,000 and ≥ 2× best peer", d8,
        d8 is not None and d8 >= 45000 and (bp8 is None or d8 >= 2 * bp8))
    d1, bull1 = val("nfl-compute", "drain_c1"), val("bullmq", "drain_c1")
    add("drain C=1 (tasks/s)", "≥ 1.5× BullMQ", d1, d1 is not None and bull1 is not None and d1 >= 1.5 * bull1)
    b = val("nfl-compute", "enqueue_bulk")
    add("bulk enqueue (tasks/s)", "≥ 200,000", b, b is not None and b >= 200000)
    s, bee = val("nfl-compute", "enqueue_single"), val("beequeue", "enqueue_single")
    add("one-by-one enqueue (tasks/s)", "≥ 1.5× Bee-Queue", s, s is not None and bee is not None and s >= 1.5 * bee)
    p99 = val("nfl-compute", "latency_p99")
    add("pickup latency p99 (µs)", "≤ 500", p99, p99 is not None and p99 <= 500)
    mem = val("nfl-compute", "memory_per_pending")
    add("Redis memory per pending task (B)", "≤ 300", mem, mem is not None and mem <= 300)
    sq = val("nfl-compute", "sqlite_drain_c8")
    add("SQLite drain C=8 (tasks/s)", "≥ 20,000", sq, sq is not None and sq >= 20000)
    return rows


def curve(figs):
    """{queue length: {"redis": µs, "sqlite": µs, "memory": B}}"""
    names = {"claim_us_redis": "redis", "claim_us_sqlite": "sqlite", "memory_per_pending_at": "memory"}
    points = {}
    for (s, m, _c), f in figs.items():
        base, _, length = m.partition("@")
        if s == "nfl-compute" and base in names and f["value"] is not None:
            points.setdefault(int(length), {})[names[base]] = f["value"]
    return points


def saturated(figs, gap_ms=10.0):
    """Systems whose C=1 drain is slower than the latency test's arrival rate: their
    latency measures a growing backlog, not pickup."""
    out = []
    for s in SYSTEMS:
        f = get(figs, s, "drain_c1")
        if f and f["value"] is not None and f["value"] < 1000.0 / gap_ms:
            out.append(LABEL[s])
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw", required=True)
    parser.add_argument("--meta", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--docs")
    args = parser.parse_args()
    rows = load(args.raw)
    meta = json.load(open(args.meta))
    figs = figures(rows)
    vers = versions(args.root)
    mach = machine()

    # One JSON line per figure (medians), then the table.
    for (s, m, c), f in sorted(figs.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)):
        line = {"system": s, "metric": m, "value": f["value"], "unit": f["unit"], "n": f["n"], "concurrency": c,
                "runs": f["runs"]}
        if f["failed"]:
            line["failed_runs"] = f["failed"]
            line["errors"] = f["errors"][:3]
        print(json.dumps(line))
    for r in rows:
        if r.get("metric") == "all" and r.get("error"):
            print(json.dumps({"system": r["system"], "metric": "all", "value": None, "error": r["error"]}))

    header = "| system | " + " | ".join(title for _m, title, _h in COLUMNS) + " |"
    sep = "|---|" + "---:|" * len(COLUMNS)
    table = [header, sep]
    present = [s for s in SYSTEMS if any(k[0] == s for k in figs)] or SYSTEMS
    for s in SYSTEMS:
        if s not in present and s != "nfl-compute":
            continue
        table.append(f"| {LABEL[s]} | " + " | ".join(cell(get(figs, s, m)) for m, _t, _h in COLUMNS) + " |")
    print()
    print("\n".join(table))
    ceil = {k[1]: (k[2], f) for k, f in figs.items() if k[0] == "redis-benchmark"}
    ceiling_lines = []
    for metric, (clients, f) in sorted(ceil.items(), key=lambda kv: (kv[1][0] or 0, kv[0])):
        pipeline = metric.rsplit("_p", 1)[1]
        desc = f"{clients} client{'s' if clients != 1 else ''}, " + ("unpipelined" if pipeline == "1" else
                                                                      f"pipelined {pipeline} deep")
        ceiling_lines.append(f"| EVALSHA ZPOPMIN+ZADD, {desc} | {cell(f)} |")
    print()
    print("\n".join(["| ceiling (redis-benchmark) | ops/s |", "|---|---:|"] + ceiling_lines))

    if not args.docs:
        return 0
    d8 = get(figs, "nfl-compute", "drain_c8")
    fractions = []
    for metric, (clients, f) in sorted(ceil.items()):
        if d8 and d8["value"] and f["value"]:
            fractions.append(f"{d8['value'] / f['value']:.0%} of the {metric.replace('ceiling_evalsha_', '')} "
                             f"ceiling with {clients} client(s)")
    pts = curve(figs)
    nfl_pending = not any(k[0] == "nfl-compute" and f["value"] is not None for k, f in figs.items())
    nfl_errors = sorted({e for k, f in figs.items() if k[0] == "nfl-compute" for e in f["errors"]} |
                        {r["error"] for r in rows if r.get("system") == "nfl-compute" and r.get("metric") == "all"})
    out = []
    w = out.append
    w("# Performance")
    w("")
    w("<!-- Generated by bench/run (bench/report.py); edit those, not this file. -->")
    w("")
    w("How nfl-compute compares with the queues users would otherwise pick, measured by `./run bench` "
      "(or `bench/run`; see `bench/README.md`) in one run against one private `redis-server`, following "
      "the benchmark protocol (`bench/README.md` summarises it). Every figure below was printed by that run; "
      "ratios compare systems from the same run only.")
    w("")
    w("## This run")
    w("")
    w(f"- Date: {meta['started']} to {meta['finished']} (UTC); command: `{meta['command'].strip()}`"
      f"{' (quick smoke test: not a comparison)' if meta['quick'] else ''}")
    w(f"- Machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['memory_gib']} GiB, Linux {mach['kernel']}; "
      f"load average {meta['load_before']} before, {meta['load_after']} after")
    w(f"- N = {meta['n']:,} tasks per throughput run, median of {meta['runs']} run(s), runs interleaved across "
      f"systems; latency over {meta['latency_n']:,} tasks 10 ms apart")
    if not meta["quick"] and (meta["n"] != 20000 or meta["runs"] < 3 or meta["latency_n"] != 1000):
        w(f"- **Not the protocol's full run:** it asks N = 20,000, medians of 3 and 1,000 latency tasks; this run "
          f"used N = {meta['n']:,}, {meta['runs']} run(s), {meta['latency_n']:,} latency tasks.")
    w("- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    if meta["load_before"] and float(meta["load_before"].split()[0]) > mach["nproc"]:
        w(f"- **Caution:** the load average ({meta['load_before'].split()[0]}) exceeded the CPU count when the run "
          "started (other builds were running): absolute figures are depressed and noisy; only ratios within the "
          "run mean anything, and gaps under about 1.5× are noise.")
    w("")
    w("| system | " + " | ".join(title for _m, title, _h in COLUMNS) + " |")
    w(sep)
    for line in table[2:]:
        w(line)
    w("")
    sat = saturated(figs)
    if sat:
        w("Latency caveat: the C=1 drain of " + ", ".join(sat) + " ran below the latency test's arrival rate "
          "(100 tasks/s) in this run, so their latency figures measure a growing backlog, not pickup.")
        w("")
    w("A cell reads FAILED when a run of it failed verification (exactly N distinct indices ran, none twice, "
      "and the system's own counters agree); such a cell is not a figure.")
    if nfl_pending:
        w("")
        w("**nfl-compute figures are pending:** the run could not measure nfl-compute"
          + (": " + "; ".join(nfl_errors[:3]) if nfl_errors else "") + ".")
    w("")
    w("## nfl-compute against the best peer in this run")
    w("")
    w("Ratio: how many times better nfl-compute is (above 1) or worse (below 1); for throughput ours/best, "
      "for latency and memory best/ours.")
    w("")
    w("| metric | nfl-compute | best peer | ratio |")
    w("|---|---:|---:|---|")
    out.extend(ratio_lines(figs))
    w("")
    w("## Targets (issue 8)")
    w("")
    w("| workload | target | nfl-compute | state |")
    w("|---|---|---:|---|")
    out.extend(targets(figs))
    w("")
    w("## Ceiling: redis-benchmark on the same server")
    w("")
    w("`EVALSHA` of a script doing ZPOPMIN + ZADD on a 1,000-member sorted set (the primitive a leased claim "
      "needs):")
    w("")
    w("| ceiling (redis-benchmark) | ops/s |")
    w("|---|---:|")
    out.extend(ceiling_lines)
    w("")
    w("Fraction of the ceiling reached by nfl-compute's C=8 drain: "
      + ("; ".join(fractions) if fractions else "pending") + ".")
    w("")
    w("## nfl-compute only")
    w("")
    sq = get(figs, "nfl-compute", "sqlite_drain_c8")
    w(f"- SQLite backend drain, C=8: {cell(sq) + ' tasks/s' if sq and sq['value'] else 'pending'}")
    ms = get(figs, "nfl-compute", "snapshot_merge_seconds")
    mm = get(figs, "nfl-compute", "snapshot_merge_peak_rss")
    w("- Folder sync, merging two snapshots of 10^6 tasks (target < 5 s, < 1 GiB): "
      + (f"{cell(ms, 2)} s, peak {cell(mm, 0)} MiB" if ms and ms.get("value") and mm and mm.get("value") else "pending"))
    w("- Claim cost against queue length: mean µs per `claim()` over 1,000 claims (each followed by its "
      "`complete`) with that many tasks pending; Redis memory per pending task at that length:")
    w("")
    w("| pending tasks | Redis µs/claim | SQLite µs/claim | Redis B / pending task |")
    w("|---:|---:|---:|---:|")

    def num(v, digits):
        return "—" if v is None else f"{v:,.{digits}f}"

    if pts:
        for n in sorted(pts):
            p = pts[n]
            w(f"| {n:,} | {num(p.get('redis'), 1)} | {num(p.get('sqlite'), 1)} | {num(p.get('memory'), 0)} |")
    else:
        w("| pending | — | — | — |")
    w("")
    w("Where the gaps come from (profile notes, written by hand): `bench/README.md`, last section.")
    w("")
    w("## Method")
    w("")
    w("- The no-op task records its index (from the payload) and a `CLOCK_MONOTONIC` timestamp; nothing else. "
      "nfl-compute runs its built-in `noop` type with leases, fencing tokens and result storage on.")
    w("- Bulk enqueue: one producer, chunks of 1,000 with each system's bulk API (BullMQ `addBulk`, Bee-Queue "
      "`saveAll`, RQ `enqueue_many`, Celery a `group` per chunk, nfl-compute `TaskStore::add` of a span); "
      "verified by the system's own pending count.")
    w("- One-by-one enqueue: each add awaited before the next.")
    w("- Drain: the queue is filled with N tasks, then one worker process with concurrency C starts (RQ: C "
      "SimpleWorker processes); time from worker start to the N-th handler completion.")
    w("- Pickup latency: an idle worker (C=1) in its own process; tasks added one at a time 10 ms apart, each "
      "stamped just before the add; latency = handler start − stamp; nearest-rank p50/p99. (nfl-compute's worker runs in a thread of the "
      "producer's process: C++ has no shared event loop to disturb.)")
    w("- Redis memory per pending task: `INFO used_memory` after a bulk fill of N tasks minus before, over N "
      "(the issue's figure is over 10^6 tasks: `bench/run --claim-max 1000000` for nfl-compute).")
    w("- Peers run with their defaults: BullMQ keeps completed jobs (attempts 1), Bee-Queue keeps succeeded jobs, "
      "RQ keeps results for its result_ttl, Celery has no result backend and acks early.")
    w("- Raw per-run lines: `bench/results/<stamp>.jsonl` (not committed).")
    w("")
    with open(args.docs, "w") as f:
        f.write("\n".join(out))
    print(f"\nwrote {args.docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
