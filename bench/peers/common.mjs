// Shared by the Node peers (bullmq.mjs, beequeue.mjs): argument parsing, the
// monotonic clock, the no-op handler's bookkeeping, and the parent/worker-process
// protocol. Every peer follows bench/README.md: the parent fills or feeds the
// queue, a separate worker process runs the handlers and reports what it saw.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function parse_args(argv) {
  const args = { port: 0, n: 20000, c: 1, workload: 'drain', role: 'parent', chunk: 1000, gap_ms: 10, run: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-/g, '_');
    if (!(key in args)) {
      throw new Error(`unknown option --${key}; expected one of ${Object.keys(args).join(', ')}`);
    }
    const value = argv[i + 1];
    if (value === undefined) {
      throw new Error(`option --${key} needs a value`);
    }
    args[key] = typeof args[key] === 'number' ? Number(value) : value;
    if (typeof args[key] === 'number' && !Number.isFinite(args[key])) {
      throw new Error(`option --${key}: expected a number, got '${value}'`);
    }
  }
  if (!args.port) {
    throw new Error('option --port is required');
  }
  if (!['bulk', 'single', 'drain', 'latency'].includes(args.workload)) {
    throw new Error(`option --workload: expected bulk|single|drain|latency, got '${args.workload}'`);
  }
  return args;
}

// CLOCK_MONOTONIC in microseconds (libuv's hrtime), comparable across processes
// and with Python's time.monotonic_ns() and C++'s steady_clock on Linux.
export function now_us() {
  return Number(process.hrtime.bigint() / 1000n);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// What the no-op handler records: one count per index, the last completion time,
// and for the latency workload handler start minus the producer's timestamp.
export class Recorder {
  constructor(n) {
    this.n = n;
    this.counts = new Uint32Array(n);
    this.invocations = 0;
    this.out_of_range = 0;
    this.t_last = 0;
    this.latencies = [];
  }

  record(index, enqueued_us) {
    const t = now_us();
    if (enqueued_us !== undefined) {
      this.latencies.push(t - enqueued_us);
    }
    if (Number.isInteger(index) && index >= 0 && index < this.n) {
      this.counts[index] += 1;
    } else {
      this.out_of_range += 1;
    }
    this.invocations += 1;
    this.t_last = now_us();
  }

  summary(t_start) {
    let distinct = 0;
    let duplicated = 0;
    for (const c of this.counts) {
      if (c > 0) distinct += 1;
      if (c > 1) duplicated += 1;
    }
    return {
      t_start,
      t_last: this.t_last,
      invocations: this.invocations,
      distinct,
      duplicated,
      missing: this.n - distinct,
      out_of_range: this.out_of_range,
      latencies_us: this.latencies,
    };
  }
}

export function verified(summary, n) {
  return summary.invocations === n && summary.distinct === n && summary.duplicated === 0 && summary.out_of_range === 0;
}

// Starts this same script as the worker process; resolves with its summary line.
// `on_ready` runs once the worker says it is waiting for jobs.
export function run_worker_process(script_url, args, on_ready) {
  return new Promise((resolve, reject) => {
    const argv = [fileURLToPath(script_url), '--role', 'worker', '--port', String(args.port), '--n', String(args.n),
      '--c', String(args.c), '--workload', args.workload];
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    let summary = null;
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const msg = JSON.parse(line);
        if (msg.ready && on_ready) {
          on_ready().catch(reject);
        } else if (msg.summary) {
          summary = msg.summary;
        }
      }
    });
    child.on('exit', (code) => {
      if (code !== 0 || !summary) {
        reject(new Error(`worker process exited with ${code} without a summary`));
      } else {
        resolve(summary);
      }
    });
  });
}

export function nearest_rank(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

export function emit(fields) {
  process.stdout.write(JSON.stringify(fields) + '\n');
}

// Prints the figure lines for a drain or latency run; throws when verification fails.
export function report_worker_run(system, args, summary, counters_ok, counters_note) {
  const ok = verified(summary, args.n) && counters_ok;
  const base = { system, n: args.n, concurrency: args.c, run: args.run, verified: ok,
    invocations: summary.invocations, distinct: summary.distinct, duplicated: summary.duplicated,
    counters: counters_note };
  if (!ok) {
    emit({ ...base, metric: args.workload === 'drain' ? `drain_c${args.c}` : 'latency', error: 'verification failed' });
    process.exitCode = 3;
    return;
  }
  if (args.workload === 'drain') {
    const seconds = (summary.t_last - summary.t_start) / 1e6;
    emit({ ...base, metric: `drain_c${args.c}`, value: args.n / seconds, unit: 'tasks/s' });
  } else {
    const sorted = Float64Array.from(summary.latencies_us).sort();
    emit({ ...base, metric: 'latency_p50', value: nearest_rank(sorted, 50), unit: 'us' });
    emit({ ...base, metric: 'latency_p99', value: nearest_rank(sorted, 99), unit: 'us' });
  }
}
