import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AppProcess, basicAuth, createSource, startOwnRedis, type OwnRedis } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

// A Redis that is full (maxmemory, noeviction: the durable setup docker-compose ships) refuses new
// jobs. That is a fault of ours: the gateway answers 503 that SDKs retry, never 200, never a 4xx
// they would drop; once there is room the retry is taken, and nothing acknowledged is lost.
describe('gateway when Redis is full', () => {
  let redis: OwnRedis;
  let stack: Stack;
  let worker: AppProcess | undefined;
  beforeAll(async () => {
    redis = await startOwnRedis({ maxmemory: '4mb' });
    stack = await startStack('redis-full', { REDIS_URL: redis.url });
    // No consumer while the queue fills: the jobs stay in Redis.
    await stack.worker.stop();
  });
  afterAll(async () => {
    await worker?.stop();
    await stack.stop();
    await redis.dispose();
  });

  it('answers 503 with Retry-After once Redis refuses writes, takes the retry when there is room, and stores every acknowledged event once', async () => {
    const source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
    const post = (batch: unknown[]) =>
      send(stack.url, { path: '/v1/batch', method: 'POST', headers: { Authorization: basicAuth(source.writeKey) }, body: JSON.stringify({ batch }) });
    // Random padding, so that the job's compression cannot shrink it away.
    const batchOf = (n: number) =>
      Array.from({ length: 50 }, (_, k) => ({
        type: 'track',
        userId: 'u',
        event: 'E',
        messageId: `m-${n}-${k}`,
        properties: { pad: randomBytes(512).toString('hex') },
      }));

    const acknowledged: string[] = [];
    let refused: { status: number; body: string; retryAfter: string | null; batch: Array<{ messageId: string }> } | undefined;
    for (let n = 0; n < 1000 && refused === undefined; n++) {
      const batch = batchOf(n);
      const answer = await post(batch);
      if (answer.status === 200) acknowledged.push(...batch.map((event) => event.messageId));
      else refused = { status: answer.status, body: answer.body, retryAfter: answer.headers.get('retry-after'), batch };
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(refused && { status: refused.status, body: refused.body, retryAfter: refused.retryAfter }).toEqual({
      status: 503,
      body: 'Service unavailable',
      retryAfter: '1',
    });

    // Room again (an operator raises maxmemory, or workers drain the queue): the SDK's retry is taken.
    execFileSync('redis-cli', ['-u', redis.url, 'CONFIG', 'SET', 'maxmemory', '0']);
    const retried = refused?.batch ?? [];
    expect((await post(retried)).status).toBe(200);
    acknowledged.push(...retried.map((event) => event.messageId));

    worker = AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', stack.env.processEnv({ MIGRATE_ON_START: 'false', REDIS_URL: redis.url }));
    const rows = await stack.rows<{ message_id: string }>('SELECT message_id FROM events WHERE source_id = $1', [source.id], acknowledged.length);
    expect(rows.map((row) => row.message_id).sort()).toEqual([...acknowledged].sort());
  });
});
