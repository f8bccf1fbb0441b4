import { cpus } from 'node:os';
import { peakRss } from '@evt/testing';
import { copyInto, deleteQueuePrefix, EVENT_COLUMNS, readQueueDepthsFromEnv } from './db-access';
import { scenarioE } from './audience-list';
import { batchBody, trackEvent } from './payloads';
import { hammer, sustained, type LoadResult } from './load';
import { startBackends, startBaseline, startGateway, startWorker, type BenchStack } from './stack';

export interface BenchOptions {
  scenarios: Array<'a' | 'b' | 'c' | 'd' | 'e'>;
  connections: number;
  seconds: number;
  e2eSeconds: number;
  e2eConnections: number;
  memoryConnections: number;
  memoryBodyBytes: number;
  memorySeconds: number;
  gatewayProcesses: number;
  /** (e): the audience list's size, MAX_AUDIENCE_LIST_SIZE by default. */
  audienceListBytes: number;
  databaseUrl: string;
  log: (line: string) => void;
}

/** One line of the report: a measured figure beside its baseline, with their ratio. */
export interface Row {
  scenario: string;
  target: string;
  requestsPerSecond?: number;
  eventsPerSecond?: number;
  p50Ms?: number;
  p99Ms?: number;
  peakRssBytes?: number;
  baseline: string;
  baselineValue: number;
  ratio: number;
  goal: string;
  met: boolean;
  notes?: string;
}

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; node: string };
  options: Omit<BenchOptions, 'log' | 'databaseUrl'>;
  rows: Row[];
  e2e?: { acknowledged: number; stored: number; lost: number; duplicated: number; backlogEventsAtStop: number; drainSeconds: number };
}

const ratio = (value: number, baseline: number) => (baseline > 0 ? value / baseline : 0);

async function withBaseline<T>(work: (baseline: { url: string; pid: number }) => Promise<T>): Promise<T> {
  const baseline = await startBaseline();
  try {
    return await work(baseline);
  } finally {
    await baseline.stop();
  }
}

async function emptyQueue(stack: BenchStack): Promise<void> {
  await deleteQueuePrefix(stack.redis.url, 'evt-bench');
}

/** (a) one ~600-byte track per request, durable enqueue, against the plain node:http baseline. */
async function scenarioA(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const body = JSON.stringify(trackEvent());
  const headers = { authorization: `Basic ${Buffer.from(`${stack.writeKey}:`).toString('base64')}` };
  const base = await withBaseline((baseline) =>
    hammer({ url: baseline.url, path: '/v1/track', body, headers, connections: options.connections, seconds: options.seconds }),
  );
  const gateway = await startGateway(stack, { GATEWAY_PROCESSES: String(options.gatewayProcesses) });
  let result: LoadResult;
  try {
    result = await hammer({ url: gateway.url, path: '/v1/track', body, headers, connections: options.connections, seconds: options.seconds });
  } finally {
    await gateway.app.stop();
    await emptyQueue(stack);
  }
  const r = ratio(result.requestsPerSecond, base.requestsPerSecond);
  return [
    {
      scenario: 'a',
      target: `POST /v1/track (${body.length} B), durable enqueue`,
      requestsPerSecond: result.requestsPerSecond,
      eventsPerSecond: result.requestsPerSecond,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      baseline: `node:http OK: ${Math.round(base.requestsPerSecond)} req/s, p99 ${base.p99Ms} ms`,
      baselineValue: base.requestsPerSecond,
      ratio: r,
      goal: '≥ 0.5 × baseline req/s',
      met: r >= 0.5 && result.non2xx === 0,
      notes: result.non2xx || result.errors ? `${result.non2xx} non-2xx, ${result.errors} errors` : undefined,
    },
  ];
}

