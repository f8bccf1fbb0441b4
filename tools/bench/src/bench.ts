import { cpus } from 'node:os';
import { basicAuth, peakRss } from '@evt/testing';
import { copyInto, deleteQueuePrefix, EVENT_COLUMNS, readQueueDepthsFromEnv } from './db-access';
import { scenarioE } from './audience-list';
import { eventsTableSizes, prefillEvents } from './prefill';
import { startCostWindow, type Cost, type CostTargets } from './cpu';
import { scenarioF } from './overload';
import { scenarioG } from './scale-out';
import { batchBody, trackEvent } from './payloads';
import { hammer, sustained, type LoadResult } from './load';
import { redisPid } from './redis-stats';
import { startBackends, startBaseline, startGateway, startWorker, type BenchStack } from './stack';
import type { BenchOptions, BenchReport, Row, Scenario } from './types';

export type { BenchOptions, BenchReport, Row } from './types';

const ratio = (value: number, baseline: number) => (baseline > 0 ? value / baseline : 0);

async function withBaseline<T>(work: (baseline: { url: string; pid: number }) => Promise<T>): Promise<T> {
  const baseline = await startBaseline();
  try {
    return await work(baseline);
  } finally {
    await baseline.stop();
  }
}

/** The gateway started for one run only, its queue emptied after. */
async function withGateway<T>(stack: BenchStack, env: Record<string, string>, work: (gateway: { url: string; pid: number }) => Promise<T>): Promise<T> {
  const gateway = await startGateway(stack, env);
  try {
    return await work({ url: gateway.url, pid: gateway.app.pid ?? 0 });
  } finally {
    await gateway.app.stop();
    await emptyQueue(stack);
  }
}

/** A fixed-body load with the CPU it took from `targets` (and from the bench itself) over the same seconds. */
async function measured(targets: CostTargets, eventsPerRequest: number, load: () => Promise<LoadResult>): Promise<LoadResult & { cost: Cost }> {
  const window = await startCostWindow(targets);
  const result = await load();
  return { ...result, cost: await window.stop(result.requests * eventsPerRequest) };
}

/**
 * The gateway as (a)–(c) measure it: no backlog limit (MAX_QUEUE_BACKLOG_EVENTS=0), because with
 * no worker (a) and (b) fill any limit within seconds and would measure 503s, and (c) measures
 * the worker's pace from a backlog as before; (f) measures the limit.
 */
const unlimited = (options: BenchOptions) => ({ GATEWAY_PROCESSES: String(options.gatewayProcesses), MAX_QUEUE_BACKLOG_EVENTS: '0' });

async function emptyQueue(stack: BenchStack): Promise<void> {
  await deleteQueuePrefix(stack.redis.url, 'evt-bench');
}

const failures = (result: LoadResult) => (result.non2xx || result.errors ? `${result.non2xx} non-2xx, ${result.errors} errors` : undefined);

/**
 * (a) one ~600-byte track per request, at each connection count: the plain node:http baseline,
 * the gateway with its durable enqueue, and the same gateway with enqueue off, so that the cost
 * of durability stands apart from the cost of HTTP.
 */
