import { createConsumer, QueueProducers } from '@evt/queue';
import { createTestEnv, waitFor, type TestEnv } from '@evt/testing';
import { runCaptured } from './run-captured';

// `queues depth` and `queues failed` with a sharded events queue (EVENTS_QUEUE_SHARDS): a row per shard.
describe('queue commands with EVENTS_QUEUE_SHARDS=3 (real Redis)', () => {
  let env: TestEnv;
  let vars: Record<string, string>;

  beforeAll(async () => {
    env = await createTestEnv('cli-queues');
    vars = { DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, QUEUE_PREFIX: env.queuePrefix, EVENTS_QUEUE_SHARDS: '3' };
  });
  afterAll(() => env.close());

  const cli = (...argv: string[]) => runCaptured(argv, vars);

  it('shows the depth of each shard, and lists the failed jobs of one shard or of every shard', async () => {
    const producers = new QueueProducers({
      redisUrl: env.redisUrl,
      prefix: env.queuePrefix,
      eventsShards: 3,
      timeoutMs: 5000,
      maxItemsPerJob: 100,
      maxBytesPerJob: 1 << 20,
      maxPendingBytes: 1 << 20,
    });
    await producers.waitUntilReady();
    // One job at a time: jobs go round-robin, so shards 0, 1, 2, 0.
    const shards: Array<string | void> = [];
    for (let n = 0; n < 4; n++) shards.push(await producers.events.enqueue({ items: [], rejected: [], bytes: 0 }));
    await producers.close();
    expect(shards).toEqual(['events', 'events-1', 'events-2', 'events']);

    const depths = JSON.parse((await cli('queues', 'depth', '--json')).stdout) as Array<{ queue: string; waiting: number }>;
    expect(depths.map(({ queue, waiting }) => [queue, waiting])).toEqual([
      ['events', 2],
      ['events-1', 1],
      ['events-2', 1],
      ['replay', 0],
      ['retl', 0],
      ['audiencelist', 0],
      ['extract', 0],
      ['internal-batch', 0],
    ]);

    // A worker of shard 2 whose job fails for good: found under events-2 and under events, not under events-1.
    const consumer = createConsumer({
      queueName: 'events-2',
      redisUrl: env.redisUrl,
      prefix: env.queuePrefix,
      concurrency: 1,
      maxDeterministicFailures: 1,
      process: async () => {
        throw new Error('broken on purpose');
      },
    });
    const failed = async (queue: string) =>
      JSON.parse((await cli('queues', 'failed', '--queue', queue, '--json')).stdout) as Array<{ queue: string; reason: string }>;
    try {
      await waitFor(async () => ((await failed('events-2')).length === 1 ? true : undefined), 10_000, 'the failed job');
    } finally {
      await consumer.close();
    }
    expect((await failed('events-2')).map(({ queue, reason }) => [queue, reason])).toEqual([['events-2', 'broken on purpose']]);
    expect((await failed('events')).map(({ queue }) => queue)).toEqual(['events-2']);
    expect(await failed('events-1')).toEqual([]);
    expect((await cli('queues', 'failed', '--queue', 'events-3')).code).toBe(2);
  });
});
