"""Celery peer for bench/run (Debian's python3-celery; run with /usr/bin/python3).
  celery_bench.py --port P --n N --c C --workload bulk|single|drain|latency [--run K]
One worker process with the threads pool and concurrency C; Redis as the broker;
otherwise Celery's defaults (no result backend, early acks, prefetch multiplier 4,
mingle/gossip/heartbeat on). Bulk enqueue publishes each chunk as one group."""
import os
import signal
import sys
import threading
import time

from celery import Celery, group
from celery.signals import worker_ready
from redis import Redis

import peer_common as pc

K_QUEUE = "celery"  # Celery's default queue name
ARGS = pc.parse_args(sys.argv[1:])
app = Celery("bench", broker=f"redis://127.0.0.1:{ARGS.port}/0")
recorder = pc.Recorder()
all_done = threading.Event()
ready_at = {}


@app.task(name="noop")
def noop(i, t=None):
    recorder.record(i, t)
    if len(recorder.indices) >= ARGS.n:
        all_done.set()


@worker_ready.connect
def on_worker_ready(**_):
    ready_at["t"] = pc.now_us()
    if ARGS.workload == "latency":
        pc.emit({"ready": True})


def broker_counters(conn):
    return {"queued": conn.llen(K_QUEUE), "unacked": conn.hlen("unacked")}


def publish(args):
    if args.workload == "single":
        for i in range(args.n):
            noop.apply_async((i,))
    else:
        for start in range(0, args.n, args.chunk):
            group(noop.s(i) for i in range(start, min(args.n, start + args.chunk))).apply_async()


def parent(args):
    conn = Redis(host="127.0.0.1", port=args.port)
    if args.workload in ("bulk", "single"):
        t0 = pc.now_us()
        publish(args)
        seconds = (pc.now_us() - t0) / 1e6
        c = broker_counters(conn)
        return pc.report_enqueue("celery", args, seconds, c["queued"] == args.n, c)
    proc = None
    try:
        if args.workload == "drain":
            publish(args)
            c = broker_counters(conn)
            if c["queued"] != args.n:
                raise RuntimeError(f"celery fill: expected {args.n} queued messages, found {c}")
            proc = pc.start_worker(__file__, args)
        else:
            proc = pc.start_worker(__file__, args)
            pc.wait_ready(proc)
            time.sleep(0.5)  # let the consumer enter its blocking wait
            pc.feed_one_by_one(args.n, args.gap_ms, lambda i, t: noop.apply_async((i, t)))
        summary = pc.collect(proc)
    finally:
        if proc is not None:
            pc.stop_all([proc])
    merged = pc.merge([summary], args.n)
    c = broker_counters(conn)
    c["worker_total"] = summary["worker_total"]
    ok = c["queued"] == 0 and c["unacked"] == 0 and summary["worker_total"] == args.n
    return pc.report_worker_run("celery", args, merged, ok, c)


def finish():
    """Waits for the n-th handler and for Celery to count it, then asks the worker for
    its warm shutdown (which writes the pending acks)."""
    from celery.worker import state

    all_done.wait()
    deadline = time.monotonic() + 10
    # Celery counts a task after the handler returns, on another thread: a bounded
    # wait for its own bookkeeping, which the verification compares against.
    while state.total_count.get("noop", 0) < ARGS.n and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)


def worker(args):
    from celery.worker import state

    # Celery redirects sys.stdout to its logger; the protocol lines use the real one.
    pc.OUT = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    threading.Thread(target=finish, daemon=True).start()
    try:
        app.worker_main(["worker", "--pool", "threads", "--concurrency", str(args.c), "--loglevel", "WARNING",
                         "--hostname", f"bench{os.getpid()}@localhost"])
    except SystemExit:
        pass
    pc.emit({"summary": recorder.summary(ready_at.get("t", 0), worker_total=state.total_count.get("noop", 0))})


def main():
    if ARGS.role == "worker":
        worker(ARGS)
        return 0
    return 0 if parent(ARGS) else 3


if __name__ == "__main__":
    sys.exit(main())
