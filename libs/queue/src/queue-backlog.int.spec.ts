import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { createRedis } from './connection';
import { deleteQueuePrefix } from './queue-admin';
import { backlogKey, EVENT_QUEUE_KEYS, healQueueBacklog, isEventQueue, QueueBacklog, QueueBacklogDrain, readQueueBacklog } from './queue-backlog';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('the shared queue backlog (real Redis)', () => {
  const redis = createRedis(redisUrl, 'admin');
  const prefixes: string[] = [];
  const prefix = () => {
    const value = `evt-test-backlog-${randomUUID().slice(0, 8)}`;
    prefixes.push(value);
    return value;
  };
  const closing: Array<{ close(): Promise<void> }> = [];
  const opened = <T extends { close(): Promise<void> }>(value: T): T => {
    closing.push(value);
    return value;
  };
  // Connected, as a gateway is a moment after it starts (before that, the counter is unknown).
  const connected = async (backlog: QueueBacklog): Promise<QueueBacklog> => {
    await backlog.ready();
    return opened(backlog);
  };
  afterEach(async () => {
    await Promise.all(closing.splice(0).map((value) => value.close()));
  });
  afterAll(async () => {
    redis.disconnect();
    for (const value of prefixes) await deleteQueuePrefix(redisUrl, value);
  });

  it('counts the queues of events: events, replay, extract and internal-batch, not rETL or audience lists', () => {
    expect(EVENT_QUEUE_KEYS).toEqual(['events', 'replay', 'extract', 'internalBatch']);
    expect([isEventQueue('events'), isEventQueue('internalBatch'), isEventQueue('retl'), isEventQueue('audiencelist')]).toEqual([true, true, false, false]);
  });

  it('keeps the counter under the queue prefix, with a hash tag', () => {
    expect(backlogKey('evt')).toBe('evt:{events}:backlog');
  });

  it('is one counter for every gateway: what one adds, another reads, and both refuse at the limit', async () => {
    const queues = prefix();
    const first = await connected(new QueueBacklog({ redisUrl, prefix: queues, limit: 100, flushIntervalMs: 60_000 }));
    const second = await connected(new QueueBacklog({ redisUrl, prefix: queues, limit: 100, flushIntervalMs: 60_000 }));
    await Promise.all([first.flush(), second.flush()]);
    expect([first.events, second.events, first.full, second.full]).toEqual([0, 0, false, false]);

    first.added(60);
    await first.flush();
    await second.flush();
    expect([first.events, second.events, first.full, second.full]).toEqual([60, 60, false, false]);

    // Counted before it is sent: the process that added them refuses at once.
    first.added(40);
    expect([first.full, second.full]).toEqual([true, false]);
    await first.flush();
    await second.flush();
    expect([first.events, second.events, first.full, second.full]).toEqual([100, 100, true, true]);
    expect(await readQueueBacklog(redis, queues)).toBe(100);
  });

  it('admits again once workers have taken stored events off, and never refuses with no limit', async () => {
    const queues = prefix();
    const gateway = await connected(new QueueBacklog({ redisUrl, prefix: queues, limit: 10, flushIntervalMs: 60_000 }));
    const unlimited = await connected(new QueueBacklog({ redisUrl, prefix: queues, limit: 0, flushIntervalMs: 60_000 }));
    const worker = opened(new QueueBacklogDrain({ redisUrl, prefix: queues, flushIntervalMs: 60_000, healIntervalMs: 60_000 }));
    gateway.added(12);
    await gateway.flush();
    await unlimited.flush();
    expect([gateway.full, unlimited.events, unlimited.full]).toEqual([true, 12, false]);

    worker.stored(3);
    await worker.flush();
    await gateway.flush();
    expect([gateway.events, gateway.full]).toEqual([9, false]);
  });

  it('reads a negative counter (decrements ahead of their increments) as 0', async () => {
    const queues = prefix();
    const worker = opened(new QueueBacklogDrain({ redisUrl, prefix: queues, flushIntervalMs: 60_000, healIntervalMs: 60_000 }));
    const gateway = await connected(new QueueBacklog({ redisUrl, prefix: queues, limit: 5, flushIntervalMs: 60_000 }));
    worker.stored(50);
    await worker.flush();
    expect(await redis.get(backlogKey(queues))).toBe('-50');
    await gateway.flush();
    expect([gateway.events, gateway.full, await readQueueBacklog(redis, queues)]).toEqual([0, false, 0]);
  });

  it('does not refuse when the counter cannot be read (Redis away): the enqueue meets that error itself', async () => {
    const unreachable = opened(new QueueBacklog({ redisUrl: 'redis://127.0.0.1:1', prefix: prefix(), limit: 1, flushIntervalMs: 60_000 }));
    unreachable.added(5);
    await unreachable.flush();
    expect([unreachable.events, unreachable.full]).toEqual([undefined, false]);
  });

  it('sends what is left when it closes', async () => {
    const queues = prefix();
    const gateway = new QueueBacklog({ redisUrl, prefix: queues, limit: 0, flushIntervalMs: 60_000 });
    await gateway.ready();
    gateway.added(7);
    await gateway.close();
    const worker = new QueueBacklogDrain({ redisUrl, prefix: queues, flushIntervalMs: 60_000, healIntervalMs: 60_000 });
    worker.stored(2);
    await worker.close();
    expect(await redis.get(backlogKey(queues))).toBe('5');
  });

  describe('the healing script', () => {
    it('sets a counter that drifted to 0 when every queue of events is empty', async () => {
      const queues = prefix();
      await redis.set(backlogKey(queues), '1234');
      expect(await healQueueBacklog(redis, queues)).toEqual({ reset: true, previous: 1234 });
      expect(await redis.get(backlogKey(queues))).toBe('0');
      await redis.set(backlogKey(queues), '-40');
      expect(await healQueueBacklog(redis, queues)).toEqual({ reset: true, previous: -40 });
      expect(await readQueueBacklog(redis, queues)).toBe(0);
    });

    it('leaves the counter alone while a job waits, is delayed or is prioritized in any queue of events, and resets it once they are gone', async () => {
      const queues = prefix();
      for (const [name, options] of [
        ['events', {}],
        ['internal-batch', {}],
        ['replay', { delay: 60_000 }],
        ['extract', { priority: 5 }],
      ] as const) {
        const queue = new Queue(name, { connection: redis, prefix: queues });
        const job = await queue.add('job', { events: [] }, options);
        await redis.set(backlogKey(queues), '77');
        expect(await healQueueBacklog(redis, queues)).toEqual({ reset: false, previous: 77 });
        expect(await redis.get(backlogKey(queues))).toBe('77');
        await job.remove();
        await queue.close();
        expect(await healQueueBacklog(redis, queues)).toEqual({ reset: true, previous: 77 });
      }
    });

    it('leaves it alone while a job is active, paused or waits for children (the lists and sorted sets BullMQ keeps them in)', async () => {
      const queues = prefix();
      await redis.set(backlogKey(queues), '5');
      for (const add of [
        () => redis.lpush(`${queues}:events:active`, '1'),
        () => redis.lpush(`${queues}:replay:paused`, '2'),
        () => redis.zadd(`${queues}:extract:waiting-children`, 1, '3'),
      ]) {
        await add();
        expect(await healQueueBacklog(redis, queues)).toEqual({ reset: false, previous: 5 });
      }
      await redis.del(`${queues}:events:active`, `${queues}:replay:paused`, `${queues}:extract:waiting-children`);
      expect(await healQueueBacklog(redis, queues)).toEqual({ reset: true, previous: 5 });
    });

    it('does not count jobs of rETL or audience lists, nor failed jobs', async () => {
      const queues = prefix();
      const retl = new Queue('retl', { connection: redis, prefix: queues });
      await retl.add('job', { records: [] });
      await retl.close();
      await redis.zadd(`${queues}:events:failed`, 1, 'some-failed-job');
      await redis.set(backlogKey(queues), '9');
      expect(await healQueueBacklog(redis, queues)).toEqual({ reset: true, previous: 9 });
    });

    it("runs on a worker's drain after its own decrements are sent", async () => {
      const queues = prefix();
      const worker = opened(new QueueBacklogDrain({ redisUrl, prefix: queues, flushIntervalMs: 60_000, healIntervalMs: 60_000 }));
      await redis.set(backlogKey(queues), '10');
      worker.stored(4);
      expect(await worker.heal()).toEqual({ reset: true, previous: 6 });
    });
  });
});