/** (b) 100 events per request, with enqueue and with it switched off (parse + validate ceiling). */
async function scenarioB(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const body = JSON.stringify(batchBody(100, false));
  const headers = { authorization: `Basic ${Buffer.from(`${stack.writeKey}:`).toString('base64')}` };
  const run = async (extraEnv: Record<string, string>) => {
    const gateway = await startGateway(stack, { GATEWAY_PROCESSES: String(options.gatewayProcesses), ...extraEnv });
    try {
      return await hammer({ url: gateway.url, path: '/v1/batch', body, headers, connections: options.connections, seconds: options.seconds });
    } finally {
      await gateway.app.stop();
      await emptyQueue(stack);
    }
  };
  const ceiling = await run({ ENQUEUE_DISABLED: 'true' });
  const real = await run({});
  const events = real.requestsPerSecond * 100;
  const r = ratio(real.requestsPerSecond, ceiling.requestsPerSecond);
  return [
    {
      scenario: 'b',
      target: `POST /v1/batch, 100 events (${Math.round(body.length / 1024)} KB), durable enqueue`,
      requestsPerSecond: real.requestsPerSecond,
      eventsPerSecond: events,
      p50Ms: real.p50Ms,
      p99Ms: real.p99Ms,
      baseline: `same gateway, enqueue off: ${Math.round(ceiling.requestsPerSecond * 100)} events/s`,
      baselineValue: ceiling.requestsPerSecond * 100,
      ratio: r,
      goal: '≥ 150 k events/s and ≥ 0.8 × ceiling',
      met: events >= 150_000 && r >= 0.8 && real.non2xx === 0,
      notes: real.non2xx || real.errors ? `${real.non2xx} non-2xx, ${real.errors} errors` : undefined,
    },
  ];
}

