"""Shared by the Python peers (rq_bench.py, celery_bench.py): arguments, the
monotonic clock, the no-op handler's bookkeeping and the figure lines. Same
protocol as common.mjs: the parent fills or feeds the queue, separate worker
processes run the handlers and print a summary line that the parent merges."""
import argparse
import json
import math
import subprocess
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--c", type=int, default=1)
    parser.add_argument("--workload", choices=["bulk", "single", "drain", "latency"], default="drain")
    parser.add_argument("--role", choices=["parent", "worker"], default="parent")
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--gap-ms", type=float, default=10.0)
    parser.add_argument("--run", type=int, default=1)
    return parser.parse_args(argv)


def now_us():
    """CLOCK_MONOTONIC in microseconds: comparable across processes and languages."""
    return time.monotonic_ns() // 1000


class Recorder:
    """What the no-op handler records: its index, the completion time, and for the
    latency workload handler start minus the producer's timestamp."""

    def __init__(self):
        self.indices = []
        self.latencies_us = []
        self.t_last = 0

    def record(self, index, enqueued_us=None):
        t = now_us()
        if enqueued_us is not None:
            self.latencies_us.append(t - enqueued_us)
        self.indices.append(index)
        self.t_last = now_us()

    def summary(self, t_start, **extra):
        return {"t_start": t_start, "t_last": self.t_last, "indices": self.indices,
                "latencies_us": self.latencies_us, **extra}


# Where emit() writes; a worker whose framework redirects sys.stdout (Celery) points
# this at a duplicate of the original descriptor.
OUT = sys.stdout


def emit(fields):
    OUT.write(json.dumps(fields) + "\n")
    OUT.flush()


def parse_line(line):
    """A protocol line, or None for anything else a framework printed."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def start_worker(script, args, worker_id=0):
    argv = [sys.executable, script, "--role", "worker", "--port", str(args.port), "--n", str(args.n),
            "--c", str(args.c), "--workload", args.workload, "--run", str(worker_id)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def wait_ready(proc):
    for line in proc.stdout:
        message = parse_line(line)
        if message and message.get("ready"):
            return
    raise RuntimeError(f"worker process exited with {proc.wait()} before it was ready")


def collect(proc):
    summary = None
    for line in proc.stdout:
        message = parse_line(line)
        if message and "summary" in message:
            summary = message["summary"]
    code = proc.wait()
    if code != 0 or summary is None:
        raise RuntimeError(f"worker process exited with {code} without a summary")
    return summary


def stop_all(procs):
    """Ends worker processes this peer started (by their PID) after a failure."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def merge(summaries, n):
    """Merges the worker processes' records and checks exactly n distinct indices ran once."""
    counts = [0] * n
    out_of_range = 0
    latencies = []
    for s in summaries:
        latencies.extend(s["latencies_us"])
        for i in s["indices"]:
            if isinstance(i, int) and 0 <= i < n:
                counts[i] += 1
            else:
                out_of_range += 1
    invocations = sum(len(s["indices"]) for s in summaries)
    distinct = sum(1 for c in counts if c > 0)
    duplicated = sum(1 for c in counts if c > 1)
    ok = invocations == n and distinct == n and duplicated == 0 and out_of_range == 0
    return {
        "t_start": min(s["t_start"] for s in summaries),
        "t_last": max(s["t_last"] for s in summaries),
        "invocations": invocations, "distinct": distinct, "duplicated": duplicated,
        "latencies_us": sorted(latencies), "ok": ok,
    }


def nearest_rank(sorted_values, p):
    if not sorted_values:
        return float("nan")
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[max(0, rank - 1)]


def report_enqueue(system, args, seconds, ok, counters):
    fields = {"system": system, "metric": f"enqueue_{args.workload}", "unit": "tasks/s", "n": args.n,
              "concurrency": 1, "run": args.run, "verified": ok, "counters": counters}
    if ok:
        fields["value"] = args.n / seconds
    else:
        fields["error"] = "verification failed"
    emit(fields)
    return ok


def report_worker_run(system, args, merged, counters_ok, counters):
    ok = merged["ok"] and counters_ok
    base = {"system": system, "n": args.n, "concurrency": args.c, "run": args.run, "verified": ok,
            "invocations": merged["invocations"], "distinct": merged["distinct"],
            "duplicated": merged["duplicated"], "counters": counters}
    metric = f"drain_c{args.c}" if args.workload == "drain" else "latency"
    if not ok:
        emit({**base, "metric": metric, "error": "verification failed"})
        return False
    if args.workload == "drain":
        seconds = (merged["t_last"] - merged["t_start"]) / 1e6
        emit({**base, "metric": metric, "value": args.n / seconds, "unit": "tasks/s"})
    else:
        lat = merged["latencies_us"]
        emit({**base, "metric": "latency_p50", "value": nearest_rank(lat, 50), "unit": "us"})
        emit({**base, "metric": "latency_p99", "value": nearest_rank(lat, 99), "unit": "us"})
    return True


def feed_one_by_one(n, gap_ms, add):
    """Adds n tasks 10 ms apart (on a fixed schedule), each stamped just before its add."""
    start = now_us()
    for i in range(n):
        add(i, now_us())
        wait = (start + (i + 1) * gap_ms * 1000 - now_us()) / 1e6
        if wait > 0:
            time.sleep(wait)
