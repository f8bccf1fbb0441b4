import { basicAuth } from '@evt/testing';
import { batchBody } from './payloads';
import { hammer, sustained } from './load';
import { deleteQueuePrefix, readQueueDepthsFromEnv } from './db-access';
import { startGateway, startWorker, type BenchStack } from './stack';
import type { BenchOptions, Row } from './types';

/**
 * (g) scale-out: the same load with one gateway process and with two, then the same backlog
 * drained by one events worker and by two. Every process shares this machine's cores with Redis,
 * Postgres and the load generator, so the gain shows what a second process adds here, not on a
 * machine of its own (docs/scaling.md says how to read it).
 */
export async function scenarioG(stack: BenchStack, options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const gateways: number[] = [];
  for (const processes of [1, 2]) gateways.push(await gatewayThroughput(stack, options, processes));
  rows.push({
    scenario: 'g',
    target: `POST /v1/batch, 100 events, durable enqueue, 2 gateway processes (GATEWAY_PROCESSES=2)`,
    eventsPerSecond: gateways[1],
    baseline: `1 gateway process: ${Math.round(gateways[0])} events/s`,
    baselineValue: gateways[0],
    ratio: gateways[1] / gateways[0],
    goal: 'for scaling: > 1 × with a core to spare',
  });
  const drains: Array<{ eventsPerSecond: number; events: number }> = [];
  for (const workers of [1, 2]) drains.push(await drainRate(stack, options, workers));
  rows.push({
    scenario: 'g',
    target: `events workers draining a backlog of ${drains[1].events.toLocaleString('en')} events, 2 worker processes`,
    eventsPerSecond: drains[1].eventsPerSecond,
    baseline: `1 worker process: ${Math.round(drains[0].eventsPerSecond)} events/s (${drains[0].events.toLocaleString('en')} events)`,
    baselineValue: drains[0].eventsPerSecond,
    ratio: drains[1].eventsPerSecond / drains[0].eventsPerSecond,
    goal: 'for scaling: > 1 × while Postgres has CPU to spare',
  });
  return rows;
}

async function gatewayThroughput(stack: BenchStack, options: BenchOptions, processes: number): Promise<number> {
  const body = JSON.stringify(batchBody(100, false));
  const headers = { authorization: basicAuth(stack.writeKey) };
  const gateway = await startGateway(stack, { GATEWAY_PROCESSES: String(processes), MAX_QUEUE_BACKLOG_EVENTS: '0' });
  try {
    const result = await hammer({ url: gateway.url, path: '/v1/batch', body, headers, connections: options.connections[0], seconds: options.seconds });
    options.log(`  (g) ${processes} gateway process(es): ${Math.round(result.requestsPerSecond * 100)} events/s, ${result.non2xx} non-2xx`);
    return result.requestsPerSecond * 100;
  } finally {
    await gateway.app.stop();
    await deleteQueuePrefix(stack.redis.url, 'evt-bench');
  }
}

/** Fills the queue with no worker running, then times `workers` events workers until every acknowledged event is stored. */
async function drainRate(stack: BenchStack, options: BenchOptions, workers: number): Promise<{ eventsPerSecond: number; events: number }> {
  const gateway = await startGateway(stack, { GATEWAY_PROCESSES: '1', MAX_QUEUE_BACKLOG_EVENTS: '0' });
  let acknowledged: string[];
  try {
    const load = await sustained({ url: gateway.url, writeKey: stack.writeKey, connections: options.e2eConnections, seconds: options.seconds, batchSize: 100 });
    acknowledged = load.acknowledged;
  } finally {
    await gateway.app.stop();
  }
  const countRows = async () => (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [stack.sourceId]))[0].n;
  const before = await countRows();
  const started = Date.now();
  const running = Array.from({ length: workers }, () => startWorker(stack));
  try {
    while (Date.now() - started < 600_000) {
      const dead = running.find((worker) => worker.status);
      if (dead) throw new Error(`an events worker died while draining\n${dead.report()}`);
      if ((await readQueueDepthsFromEnv(stack.redis.url)) === 0 && (await countRows()) - before >= acknowledged.length) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const seconds = (Date.now() - started) / 1000;
    const stored = (await countRows()) - before;
    if (stored !== acknowledged.length) throw new Error(`(g) ${acknowledged.length} events acknowledged, ${stored} stored`);
    options.log(`  (g) ${workers} events worker(s): ${acknowledged.length} events stored in ${seconds.toFixed(1)} s`);
    // Worker start-up (a second or so) is inside the window for both runs alike.
    return { eventsPerSecond: acknowledged.length / seconds, events: acknowledged.length };
  } finally {
    await Promise.all(running.map((worker) => worker.stop()));
    await stack.db.query('DELETE FROM events WHERE source_id = $1', [stack.sourceId]);
    await deleteQueuePrefix(stack.redis.url, 'evt-bench');
  }
}
