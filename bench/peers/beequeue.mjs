// Bee-Queue peer for bench/run. Usage:
//   node beequeue.mjs --port P --n N --c C --workload bulk|single|drain|latency [--run K]
// Prints one JSON line per figure. Bee-Queue keeps its defaults (succeeded jobs kept,
// events on); the handler only records its index and a monotonic timestamp.
import { createRequire } from 'node:module';

import { Recorder, emit, now_us, parse_args, report_worker_run, run_worker_process, sleep } from './common.mjs';

const require = createRequire(import.meta.url);
const BeeQueue = require('bee-queue');

const k_queue = 'bench';
const args = parse_args(process.argv.slice(2));
const redis = { host: '127.0.0.1', port: args.port };

async function fill(queue, n, chunk) {
  for (let start = 0; start < n; start += chunk) {
    const jobs = [];
    for (let i = start; i < Math.min(n, start + chunk); ++i) {
      jobs.push(queue.createJob({ i }));
    }
    const errors = await queue.saveAll(jobs);
    if (errors.size > 0) {
      throw new Error(`saveAll: ${errors.size} jobs failed: ${[...errors.values()][0]}`);
    }
  }
}

async function parent() {
  const queue = new BeeQueue(k_queue, { redis, isWorker: false });
  await queue.ready();
  if (args.workload === 'bulk' || args.workload === 'single') {
    const t0 = now_us();
    if (args.workload === 'bulk') {
      await fill(queue, args.n, args.chunk);
    } else {
      for (let i = 0; i < args.n; ++i) {
        await queue.createJob({ i }).save();
      }
    }
    const seconds = (now_us() - t0) / 1e6;
    const health = await queue.checkHealth();
    const ok = health.waiting === args.n;
    emit({ system: 'beequeue', metric: `enqueue_${args.workload}`, value: ok ? args.n / seconds : undefined,
      unit: 'tasks/s', n: args.n, concurrency: 1, run: args.run, verified: ok, counters: health,
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
        await queue.createJob({ i, t }).save();
        const next = start + (i + 1) * args.gap_ms * 1000;
        const wait_ms = (next - now_us()) / 1000;
        if (wait_ms > 0) await sleep(wait_ms);
      }
    });
    const health = await queue.checkHealth();
    const ok = health.succeeded === args.n && health.waiting === 0 && health.active === 0 && health.failed === 0;
    report_worker_run('beequeue', args, summary, ok, health);
  }
  await queue.close();
}

async function worker() {
  const rec = new Recorder(args.n);
  let succeeded = 0;
  let finished;
  const all_done = new Promise((resolve) => { finished = resolve; });
  const t_start = now_us();
  const queue = new BeeQueue(k_queue, { redis });
  queue.on('succeeded', () => {
    succeeded += 1;
    if (succeeded === args.n) finished();
  });
  queue.on('failed', (job, err) => { process.stderr.write(`bee-queue job failed: ${err}\n`); });
  queue.process(args.c, async (job) => { rec.record(job.data.i, job.data.t); });
  if (args.workload === 'latency') {
    await queue.ready();
    emit({ ready: true });
  }
  await all_done;
  emit({ summary: rec.summary(t_start) });
  await queue.close();
  process.exit(0);
}

try {
  await (args.role === 'worker' ? worker() : parent());
} catch (err) {
  process.stderr.write(`beequeue peer: ${err.stack || err}\n`);
  process.exit(1);
}
