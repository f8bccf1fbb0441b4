import { randomUUID } from 'node:crypto';
import { createDbClient, dropDatabase, EventStore, migrate } from '@evt/db';
import { createLogger } from '@evt/logging';
import { createConsumer, deleteQueuePrefix, QueueProducers } from '@evt/queue';
import { QUEUE_NAMES } from '@evt/schemas';
import { waitFor } from '@evt/testing';
import { createEventsProcessor } from './processors/events.processor';

const logger = createLogger('retries-test', 'silent');

// Postgres not ready (here: the database does not exist yet): with no bound on failures that are
// not transient, the job is retried with backoff until it can be stored, and nothing is dropped on
// the way. (Under WORKER_MAX_ATTEMPTS it would end in `failed`, for `queues retry-failed`.)
describe('events worker retries', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/evt_test_retries_${randomUUID().slice(0, 8)}`;
  const databaseUrl = base.toString();
  const prefix = `evt-test-retries-${randomUUID().slice(0, 8)}`;

  afterAll(async () => {
    await dropDatabase(databaseUrl);
    await deleteQueuePrefix(redisUrl, prefix);
  });

  it('retries a job while the database is unavailable and stores it once it is back', async () => {
    const db = createDbClient(databaseUrl, { max: 2 });
    const store = new EventStore(db);
    const processEvents = createEventsProcessor({ store, logger }, { maxJobsPerCommit: 1 });
    const attempts: number[] = [];
    const consumer = createConsumer({
      queueName: QUEUE_NAMES.events,
      redisUrl,
      prefix,
      concurrency: 1,
      process: async (data, job) => {
        attempts.push(job.attemptsMade);
        await processEvents(data, { queue: QUEUE_NAMES.events, id: job.id });
      },
    });
    const producer = new QueueProducers({ redisUrl, prefix, timeoutMs: 2000, maxItemsPerJob: 100, maxBytesPerJob: 1 << 20, maxPendingBytes: 1 << 24 });
    try {
      await consumer.ready();
      await producer.waitUntilReady();
      const event = { type: 'track', event: 'E', userId: 'u', messageId: 'retried', receivedAt: new Date().toISOString(), rudderId: randomUUID() };
      await producer.events.enqueue({ items: [{ sourceId: 's', workspaceId: 'w', event }], rejected: [], bytes: 100 });

      await waitFor(async () => (attempts.length >= 2 ? true : undefined), 10_000, 'two failed attempts');
      await migrate(databaseUrl);
      const rows = await waitFor(
        async () => {
          const found = await db.query('SELECT message_id FROM events').catch(() => []);
          return found.length > 0 ? found : undefined;
          // Attempts made while the migrations ran push the next one back (capped at 30 s).
        },
        40_000,
        'the event to be stored',
      );
      expect(rows).toEqual([{ message_id: 'retried' }]);
      expect(attempts.slice(0, 3)).toEqual([0, 1, 2].slice(0, Math.min(3, attempts.length)));
    } finally {
      await producer.close();
      await consumer.close();
      await db.close();
    }
  }, 60_000);
});
