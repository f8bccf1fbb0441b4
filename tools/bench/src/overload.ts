import { randomBytes } from 'node:crypto';
import { startCostWindow } from './cpu';
import { deleteQueuePrefix, readQueueDepthsFromEnv } from './db-access';
import { redisPid, sampleRedis, type RedisSample } from './redis-stats';
import { EVENT_ID_SQL, retryingLoad, type RetryingLoadResult } from './retrying-load';
import { driveRudderSdk, type SdkResult } from './rudder-sdk';
import { startGateway, startWorker, type BenchStack } from './stack';
import type { BenchOptions, BenchReport, Row } from './types';

const BATCH_SIZE = 100;
const SAMPLE_INTERVAL_MS = 5000;
const MEGABYTE = 1024 * 1024;

/** Redis's used_memory over the run: flat when the max after the first fifth stays near the first fifth's. */
export interface UsedMemory {
  minBytes: number;
  maxBytes: number;
  lastBytes: number;
  /** The first fifth of the load (60 s of a 300 s run), when the backlog fills up to its limit. */
  firstPeriodSeconds: number;
  maxFirstPeriodBytes: number;
  maxAfterFirstPeriodBytes: number;
}

export interface OverloadReport {
  seconds: number;
  backlogLimit: number;
  connections: number;
  /** Events acknowledged: the retrying clients' and the SDK's. */
  acknowledged: number;
  load: Omit<RetryingLoadResult, 'acknowledgedBatches'> & { acknowledgedEvents: number };
  sdk: Omit<SdkResult, 'acknowledged'> & { acknowledgedEvents: number };
  /** Rows of this run in `events`, and those among them no client was told were accepted (a refused or unanswered request that was stored). */
  stored: number;
  storedNotAcknowledged: number;
  lost: number;
  duplicated: number;
  drainSeconds: number;
  usedMemory: UsedMemory;
  samples: RedisSample[];
}

function usedMemoryOf(samples: RedisSample[], loadSeconds: number): UsedMemory {
  const firstPeriodSeconds = Math.min(60, loadSeconds / 5);
  const bytes = samples.map((sample) => sample.usedMemoryBytes);
  const max = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);
  const during = samples.filter((sample) => sample.secondsFromStart <= loadSeconds);
  return {
    minBytes: bytes.reduce((a, b) => Math.min(a, b), bytes[0] ?? 0),
    maxBytes: max(bytes),
    lastBytes: bytes[bytes.length - 1] ?? 0,
    firstPeriodSeconds,
    maxFirstPeriodBytes: max(during.filter((sample) => sample.secondsFromStart <= firstPeriodSeconds).map((sample) => sample.usedMemoryBytes)),
    maxAfterFirstPeriodBytes: max(during.filter((sample) => sample.secondsFromStart > firstPeriodSeconds).map((sample) => sample.usedMemoryBytes)),
  };
}

