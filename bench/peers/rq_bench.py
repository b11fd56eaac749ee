"""RQ peer for bench/run (Debian's python3-rq; run with /usr/bin/python3).
  rq_bench.py --port P --n N --c C --workload bulk|single|drain|latency [--run K]
RQ has no in-process concurrency: C is the number of worker processes, each an
RQ SimpleWorker (the job runs in the worker process, no fork per job). Otherwise
RQ's defaults (results kept for result_ttl, finished-job registry)."""
import os
import sys
import time

from redis import Redis
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry, FinishedJobRegistry

import peer_common as pc
import rq_jobs

K_QUEUE = "bench"


class StoppingWorker(SimpleWorker):
    """Stops after the n-th job in the latency workload (the drain uses burst mode)."""

    stop_after = None

    def execute_job(self, job, queue):
        result = super().execute_job(job, queue)
        if self.stop_after is not None and len(rq_jobs.recorder.indices) >= self.stop_after:
            self._stop_requested = True
        return result


def fill(queue, n, chunk):
    for start in range(0, n, chunk):
        queue.enqueue_many([Queue.prepare_data(rq_jobs.noop, args=(i,)) for i in range(start, min(n, start + chunk))])


def counters(queue, conn):
    return {"queued": queue.count,
            "finished": FinishedJobRegistry(queue=queue).count,
            "failed": FailedJobRegistry(queue=queue).count}


def parent(args):
    conn = Redis(host="127.0.0.1", port=args.port)
    queue = Queue(K_QUEUE, connection=conn)
    if args.workload in ("bulk", "single"):
        t0 = pc.now_us()
        if args.workload == "bulk":
            fill(queue, args.n, args.chunk)
        else:
            for i in range(args.n):
                queue.enqueue(rq_jobs.noop, i)
        seconds = (pc.now_us() - t0) / 1e6
        c = counters(queue, conn)
        return pc.report_enqueue("rq", args, seconds, c["queued"] == args.n, c)
    procs = []
    try:
        if args.workload == "drain":
            fill(queue, args.n, args.chunk)
            procs = [pc.start_worker(__file__, args, k) for k in range(args.c)]
        else:
            procs = [pc.start_worker(__file__, args)]
            pc.wait_ready(procs[0])
            time.sleep(0.5)  # let the worker enter its blocking dequeue
            pc.feed_one_by_one(args.n, args.gap_ms, lambda i, t: queue.enqueue(rq_jobs.noop, i, t))
        merged = pc.merge([pc.collect(p) for p in procs], args.n)
    finally:
        pc.stop_all(procs)
    c = counters(queue, conn)
    ok = c["finished"] == args.n and c["queued"] == 0 and c["failed"] == 0
    return pc.report_worker_run("rq", args, merged, ok, c)


def worker(args):
    conn = Redis(host="127.0.0.1", port=args.port)
    queue = Queue(K_QUEUE, connection=conn)
    w = StoppingWorker([queue], connection=conn, name=f"bench-{os.getpid()}")
    if args.workload == "latency":
        StoppingWorker.stop_after = args.n
        pc.emit({"ready": True})
    t_start = pc.now_us()
    w.work(burst=args.workload == "drain", logging_level="WARNING")
    pc.emit({"summary": rq_jobs.recorder.summary(t_start)})


def main():
    args = pc.parse_args(sys.argv[1:])
    if args.role == "worker":
        worker(args)
        return 0
    return 0 if parent(args) else 3


if __name__ == "__main__":
    sys.exit(main())
