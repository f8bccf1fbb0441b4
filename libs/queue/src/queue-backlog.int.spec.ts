import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { createRedis } from './connection';
import { deleteQueuePrefix } from './queue-admin';
import {
  backlogKey,
  EVENT_QUEUE_KEYS,
  eventQueueShards,
  healQueueBacklog,
  isEventQueue,
  QueueBacklog,
  QueueBacklogDrain,
  readQueueBacklog,
} from './queue-backlog';
import { queueLayout, queueShards, type QueueLayout } from './queue-layout';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const layout = (queues: string, eventsShards = 1): QueueLayout => queueLayout(redisUrl, queues, eventsShards);
/** The healing script on the counter of the events queue (shard 0). */
const healEvents = (redis: Parameters<typeof healQueueBacklog>[0], queues: string) =>
  healQueueBacklog(redis, layout(queues), queueShards(layout(queues), 'events')[0]);

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

  it("keeps one counter per queue of events under the queue prefix, tagged with the queue's label (the events queue's is the counter of earlier versions)", () => {
    expect(backlogKey('evt')).toBe('evt:{events}:backlog');
    expect(eventQueueShards(layout('evt', 3)).map((shard) => backlogKey('evt', shard.label))).toEqual([
      'evt:{events}:backlog',
      'evt:{events-1}:backlog',
      'evt:{events-2}:backlog',
      'evt:{replay}:backlog',
      'evt:{extract}:backlog',
      'evt:{internal-batch}:backlog',
    ]);
  });

  it('holds across the shards of the events queue and the other queues of events: the limit is on their sum', async () => {
    const queues = prefix();
    const options = { redisUrl, prefix: queues, eventsShards: 3, limit: 100, flushIntervalMs: 60_000 };
    const first = await connected(new QueueBacklog(options));
    const second = await connected(new QueueBacklog(options));
    const worker = opened(new QueueBacklogDrain({ ...options, healIntervalMs: 60_000 }));
    first.added(30, 'events');
    first.added(30, 'events-2');
    second.added(39, 'events-1');
    second.added(1, 'replay');
    await Promise.all([first.flush(), second.flush()]);
    await first.flush();
    expect([first.events, second.events, first.full, second.full]).toEqual([100, 100, true, true]);
    expect(await Promise.all(['events', 'events-1', 'events-2', 'replay'].map((label) => redis.get(backlogKey(queues, label))))).toEqual([
      '30',
      '39',
      '30',
      '1',
    ]);
    expect(await readQueueBacklog(redis, layout(queues, 3))).toBe(100);

    worker.stored(10, 'events-1');
    await worker.flush();
    await first.flush();
    expect([first.events, first.full, await redis.get(backlogKey(queues, 'events-1'))]).toEqual([90, false, '29']);
    // Every queue is empty: each counter is healed in its own queue's slot.
    expect(await worker.heal()).toEqual([
      { queue: 'events', reset: true, previous: 30 },
      { queue: 'events-1', reset: true, previous: 29 },
      { queue: 'events-2', reset: true, previous: 30 },
      { queue: 'replay', reset: true, previous: 1 },
      { queue: 'extract', reset: true, previous: 0 },
      { queue: 'internal-batch', reset: true, previous: 0 },
    ]);
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
    expect(await readQueueBacklog(redis, layout(queues))).toBe(100);
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
    expect([gateway.events, gateway.full, await readQueueBacklog(redis, layout(queues))]).toEqual([0, false, 0]);
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
    /** The script on the counter of the queue (or shard) `label`. */
    const heal = (queues: string, label: string, eventsShards = 1) => {
      const shard = eventQueueShards(layout(queues, eventsShards)).find((candidate) => candidate.label === label);
      if (!shard) throw new Error(`no queue of events ${label}`);
      return healQueueBacklog(redis, layout(queues, eventsShards), shard);
    };

    it('sets a counter that drifted to 0 when its queue is empty', async () => {
      const queues = prefix();
      await redis.set(backlogKey(queues), '1234');
      expect(await healEvents(redis, queues)).toEqual({ queue: 'events', reset: true, previous: 1234 });
      expect(await redis.get(backlogKey(queues))).toBe('0');
      await redis.set(backlogKey(queues), '-40');
      expect(await healEvents(redis, queues)).toEqual({ queue: 'events', reset: true, previous: -40 });
      expect(await readQueueBacklog(redis, layout(queues))).toBe(0);
    });

    it("leaves a queue's counter alone while a job waits, is delayed or is prioritized in that queue, and resets it once they are gone", async () => {
      const queues = prefix();
      for (const [name, options] of [
        ['events', {}],
        ['internal-batch', {}],
        ['replay', { delay: 60_000 }],
        ['extract', { priority: 5 }],
        ['events-2', {}],
      ] as const) {
        const queue = new Queue(name, { connection: redis, prefix: queues });
        const job = await queue.add('job', { events: [] }, options);
        for (const label of ['events', 'events-2', 'replay', 'extract', 'internal-batch']) await redis.set(backlogKey(queues, label), '77');
        const healed = await Promise.all(['events', 'events-2', 'replay', 'extract', 'internal-batch'].map((label) => heal(queues, label, 3)));
        // Only the counter of the queue that holds the job is kept.
        expect(healed.filter((result) => !result.reset).map((result) => result.queue)).toEqual([name]);
        expect(await redis.get(backlogKey(queues, name))).toBe('77');
        await job.remove();
        await queue.close();
        expect(await heal(queues, name, 3)).toEqual({ queue: name, reset: true, previous: 77 });
      }
    });

    it('leaves it alone while a job is active, paused or waits for children (the lists and sorted sets BullMQ keeps them in)', async () => {
      const queues = prefix();
      await redis.set(backlogKey(queues), '5');
      for (const add of [
        () => redis.lpush(`${queues}:events:active`, '1'),
        () => redis.lpush(`${queues}:events:paused`, '2'),
        () => redis.zadd(`${queues}:events:waiting-children`, 1, '3'),
      ]) {
        await add();
        expect(await healEvents(redis, queues)).toEqual({ queue: 'events', reset: false, previous: 5 });
      }
      await redis.del(`${queues}:events:active`, `${queues}:events:paused`, `${queues}:events:waiting-children`);
      expect(await healEvents(redis, queues)).toEqual({ queue: 'events', reset: true, previous: 5 });
    });

    it('does not count jobs of rETL or audience lists, nor failed jobs', async () => {
      const queues = prefix();
      const retl = new Queue('retl', { connection: redis, prefix: queues });
      await retl.add('job', { records: [] });
      await retl.close();
      await redis.zadd(`${queues}:events:failed`, 1, 'some-failed-job');
      await redis.set(backlogKey(queues), '9');
      expect(await healEvents(redis, queues)).toEqual({ queue: 'events', reset: true, previous: 9 });
    });

    it("runs on a worker's drain after its own decrements are sent", async () => {
      const queues = prefix();
      const worker = opened(new QueueBacklogDrain({ redisUrl, prefix: queues, flushIntervalMs: 60_000, healIntervalMs: 60_000 }));
      await redis.set(backlogKey(queues), '10');
      worker.stored(4);
      expect((await worker.heal())[0]).toEqual({ queue: 'events', reset: true, previous: 6 });
    });
  });
});
