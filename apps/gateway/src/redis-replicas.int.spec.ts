import { createRedis } from '@evt/queue';
import { basicAuth, createSource, startOwnRedis, waitFor, type OwnRedis } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

/** True once exactly `replicas` replicas of the primary are online (in sync, not still loading its data). */
async function replicasOnline(primary: OwnRedis, replicas: number): Promise<true | undefined> {
  const redis = createRedis(primary.url, 'admin');
  try {
    const info = await redis.info('replication');
    return info.includes(`connected_slaves:${replicas}`) && (info.match(/state=online/g) ?? []).length === replicas ? true : undefined;
  } finally {
    redis.disconnect();
  }
}

// REDIS_ACK_REPLICAS=1: a request is answered 200 only once a replica holds its job (Redis WAIT).
describe('acknowledgement after replication (REDIS_ACK_REPLICAS; a real primary and replica)', () => {
  let primary: OwnRedis;
  let replica: OwnRedis;
  let stack: Stack;

  beforeAll(async () => {
    primary = await startOwnRedis({ appendonly: false });
    replica = await startOwnRedis({ appendonly: false, replicaOf: primary.port });
    await waitFor(() => replicasOnline(primary, 1), 15_000, 'the replica to be in sync');
    stack = await startStack('ack-replicas', { REDIS_URL: primary.url, REDIS_ACK_REPLICAS: '1', ENQUEUE_TIMEOUT_MS: '800' });
  });
  afterAll(async () => {
    await stack?.stop();
    await replica?.dispose();
    await primary?.dispose();
  });

  it('answers 200 while the replica holds the jobs, 503 with Retry-After while none does, and stores the retried batch once', async () => {
    const source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
    const post = (ids: string[]) =>
      send(stack.url, {
        path: '/v1/batch',
        method: 'POST',
        headers: { Authorization: basicAuth(source.writeKey) },
        body: JSON.stringify({ batch: ids.map((messageId) => ({ type: 'track', event: 'Replicated', userId: 'u-ack', messageId })) }),
      });

    const first = await post(['ack-1', 'ack-2']);
    expect([first.status, first.body]).toEqual([200, 'OK']);

    await replica.stop({ kill: true });
    await waitFor(() => replicasOnline(primary, 0), 15_000, 'the primary to see its replica gone');
    const refused = await post(['ack-3']);
    expect([refused.status, refused.body, refused.headers.get('retry-after')]).toEqual([503, 'Service unavailable', '1']);

    await replica.start();
    await waitFor(() => replicasOnline(primary, 1), 15_000, 'the replica to be back in sync');
    const retried = await post(['ack-3']);
    expect([retried.status, retried.body]).toEqual([200, 'OK']);

    const rows = await stack.rows<{ message_id: string; n: number }>(
      'SELECT message_id, count(*)::int AS n FROM events WHERE source_id = $1 GROUP BY message_id ORDER BY message_id',
      [source.id],
      3,
    );
    expect(rows).toEqual([
      { message_id: 'ack-1', n: 1 },
      { message_id: 'ack-2', n: 1 },
      { message_id: 'ack-3', n: 1 },
    ]);
  });
});