async function scenarioA(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const body = JSON.stringify(trackEvent());
  const headers = { authorization: basicAuth(stack.writeKey) };
  const redis = await redisPid(stack.redis.url);
  const gatewayEnv = unlimited(options);
  const rows: Row[] = [];
  for (const connections of options.connections) {
    const load = (url: string) => () => hammer({ url, path: '/v1/track', body, headers, connections, seconds: options.seconds });
    const base = await withBaseline((baseline) => measured({ baseline: baseline.pid }, 1, load(baseline.url)));
    const durable = await withGateway(stack, gatewayEnv, (gateway) => measured({ gateway: gateway.pid, redis }, 1, load(gateway.url)));
    const ceiling = await withGateway(stack, { ...gatewayEnv, ENQUEUE_DISABLED: 'true' }, (gateway) =>
      measured({ gateway: gateway.pid, redis }, 1, load(gateway.url)),
    );
    const baseline = `node:http OK at ${connections} connections: ${Math.round(base.requestsPerSecond)} req/s, p99 ${base.p99Ms} ms`;
    const r = ratio(durable.requestsPerSecond, base.requestsPerSecond);
    rows.push(
      {
        scenario: 'a',
        target: `POST /v1/track (${body.length} B), durable enqueue, ${connections} connections`,
        requestsPerSecond: durable.requestsPerSecond,
        eventsPerSecond: durable.requestsPerSecond,
        p50Ms: durable.p50Ms,
        p99Ms: durable.p99Ms,
        baseline,
        baselineValue: base.requestsPerSecond,
        ratio: r,
        goal: '≥ 0.5 × baseline req/s',
        met: r >= 0.5 && durable.non2xx === 0,
        notes: failures(durable),
        cost: durable.cost,
        baselineCost: base.cost,
      },
      {
        scenario: 'a',
        target: `the same, enqueue off (the gateway's HTTP ceiling), ${connections} connections`,
        requestsPerSecond: ceiling.requestsPerSecond,
        eventsPerSecond: ceiling.requestsPerSecond,
        p50Ms: ceiling.p50Ms,
        p99Ms: ceiling.p99Ms,
        baseline,
        baselineValue: base.requestsPerSecond,
        ratio: ratio(ceiling.requestsPerSecond, base.requestsPerSecond),
        goal: `for comparison: durable enqueue keeps ${(ratio(durable.requestsPerSecond, ceiling.requestsPerSecond) * 100).toFixed(0)} % of it`,
        notes: failures(ceiling),
        cost: ceiling.cost,
      },
    );
  }
  return rows;
}

/** (b) 100 events per request, with enqueue and with it switched off (parse + validate ceiling). */
async function scenarioB(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const body = JSON.stringify(batchBody(100, false));
  const headers = { authorization: basicAuth(stack.writeKey) };
  const redis = await redisPid(stack.redis.url);
  const run = (extraEnv: Record<string, string>) =>
    withGateway(stack, { ...unlimited(options), ...extraEnv }, (gateway) =>
      measured({ gateway: gateway.pid, redis }, 100, () =>
        hammer({ url: gateway.url, path: '/v1/batch', body, headers, connections: options.connections[0], seconds: options.seconds }),
      ),
    );
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
      notes: failures(real),
      cost: real.cost,
      baselineCost: ceiling.cost,
    },
  ];
}

/** (c) sustained end-to-end load; every acknowledged messageId must land once. Baseline: plain COPY of the same rows. */
/** (c) once per size of `events` in options.prefillEvents, growing the table between runs. */
async function scenarioCAsTableGrows(stack: BenchStack, options: BenchOptions, report: BenchReport): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of options.prefillEvents) {
    if (size > 0) {
      const seconds = await prefillEvents(stack.db, stack.workspaceId, size, options.log);
      options.log(`  prefilled events to ${size.toLocaleString('en')} rows of another source in ${seconds.toFixed(0)} s`);
    }
    const table = await eventsTableSizes(stack.db);
    (report.eventsTable ??= []).push(table);
    const [row] = await scenarioC(stack, options, report);
    const label = `events at ${table.rows.toLocaleString('en')} rows (unique index ${table.uniqueIndexMb} MB, all indexes ${table.indexesMb} MB, shared_buffers ${table.sharedBuffersMb} MB)`;
    rows.push(options.prefillEvents.length > 1 || size > 0 ? { ...row, target: `${row.target}, ${label}` } : row);
  }
  return rows;
}

