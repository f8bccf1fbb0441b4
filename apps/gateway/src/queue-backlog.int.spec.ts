import { createLogger } from '@evt/logging';
import { backlogKey, createRedis, type Redis } from '@evt/queue';
import { AppProcess, basicAuth, createSource, freePort, waitFor, waitForHealthy, withProcessOutput } from '@evt/testing';
import { startGateway } from './gateway';
import { send, startStack, type Stack } from './test-support/harness';

const LIMIT = 200;
const BATCH = 50;

/** A batch of 50 track events with ids of their own. */
function batchOf(label: string): Array<{ type: string; userId: string; event: string; messageId: string }> {
  return Array.from({ length: BATCH }, (_, k) => ({ type: 'track', userId: 'u', event: 'E', messageId: `${label}-${k}` }));
}

/** The sample lines of a Prometheus text answer whose name starts with `prefix`. */
async function samples(url: string, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

// Under sustained overload the events waiting in Redis are bounded by MAX_QUEUE_BACKLOG_EVENTS,
// counted in Redis and shared by every gateway. A full backlog is our fault, not the client's:
// 503 with Retry-After, which SDKs retry, and the retry is taken once workers have made room.
describe('gateway with a bounded queue backlog', () => {
  let stack: Stack;
  let redis: Redis;
  let worker: AppProcess | undefined;
  let other: AppProcess | undefined;
  let writeKey: string;
  let sourceId: string;
  const processes = () => [stack.worker, ...(worker ? [worker] : []), ...(other ? [other] : [])];
  const post = (url: string, batch: unknown[]) =>
    send(url, { path: '/v1/batch', method: 'POST', headers: { Authorization: basicAuth(writeKey) }, body: JSON.stringify({ batch }) });
  const counter = async () => redis.get(backlogKey(stack.env.queuePrefix));
  const startWorker = () =>
    AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', stack.env.processEnv({ MIGRATE_ON_START: 'false', LOG_LEVEL: 'info' }));
  /** Every acknowledged id stored, each exactly once. */
  const storedOnce = async (acknowledged: string[]) => {
    await stack.rows('SELECT 1 FROM events WHERE source_id = $1', [sourceId], acknowledged.length);
    const rows = await stack.env.db.query<{ message_id: string; copies: number }>(
      'SELECT message_id, count(*)::int AS copies FROM events WHERE source_id = $1 GROUP BY message_id ORDER BY message_id',
      [sourceId],
    );
    expect(rows).toEqual([...acknowledged].sort().map((id) => ({ message_id: id, copies: 1 })));
  };

  beforeAll(async () => {
    stack = await startStack('queue-backlog', { MAX_QUEUE_BACKLOG_EVENTS: String(LIMIT) });
    // No consumer while the backlog fills: the jobs stay in Redis.
    await stack.worker.stop();
    redis = createRedis(stack.env.redisUrl, 'admin');
  });
  // A source of each test's own: what it finds stored is what it sent.
  beforeEach(async () => {
    const source = await createSource(stack.env);
    writeKey = source.writeKey;
    sourceId = source.id;
    await stack.gateway.sources.refresh();
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await other?.stop();
    other = undefined;
  });
  afterAll(async () => {
    redis.disconnect();
    await stack.stop();
  });

  it(
    'accepts up to the limit, then answers 503 with Retry-After; once a worker drains the backlog it accepts the same requests, and stores every acknowledged event once',
    withProcessOutput(processes, async () => {
      const acknowledged: string[] = [];
      const answers: number[] = [];
      let refused: { status: number; body: string; retryAfter: string | null } | undefined;
      for (let n = 0; refused === undefined && n < 20; n++) {
        const batch = batchOf(`fill-${n}`);
        const answer = await post(stack.url, batch);
        answers.push(answer.status);
        if (answer.status === 200) acknowledged.push(...batch.map((event) => event.messageId));
        else refused = { status: answer.status, body: answer.body, retryAfter: answer.headers.get('retry-after') };
      }
      // 4 × 50 events reach the limit of 200: the fifth request is refused, whole.
      expect(answers).toEqual([200, 200, 200, 200, 503]);
      expect(refused).toEqual({ status: 503, body: 'Service unavailable', retryAfter: '2' });
      // Every event route of the events queue is bounded, a single track too.
      const track = await send(stack.url, {
        path: '/v1/track',
        method: 'POST',
        headers: { Authorization: basicAuth(writeKey) },
        body: JSON.stringify({ userId: 'u', event: 'E', messageId: 'track-refused' }),
      });
      expect([track.status, track.body, track.headers.get('retry-after')]).toEqual([503, 'Service unavailable', '2']);
      await waitFor(async () => ((await counter()) === String(LIMIT) ? true : undefined), 2000, 'the counter to reach the limit');
      expect(await samples(stack.url, 'evt_queue_backlog')).toEqual([
        'evt_queue_backlog_refusals_total{service="gateway"} 2',
        `evt_queue_backlog_events{service="gateway"} ${LIMIT}`,
        `evt_queue_backlog_limit_events{service="gateway"} ${LIMIT}`,
      ]);
      // Still full while nothing drains: a retry a little later is refused too.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await post(stack.url, batchOf('fill-4'))).status).toBe(503);

      worker = startWorker();
      await storedOnce(acknowledged);
      // The worker takes the stored events off the counter; the gateway reads it within 100 ms.
      await waitFor(async () => ((await counter()) === '0' ? true : undefined), 5000, 'the counter to drain to 0');
      await waitFor(async () => ((await samples(stack.url, 'evt_queue_backlog_events'))[0]?.endsWith(' 0') ? true : undefined), 2000, 'the gateway to read 0');
      for (const label of ['fill-4', 'track-again']) {
        const batch = batchOf(label);
        expect(await post(stack.url, batch)).toMatchObject({ status: 200, body: 'OK' });
        acknowledged.push(...batch.map((event) => event.messageId));
      }
      await storedOnce(acknowledged);
      await waitFor(async () => ((await counter()) === '0' ? true : undefined), 5000, 'the counter to drain to 0 again');
    }),
  );

  it(
    'is shared by gateway processes: one fills it, the other refuses',
    withProcessOutput(processes, async () => {
      const port = await freePort();
      other = AppProcess.start(
        'gateway',
        'dist/apps/gateway/main.js',
        stack.env.processEnv({ PORT: String(port), HOST: '127.0.0.1', MAX_QUEUE_BACKLOG_EVENTS: String(LIMIT), SOURCE_CONFIG_REFRESH_MS: '100' }),
      );
      const otherUrl = `http://127.0.0.1:${port}`;
      // Ready: Redis answers and the sources (this test's too) are loaded.
      await waitForHealthy(`${otherUrl}/health/ready`, other, 15_000);
      await waitFor(async () => ((await post(otherUrl, [])).status === 400 ? true : undefined), 5000, 'the other gateway to know the source');
      await waitFor(
        async () => ((await samples(otherUrl, 'evt_queue_backlog_events'))[0]?.endsWith(' 0') ? true : undefined),
        5000,
        'the other gateway to read 0',
      );

      const acknowledged: string[] = [];
      for (let n = 0; n < LIMIT / BATCH; n++) {
        const batch = batchOf(`shared-${n}`);
        expect((await post(stack.url, batch)).status).toBe(200);
        acknowledged.push(...batch.map((event) => event.messageId));
      }
      // The other process has accepted nothing, yet reads the shared counter at the limit …
      await waitFor(
        async () => ((await samples(otherUrl, 'evt_queue_backlog_events'))[0] === `evt_queue_backlog_events{service="gateway"} ${LIMIT}` ? true : undefined),
        2000,
        'the other gateway to read the shared counter',
      );
      // … and refuses.
      const refused = await post(otherUrl, batchOf('shared-refused'));
      expect([refused.status, refused.body, refused.headers.get('retry-after')]).toEqual([503, 'Service unavailable', '2']);
      expect(await samples(otherUrl, 'evt_queue_backlog_refusals_total')).toEqual(['evt_queue_backlog_refusals_total{service="gateway"} 1']);

      worker = startWorker();
      await storedOnce(acknowledged);
      await waitFor(
        async () => ((await post(otherUrl, batchOf('shared-refused'))).status === 200 ? true : undefined),
        10_000,
        'the other gateway to accept again',
      );
    }),
  );

  it(
    'heals a counter that drifted: a worker resets it to 0 once the queues are empty, and requests are accepted again',
    withProcessOutput(processes, async () => {
      worker = startWorker();
      await worker.waitForOutput(/events worker started/, 15_000);
      // As if a worker had been killed between storing jobs and taking their events off.
      await redis.set(backlogKey(stack.env.queuePrefix), String(LIMIT * 10));
      await waitFor(
        async () => ((await samples(stack.url, 'evt_queue_backlog_events'))[0]?.endsWith(` ${LIMIT * 10}`) ? true : undefined),
        2000,
        'the gateway to read the drift',
      );
      const refused = await post(stack.url, batchOf('drift-refused'));
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '2']);
      // Workers run the healing script every 5 s.
      await waitFor(async () => ((await counter()) === '0' ? true : undefined), 12_000, 'a worker to reset the counter');
      await waitFor(async () => ((await post(stack.url, batchOf('drift-refused'))).status === 200 ? true : undefined), 2000, 'the gateway to accept again');
      await stack.rows("SELECT 1 FROM events WHERE source_id = $1 AND message_id LIKE 'drift-refused-%'", [sourceId], BATCH);
    }),
  );

  it('is skipped with ENQUEUE_DISABLED: nothing is counted, nothing refused, no backlog metric', async () => {
    const prefix = `${stack.env.queuePrefix}-disabled`;
    const config = stack.env.config({ PORT: '0', HOST: '127.0.0.1', QUEUE_PREFIX: prefix, ENQUEUE_DISABLED: 'true', MAX_QUEUE_BACKLOG_EVENTS: '1' });
    const disabled = await startGateway(config, createLogger('gateway-test', 'silent'), '0.0.0-test');
    try {
      await disabled.sources.refresh();
      const url = `http://127.0.0.1:${disabled.port}`;
      for (let n = 0; n < 3; n++) expect((await post(url, batchOf(`disabled-${n}`))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await redis.exists(backlogKey(prefix))).toBe(0);
      expect(await samples(url, 'evt_queue_backlog')).toEqual(['evt_queue_backlog_refusals_total{service="gateway"} 0']);
    } finally {
      await disabled.stop();
    }
  });
});
