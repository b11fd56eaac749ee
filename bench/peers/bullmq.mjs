// BullMQ peer for bench/run. Usage:
//   node bullmq.mjs --port P --n N --c C --workload bulk|single|drain|latency [--run K]
// Prints one JSON line per figure. BullMQ keeps its defaults (completed jobs kept,
// attempts = 1); the handler only records its index and a monotonic timestamp.
import { Queue, Worker } from 'bullmq';

import { Recorder, emit, now_us, parse_args, report_worker_run, run_worker_process, sleep } from './common.mjs';

const k_queue = 'bench';
const args = parse_args(process.argv.slice(2));
const connection = { host: '127.0.0.1', port: args.port };

async function fill(queue, n, chunk) {
  for (let start = 0; start < n; start += chunk) {
    const jobs = [];
    for (let i = start; i < Math.min(n, start + chunk); ++i) {
      jobs.push({ name: 'noop', data: { i } });
    }
    await queue.addBulk(jobs);
  }
}

async function counters(queue) {
  return queue.getJobCounts('wait', 'active', 'completed', 'failed', 'delayed');
}

async function parent() {
  const queue = new Queue(k_queue, { connection });
  await queue.waitUntilReady();
  if (args.workload === 'bulk' || args.workload === 'single') {
    const t0 = now_us();
    if (args.workload === 'bulk') {
      await fill(queue, args.n, args.chunk);
    } else {
      for (let i = 0; i < args.n; ++i) {
        await queue.add('noop', { i });
      }
    }
    const seconds = (now_us() - t0) / 1e6;
    const counts = await counters(queue);
    const ok = counts.wait === args.n;
    emit({ system: 'bullmq', metric: `enqueue_${args.workload}`, value: ok ? args.n / seconds : undefined,
      unit: 'tasks/s', n: args.n, concurrency: 1, run: args.run, verified: ok, counters: counts,
      ...(ok ? {} : { error: 'verification failed' }) });
    if (!ok) process.exitCode = 3;
  } else {
    if (args.workload === 'drain') {
      await fill(queue, args.n, args.chunk);
    }
    const summary = await run_worker_process(new URL(import.meta.url), args, async () => {
      // Give the worker time to enter its blocking wait, then feed it one job at a time.
      await sleep(200);
      const start = now_us();
      for (let i = 0; i < args.n; ++i) {
        const t = now_us();
        await queue.add('noop', { i, t });
        const next = start + (i + 1) * args.gap_ms * 1000;
        const wait_ms = (next - now_us()) / 1000;
        if (wait_ms > 0) await sleep(wait_ms);
      }
    });
    const counts = await counters(queue);
    const ok = counts.completed === args.n && counts.wait === 0 && counts.active === 0 && counts.failed === 0;
    report_worker_run('bullmq', args, summary, ok, counts);
  }
  await queue.close();
}

async function worker() {
  const rec = new Recorder(args.n);
  let completed = 0;
  let finished;
  const all_done = new Promise((resolve) => { finished = resolve; });
  const t_start = now_us();
  const w = new Worker(k_queue, async (job) => { rec.record(job.data.i, job.data.t); },
    { connection: { ...connection, maxRetriesPerRequest: null }, concurrency: args.c });
  w.on('completed', () => {
    completed += 1;
    if (completed === args.n) finished();
  });
  w.on('failed', (job, err) => { process.stderr.write(`bullmq job failed: ${err}\n`); });
  if (args.workload === 'latency') {
    await w.waitUntilReady();
    emit({ ready: true });
  }
  await all_done;
  emit({ summary: rec.summary(t_start) });
  await w.close();
  process.exit(0);
}

try {
  await (args.role === 'worker' ? worker() : parent());
} catch (err) {
  process.stderr.write(`bullmq peer: ${err.stack || err}\n`);
  process.exit(1);
}