async function scenarioC(stack: BenchStack, options: BenchOptions, report: BenchReport): Promise<Row[]> {
  const gateway = await startGateway(stack, unlimited(options));
  const worker = startWorker(stack);
  const countRows = async () => (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [stack.sourceId]))[0].n;
  const before = await countRows();
  let load;
  try {
    const window = await startCostWindow({ gateway: gateway.app.pid, redis: await redisPid(stack.redis.url), worker: worker.pid, postgres: stack.db });
    const started = Date.now();
    load = await sustained({ url: gateway.url, writeKey: stack.writeKey, connections: options.e2eConnections, seconds: options.e2eSeconds, batchSize: 100 });
    const loadSeconds = (Date.now() - started) / 1000;
    const storedAtStop = (await countRows()) - before;
    const depth = await readQueueDepthsFromEnv(stack.redis.url);
    const drainStarted = Date.now();
    const expected = new Set(load.acknowledged);
    let stored = storedAtStop;
    // Drained when the queue is empty; counting the rows instead would scan millions every half second, on Postgres's CPU.
    while (stored < expected.size && Date.now() - drainStarted < 600_000) {
      if (worker.status) throw new Error(`the events worker died while draining\n${worker.report()}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      if ((await readQueueDepthsFromEnv(stack.redis.url)) === 0) stored = (await countRows()) - before;
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const cost = await window.stop(expected.size);
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
    const copy = await plainCopyRate(stack, Math.min(200_000, Math.max(1000, rows.length)));
    const copyRate = copy.events;
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
        notes: `acknowledged ${Math.round(load.events / loadSeconds)} events/s; landed ${Math.round(landed)} events/s while loaded; all stored ${Math.round(total)} events/s incl. drain; plain COPY of the rows and their keys into event_keys: ${Math.round(copy.withKeys)} rows/s (${ratio(total, copy.withKeys).toFixed(2)} ×)`,
        cost,
      },
    ];
  } finally {
    await worker.stop();
    await gateway.app.stop();
    await emptyQueue(stack);
  }
}

/**
 * Rows per second of one plain COPY of `count` of the stored rows into `events` (under another
 * source, then removed), and of the same rows with their keys COPYed into `event_keys` too: the
 * least that storing each event once across partitions writes.
 */
async function plainCopyRate(stack: BenchStack, count: number): Promise<{ events: number; withKeys: number }> {
  const rows = await stack.db.query<Record<string, unknown>>(
    `SELECT workspace_id, 'bench-copy' AS source_id, message_id, type, user_id, anonymous_id, rudder_id, event, name, received_at, sent_at,
            original_timestamp, "timestamp", request_ip, payload FROM events WHERE source_id = $1 LIMIT $2`,
    [stack.sourceId, count],
  );
  const columns = [...EVENT_COLUMNS];
  const values = rows.map((row) => columns.map((column) => (row[column] instanceof Date ? (row[column] as Date).toISOString() : row[column])));
  const keys = rows.map((row) => [row.source_id, row.message_id, (row.received_at as Date).toISOString()]);
  const timed = async (work: () => Promise<void>) => {
    const started = process.hrtime.bigint();
    await work();
    return rows.length / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  const clear = () => stack.db.query("DELETE FROM events WHERE source_id = 'bench-copy'");
  const events = await timed(() => copyInto(stack.db, 'events', columns, values));
  await clear();
  const withKeys = await timed(async () => {
    await copyInto(stack.db, 'event_keys', ['source_id', 'message_id', 'received_at'], keys);
    await copyInto(stack.db, 'events', columns, values);
  });
  await clear();
  await stack.db.query("DELETE FROM event_keys WHERE source_id = 'bench-copy'");
  return { events, withKeys };
}

/** (d) many connections sending large bodies: the gateway's peak RSS beside the baseline's. */
async function scenarioD(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const events = Math.max(1, Math.floor(options.memoryBodyBytes / 650));
  const body = JSON.stringify(batchBody(events, false));
  const headers = { authorization: basicAuth(stack.writeKey) };
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
      const run: Record<Scenario, () => Promise<Row[]>> = {
        a: () => scenarioA(stack, options),
        b: () => scenarioB(stack, options),
        c: () => scenarioCAsTableGrows(stack, options, report),
        d: () => scenarioD(stack, options),
        e: () => scenarioE(stack, options),
        f: () => scenarioF(stack, options, report),
        g: () => scenarioG(stack, options),
      };
      const rows = await run[scenario]();
      report.rows.push(...rows);
    }
  } finally {
    await stack.stop();
  }
  return report;
}
