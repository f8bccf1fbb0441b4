import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { QUEUE_NAMES, type EventsJob } from '@evt/schemas';
import { createRedis } from './connection';
import { deleteQueuePrefix } from './queue-admin';
import { EventsProducer } from './events-producer';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function event(messageId: string) {
  return { sourceId: 's', workspaceId: 'w', event: { type: 'track', messageId, receivedAt: '2026-01-01T00:00:00.000Z', rudderId: 'r' } };
}

describe('EventsProducer (real Redis)', () => {
  const prefix = `evt-test-producer-${randomUUID().slice(0, 8)}`;
  const connection = createRedis(redisUrl, 'admin');
  const queue = new Queue(QUEUE_NAMES.events, { connection, prefix });
  let producer: EventsProducer;

  beforeAll(async () => {
    producer = new EventsProducer({ redisUrl, prefix, timeoutMs: 800, maxEventsPerJob: 500, maxBytesPerJob: 1 << 20, maxPendingBytes: 1 << 24 });
    for (let i = 0; i < 100 && !producer.ready; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(async () => {
    await producer.close();
    await queue.close();
    connection.disconnect();
    await deleteQueuePrefix(redisUrl, prefix);
  });

  it('coalesces concurrent requests into few jobs and resolves each once its job is stored', async () => {
    const requests = Array.from({ length: 200 }, (_, i) => producer.enqueue({ events: [event(`m-${i}`)], rejected: [], bytes: 200 }));
    await Promise.all(requests);
    const jobs = await queue.getJobs(['waiting'], 0, 1000);
    const messageIds = jobs.flatMap((job) => (job.data as EventsJob).events.map((e) => e.event.messageId)).sort();
    expect(messageIds).toEqual(Array.from({ length: 200 }, (_, i) => `m-${i}`).sort());
    // 200 requests of one event each, written with at most 4 jobs in flight at a time.
    expect(jobs.length).toBeLessThanOrEqual(10);
    expect(jobs.every((job) => job.opts.attempts === 2_147_483_647)).toBe(true);
  });

  it('never puts more than maxEventsPerJob events in one job', async () => {
    await queue.obliterate({ force: true });
    await Promise.all(Array.from({ length: 12 }, (_, i) => producer.enqueue({ events: Array.from({ length: 100 }, (_, j) => event(`big-${i}-${j}`)), rejected: [], bytes: 100 })));
    const jobs = await queue.getJobs(['waiting'], 0, 1000);
    expect(jobs.map((job) => (job.data as EventsJob).events.length).reduce((a, b) => a + b, 0)).toBe(1200);
    expect(Math.max(...jobs.map((job) => (job.data as EventsJob).events.length))).toBeLessThanOrEqual(500);
  });

  it('refuses at once, with a 503 error, when Redis is unreachable', async () => {
    const dead = new EventsProducer({ redisUrl: 'redis://127.0.0.1:1', prefix, timeoutMs: 800, maxEventsPerJob: 10, maxBytesPerJob: 1000, maxPendingBytes: 1000 });
    const started = Date.now();
    await expect(dead.enqueue({ events: [event('x')], rejected: [], bytes: 10 })).rejects.toMatchObject({ status: 503, reason: 'queue unreachable' });
    expect(Date.now() - started).toBeLessThan(100);
    await dead.close();
  });

  it('refuses with a 503 error when the backlog waiting for Redis is full', async () => {
    const small = new EventsProducer({ redisUrl, prefix, timeoutMs: 800, maxEventsPerJob: 10, maxBytesPerJob: 1000, maxPendingBytes: 1000 });
    for (let i = 0; i < 100 && !small.ready; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(small.enqueue({ events: [event('too-big')], rejected: [], bytes: 5000 })).rejects.toMatchObject({ status: 503, reason: 'queue backlog full' });
    await small.close();
  });
});
