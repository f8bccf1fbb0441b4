import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { QUEUE_NAMES, type EventsJob } from '@evt/schemas';
import { createRedis } from './connection';
import { deleteQueuePrefix } from './queue-admin';
import { decodeJobData } from './job-data';
import { QueueProducers } from './producers';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function event(messageId: string) {
  return { sourceId: 's', workspaceId: 'w', event: { type: 'track', messageId, receivedAt: '2026-01-01T00:00:00.000Z', rudderId: 'r' } };
}

describe('QueueProducers (real Redis)', () => {
  const prefix = `evt-test-producer-${randomUUID().slice(0, 8)}`;
  const connection = createRedis(redisUrl, 'admin');
  const queue = new Queue(QUEUE_NAMES.events, { connection, prefix });
  let producers: QueueProducers;

  beforeAll(async () => {
    producers = new QueueProducers({ redisUrl, prefix, timeoutMs: 800, maxItemsPerJob: 500, maxBytesPerJob: 1 << 20, maxPendingBytes: 1 << 24 });
    await producers.waitUntilReady();
  });
  afterAll(async () => {
    await producers.close();
    await queue.close();
    connection.disconnect();
    await deleteQueuePrefix(redisUrl, prefix);
  });

  it('coalesces concurrent requests into few jobs and resolves each once its job is stored', async () => {
    const requests = Array.from({ length: 200 }, (_, i) => producers.events.enqueue({ items: [event(`m-${i}`)], rejected: [], bytes: 200 }));
    await Promise.all(requests);
    const jobs = await queue.getJobs(['waiting'], 0, 1000);
    const payloads = (await Promise.all(jobs.map((job) => decodeJobData(job.data)))) as EventsJob[];
    const messageIds = payloads.flatMap((payload) => payload.events.map((e) => e.event.messageId)).sort();
    expect(messageIds).toEqual(Array.from({ length: 200 }, (_, i) => `m-${i}`).sort());
    // 200 requests of one event each, written with at most 4 jobs in flight at a time.
    expect(jobs.length).toBeLessThanOrEqual(10);
    expect(jobs.every((job) => job.opts.attempts === 2_147_483_647)).toBe(true);
  });

  it('never puts more than maxItemsPerJob events in one job', async () => {
    await queue.obliterate({ force: true });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const items = Array.from({ length: 100 }, (_, j) => event(`big-${i}-${j}`));
        // What the request's body weighed: the producer compresses jobs by it.
        return producers.events.enqueue({ items, rejected: [], bytes: JSON.stringify(items).length });
      }),
    );
    const jobs = await queue.getJobs(['waiting'], 0, 1000);
    const payloads = (await Promise.all(jobs.map((job) => decodeJobData(job.data)))) as EventsJob[];
    expect(payloads.map((payload) => payload.events.length).reduce((a, b) => a + b, 0)).toBe(1200);
    expect(Math.max(...payloads.map((payload) => payload.events.length))).toBeLessThanOrEqual(500);
    // Large jobs are stored compressed.
    expect(jobs.every((job) => typeof (job.data as { z?: unknown }).z === 'string')).toBe(true);
  });

  it('refuses at once, with a 503 error, when Redis is unreachable', async () => {
    const dead = new QueueProducers({
      redisUrl: 'redis://127.0.0.1:1',
      prefix,
      timeoutMs: 10_000,
      maxItemsPerJob: 10,
      maxBytesPerJob: 1000,
      maxPendingBytes: 1000,
    });
    const started = Date.now();
    await expect(dead.events.enqueue({ items: [event('x')], rejected: [], bytes: 10 })).rejects.toMatchObject({ status: 503, reason: 'queue unreachable' });
    // Not after its 10 s timeout: a refused connection is answered as soon as it is known.
    expect(Date.now() - started).toBeLessThan(5000);
    await dead.close();
  });

  it('leaves nothing running once closed after Redis never answered (the process can exit at once)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    const dead = new QueueProducers({
      redisUrl: 'redis://127.0.0.1:1',
      prefix,
      timeoutMs: 800,
      maxItemsPerJob: 10,
      maxBytesPerJob: 1000,
      maxPendingBytes: 1000,
    });
    await dead.waitUntilReady(300);
    await dead.close();
    // Until the sockets' disconnect timeout has passed (ioredis's own: it waits for a close that never comes).
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(timers()).toBe(before);
  });

  it('writes each queue its own jobs, records under `records` and lists under `lists`', async () => {
    const retl = new Queue(QUEUE_NAMES.retl, { connection, prefix });
    const record = {
      sourceId: 's',
      workspaceId: 'w',
      destinationId: '',
      recordId: 'r1',
      action: 'insert' as const,
      fields: {},
      messageId: 'm',
      receivedAt: 't',
      sequence: 1,
      index: 0,
    };
    await producers.retl.enqueue({ items: [record], rejected: [], bytes: 10 });
    const [job] = await retl.getJobs(['waiting']);
    expect([job.name, await decodeJobData(job.data)]).toEqual([QUEUE_NAMES.retl, { records: [record], rejected: [] }]);
    await retl.close();
  });

  it('refuses with a 503 error when the backlog waiting for Redis is full', async () => {
    const small = new QueueProducers({ redisUrl, prefix, timeoutMs: 800, maxItemsPerJob: 10, maxBytesPerJob: 1000, maxPendingBytes: 1000 });
    await small.waitUntilReady();
    await expect(small.events.enqueue({ items: [event('too-big')], rejected: [], bytes: 5000 })).rejects.toMatchObject({
      status: 503,
      reason: 'queue backlog full',
    });
    await small.close();
  });
});
