import { createRedis } from '@evt/queue';
import { basicAuth, createSource, startOwnRedis, startOwnSentinel, type OwnRedis, type OwnSentinel } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

// The gateway and the events worker given REDIS_SENTINELS instead of a Redis: they find the primary
// through a sentinel (real redis-server processes), and events go through it into Postgres.
describe('Redis through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME)', () => {
  let primary: OwnRedis;
  let sentinel: OwnSentinel;
  let stack: Stack;

  beforeAll(async () => {
    primary = await startOwnRedis({ appendonly: false });
    sentinel = await startOwnSentinel(primary.port, 'evt-test');
    const sentinelEnv = { REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_SENTINEL_NAME: 'evt-test' };
    stack = await startStack('sentinel', sentinelEnv, { workerEnv: sentinelEnv });
  });
  afterAll(async () => {
    await stack?.stop();
    await sentinel?.stop();
    await primary?.dispose();
  });

  it('takes events and stores them, its queues on the primary the sentinel names', async () => {
    const source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
    const batch = [
      { type: 'track', event: 'Via Sentinel', userId: 'u-sentinel', messageId: 'sentinel-1' },
      { type: 'identify', userId: 'u-sentinel', traits: { plan: 'pro' }, messageId: 'sentinel-2' },
    ];
    const answer = await send(stack.url, {
      path: '/v1/batch',
      method: 'POST',
      headers: { Authorization: basicAuth(source.writeKey) },
      body: JSON.stringify({ batch }),
    });
    expect([answer.status, answer.body]).toEqual([200, 'OK']);
    const rows = await stack.rows<{ message_id: string; type: string }>(
      'SELECT message_id, type FROM events WHERE source_id = $1 ORDER BY message_id',
      [source.id],
      2,
    );
    expect(rows).toEqual([
      { message_id: 'sentinel-1', type: 'track' },
      { message_id: 'sentinel-2', type: 'identify' },
    ]);
    // The queue's keys are on the primary the sentinel watches, not on the Redis of REDIS_URL.
    const direct = createRedis(primary.url, 'admin');
    try {
      expect((await direct.keys(`${stack.env.queuePrefix}:*`)).length).toBeGreaterThan(0);
    } finally {
      direct.disconnect();
    }
  });
});