/** Lost (acknowledged, not in `events`) and duplicated, counted in Postgres: millions of ids need not come back to the bench. */
async function verify(
  stack: BenchStack,
  run: string,
  acknowledgedBatches: number[],
  sdkIds: string[],
): Promise<{ lost: number; duplicated: number; storedAcknowledged: number }> {
  await stack.db.query('DROP TABLE IF EXISTS bench_acknowledged');
  await stack.db.query('CREATE UNLOGGED TABLE bench_acknowledged (message_id text PRIMARY KEY)');
  try {
    await stack.db.query(
      `INSERT INTO bench_acknowledged SELECT ${EVENT_ID_SQL('$1::text', `b * ${BATCH_SIZE} + i`)} FROM unnest($2::bigint[]) AS b, generate_series(0, ${BATCH_SIZE - 1}) AS i`,
      [run, acknowledgedBatches],
    );
    await stack.db.query('INSERT INTO bench_acknowledged SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [sdkIds]);
    const [{ lost, acknowledged }] = await stack.db.query<{ lost: number; acknowledged: number }>(
      `SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.source_id = $1 AND e.message_id = a.message_id))::int AS lost,
              count(*)::int AS acknowledged
         FROM bench_acknowledged a`,
      [stack.sourceId],
    );
    const [{ duplicated }] = await stack.db.query<{ duplicated: number }>(
      'SELECT count(*)::int AS duplicated FROM (SELECT message_id FROM events WHERE source_id = $1 GROUP BY message_id HAVING count(*) > 1) d',
      [stack.sourceId],
    );
    return { lost, duplicated, storedAcknowledged: acknowledged - lost };
  } finally {
    await stack.db.query('DROP TABLE IF EXISTS bench_acknowledged');
  }
}

/**
 * (f) overload: more batches than the events worker can store, from clients that retry refused
 * batches as SDKs do, and one real rudder-sdk-node client, against a gateway with
 * MAX_QUEUE_BACKLOG_EVENTS. Nothing acknowledged may be lost or stored twice, and Redis's memory
 * must stay bounded: the gateway refuses (503) instead of letting the backlog grow.
 */
export async function scenarioF(stack: BenchStack, options: BenchOptions, report: BenchReport): Promise<Row[]> {
  const gateway = await startGateway(stack, { GATEWAY_PROCESSES: String(options.gatewayProcesses), MAX_QUEUE_BACKLOG_EVENTS: String(options.overloadBacklog) });
  const worker = startWorker(stack);
  const countRows = async () => (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [stack.sourceId]))[0].n;
  const run = randomBytes(4).toString('hex');
  try {
    const before = await countRows();
    const window = await startCostWindow({ gateway: gateway.app.pid, redis: await redisPid(stack.redis.url), worker: worker.pid, postgres: stack.db });
    const sampler = sampleRedis(stack.redis.url, 'evt-bench', SAMPLE_INTERVAL_MS);
    const started = Date.now();
    const giveUpAt = started + (options.overloadSeconds + options.overloadGraceSeconds) * 1000;
    const [load, sdk] = await Promise.all([
      retryingLoad({
        url: gateway.url,
        writeKey: stack.writeKey,
        run,
        connections: options.overloadConnections,
        seconds: options.overloadSeconds,
        graceSeconds: options.overloadGraceSeconds,
        batchSize: BATCH_SIZE,
      }),
      driveRudderSdk({ url: gateway.url, writeKey: stack.writeKey, seconds: options.overloadSeconds, eventsPerSecond: options.sdkEventsPerSecond, giveUpAt }),
    ]);
    const loadSeconds = (Date.now() - started) / 1000;
    const acknowledged = load.acknowledgedBatches.length * BATCH_SIZE + sdk.acknowledged.length;
    options.log(
      `  (f) load stopped after ${loadSeconds.toFixed(0)} s: ${acknowledged} events acknowledged, ${load.answered503} answered 503, ${load.retriesSucceeded} retries succeeded; draining…`,
    );

    // Drained when the queue is empty and the rows are there (rows are counted only then: each count scans
    // millions); an empty queue for 30 s with rows missing means they are lost, no need to wait longer.
    const drainStarted = Date.now();
    let emptySince: number | undefined;
    while (Date.now() - drainStarted < 900_000 && (emptySince === undefined || Date.now() - emptySince < 30_000)) {
      if (worker.status) throw new Error(`the events worker died while draining\n${worker.report()}`);
      const empty = (await readQueueDepthsFromEnv(stack.redis.url)) === 0;
      emptySince = empty ? (emptySince ?? Date.now()) : undefined;
      if (empty && (await countRows()) - before >= acknowledged) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const stored = (await countRows()) - before;
    const cost = await window.stop(acknowledged);
    const samples = await sampler.stop();
    const { lost, duplicated, storedAcknowledged } = await verify(stack, run, load.acknowledgedBatches, sdk.acknowledged);
    const usedMemory = usedMemoryOf(samples, loadSeconds);
    const { acknowledgedBatches, ...loadCounts } = load;
    const { acknowledged: sdkIds, ...sdkCounts } = sdk;
    report.overload = {
      seconds: options.overloadSeconds,
      backlogLimit: options.overloadBacklog,
      connections: options.overloadConnections,
      acknowledged,
      load: { ...loadCounts, acknowledgedEvents: acknowledgedBatches.length * BATCH_SIZE },
      sdk: { ...sdkCounts, acknowledgedEvents: sdkIds.length },
      stored,
      storedNotAcknowledged: stored - storedAcknowledged,
      lost,
      duplicated,
      drainSeconds,
      usedMemory,
      samples,
    };
    const mb = (bytes: number) => `${(bytes / MEGABYTE).toFixed(1)} MB`;
    const growth = usedMemory.maxFirstPeriodBytes > 0 ? usedMemory.maxAfterFirstPeriodBytes / usedMemory.maxFirstPeriodBytes : 0;
    const backlogs = samples.map((sample) => sample.backlogEvents).filter((value): value is number => value !== undefined);
    options.log(
      `  (f) drained in ${drainSeconds.toFixed(1)} s: stored ${stored}, lost ${lost}, duplicated ${duplicated}; Redis used_memory min ${mb(usedMemory.minBytes)}, max ${mb(usedMemory.maxBytes)}, last ${mb(usedMemory.lastBytes)}`,
    );
    return [
      {
        scenario: 'f',
        target: `overload ${options.overloadSeconds} s: ${options.overloadConnections} connections × 100 events retrying + rudder-sdk-node at ${options.sdkEventsPerSecond}/s, MAX_QUEUE_BACKLOG_EVENTS ${options.overloadBacklog}`,
        requestsPerSecond: load.requests / loadSeconds,
        eventsPerSecond: stored / (loadSeconds + drainSeconds),
        baseline: `Redis used_memory, max in the first ${usedMemory.firstPeriodSeconds.toFixed(0)} s: ${mb(usedMemory.maxFirstPeriodBytes)}`,
        baselineValue: usedMemory.maxFirstPeriodBytes,
        ratio: growth,
        goal: '0 lost, 0 duplicated, some 503s, used_memory max afterwards ≤ 1.5 × the first period’s',
        met: lost === 0 && duplicated === 0 && load.answered503 > 0 && growth > 0 && growth <= 1.5,
        notes:
          `acknowledged ${acknowledged} events (${load.acknowledgedBatches.length} batches, SDK ${sdkIds.length} of ${sdk.sent} sent, ${sdk.failed} failed, ${sdk.pending} pending, ${sdk.retries} SDK retries); ` +
          `${load.answered503} answered 503, ${load.answered429} 429, ${load.noAnswer} unanswered, ${load.retriesSucceeded} retries succeeded, ${load.abandonedBatches} batches abandoned; ` +
          `stored ${stored} (${stored - storedAcknowledged} not acknowledged), lost ${lost}, duplicated ${duplicated}, drained in ${drainSeconds.toFixed(1)} s; ` +
          `Redis used_memory min ${mb(usedMemory.minBytes)}, max ${mb(usedMemory.maxBytes)} (after the first period ${mb(usedMemory.maxAfterFirstPeriodBytes)}), last ${mb(usedMemory.lastBytes)}` +
          (backlogs.length ? `; backlog counter max ${Math.max(...backlogs)} events` : '; no backlog counter in Redis'),
        cost,
      },
    ];
  } finally {
    await worker.stop();
    await gateway.app.stop();
    await deleteQueuePrefix(stack.redis.url, 'evt-bench');
  }
}