/** (c) sustained end-to-end load; every acknowledged messageId must land once. Baseline: plain COPY of the same rows. */
async function scenarioC(stack: BenchStack, options: BenchOptions, report: BenchReport): Promise<Row[]> {
  const gateway = await startGateway(stack, { GATEWAY_PROCESSES: String(options.gatewayProcesses) });
  const worker = startWorker(stack);
  const countRows = async () => (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [stack.sourceId]))[0].n;
  const before = await countRows();
  let load;
  try {
    const started = Date.now();
    load = await sustained({ url: gateway.url, writeKey: stack.writeKey, connections: options.e2eConnections, seconds: options.e2eSeconds, batchSize: 100 });
    const loadSeconds = (Date.now() - started) / 1000;
    const storedAtStop = (await countRows()) - before;
    const depth = await readQueueDepthsFromEnv(stack.redis.url);
    const drainStarted = Date.now();
    const expected = new Set(load.acknowledged);
    let stored = storedAtStop;
    while (stored < expected.size && Date.now() - drainStarted < 600_000) {
      if (worker.status) throw new Error(`the events worker died while draining\n${worker.report()}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      stored = (await countRows()) - before;
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const rows = await stack.db.query<{ message_id: string; n: number }>(
      'SELECT message_id, count(*)::int AS n FROM events WHERE source_id = $1 GROUP BY message_id',
      [stack.sourceId],
    );
    const seen = new Map(rows.map((row) => [row.message_id, row.n]));
    const lost = load.acknowledged.filter((id) => !seen.has(id)).length;
    const duplicated = rows.filter((row) => row.n > 1).length;
    report.e2e = { acknowledged: expected.size, stored: rows.length, lost, duplicated, backlogEventsAtStop: expected.size - storedAtStop, drainSeconds };
    options.log(
      `  (c) acknowledged ${expected.size}, stored ${storedAtStop} during load, backlog ${expected.size - storedAtStop} events (${depth} jobs), drained in ${drainSeconds.toFixed(1)} s, lost ${lost}, duplicated ${duplicated}`,
    );

    const landed = (storedAtStop + 0) / loadSeconds;
    const total = expected.size / (loadSeconds + drainSeconds);
    const copyRate = await plainCopyRate(stack, Math.min(200_000, Math.max(1000, rows.length)));
    const r = ratio(total, copyRate);
    return [
      {
        scenario: 'c',
        target: `end to end, ${options.e2eSeconds} s at ${options.e2eConnections} connections × 100 events`,
        requestsPerSecond: load.requestsPerSecond,
        eventsPerSecond: total,
        p50Ms: load.p50Ms,
        p99Ms: load.p99Ms,
        baseline: `plain COPY of the same rows: ${Math.round(copyRate)} rows/s`,
        baselineValue: copyRate,
        ratio: r,
        goal: '≥ 0.5 × plain COPY, 0 lost, 0 duplicated',
        met: r >= 0.5 && lost === 0 && duplicated === 0,
        notes: `acknowledged ${Math.round(load.events / loadSeconds)} events/s; landed ${Math.round(landed)} events/s while loaded; all stored ${Math.round(total)} events/s incl. drain`,
      },
    ];
  } finally {
    await worker.stop();
    await gateway.app.stop();
    await emptyQueue(stack);
  }
}

/** Rows per second of one plain COPY of `count` of the stored rows into `events` (under another source, then removed). */
async function plainCopyRate(stack: BenchStack, count: number): Promise<number> {
  const rows = await stack.db.query<Record<string, unknown>>(
    `SELECT workspace_id, 'bench-copy' AS source_id, message_id, type, user_id, anonymous_id, rudder_id, event, name, received_at, sent_at,
            original_timestamp, "timestamp", request_ip, payload FROM events WHERE source_id = $1 LIMIT $2`,
    [stack.sourceId, count],
  );
  const columns = [...EVENT_COLUMNS];
  const values = rows.map((row) => columns.map((column) => (row[column] instanceof Date ? (row[column] as Date).toISOString() : row[column])));
  const started = process.hrtime.bigint();
  await copyInto(stack.db, 'events', columns, values);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await stack.db.query("DELETE FROM events WHERE source_id = 'bench-copy'");
  return rows.length / seconds;
}

/** (d) many connections sending large bodies: the gateway's peak RSS beside the baseline's. */
async function scenarioD(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const events = Math.max(1, Math.floor(options.memoryBodyBytes / 650));
  const body = JSON.stringify(batchBody(events, false));
  const headers = { authorization: `Basic ${Buffer.from(`${stack.writeKey}:`).toString('base64')}` };
  const base = await withBaseline(async (baseline) => {
    const result = await hammer({
      url: baseline.url,
      path: '/v1/batch',
      body,
      headers,
      connections: options.memoryConnections,
      seconds: options.memorySeconds,
      timeoutSeconds: 120,
    });
    return { result, rss: peakRss(baseline.pid) };
  });
  const gateway = await startGateway(stack, { GATEWAY_PROCESSES: '1', ENQUEUE_DISABLED: 'true' });
  let result: LoadResult;
  let rss: number;
  try {
    result = await hammer({
      url: gateway.url,
      path: '/v1/batch',
      body,
      headers,
      connections: options.memoryConnections,
      seconds: options.memorySeconds,
      timeoutSeconds: 120,
    });
    rss = peakRss(gateway.app.pid);
  } finally {
    await gateway.app.stop();
  }
  return [
    {
      scenario: 'd',
      target: `${options.memoryConnections} connections × ${(body.length / 1024 / 1024).toFixed(1)} MB bodies`,
      requestsPerSecond: result.requestsPerSecond,
      peakRssBytes: rss,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      baseline: `node:http OK: peak RSS ${Math.round(base.rss / 1024 / 1024)} MB`,
      baselineValue: base.rss,
      ratio: ratio(rss, base.rss),
      goal: 'peak RSS < 512 MB',
      met: rss > 0 && rss < 512 * 1024 * 1024,
      notes: `${result.requests} requests, ${result.non2xx} non-2xx, ${result.errors} errors`,
    },
  ];
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const { log, databaseUrl: _databaseUrl, ...shown } = options;
  const report: BenchReport = { startedAt: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, options: shown, rows: [] };
  const stack = await startBackends(options.databaseUrl);
  try {
    for (const scenario of options.scenarios) {
      log(`scenario (${scenario})…`);
      const rows =
        scenario === 'a'
          ? await scenarioA(stack, options)
          : scenario === 'b'
            ? await scenarioB(stack, options)
            : scenario === 'c'
              ? await scenarioC(stack, options, report)
              : scenario === 'e'
                ? await scenarioE(stack, options)
                : await scenarioD(stack, options);
      report.rows.push(...rows);
    }
  } finally {
    await stack.stop();
  }
  return report;
}
