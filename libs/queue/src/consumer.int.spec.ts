import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { ServiceUnavailableError } from '@evt/errors';
import { QUEUE_NAMES } from '@evt/schemas';
import { createRedis } from './connection';
import { createConsumer, type Consumer, type FailedAttempt } from './consumer';
import { DURABLE_JOB_OPTIONS } from './job-options';
import { deleteQueuePrefix, listFailedJobs, readQueueDepths } from './queue-admin';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('consumer: bounded attempts (real Redis)', () => {
  const prefix = `evt-test-consumer-${randomUUID().slice(0, 8)}`;
  const connection = createRedis(redisUrl, 'admin');
  const queue = new Queue(QUEUE_NAMES.events, { connection, prefix, defaultJobOptions: DURABLE_JOB_OPTIONS });
  const attempts = new Map<string, number>();
  const reports: Array<{ id: string; message: string } & Omit<FailedAttempt, 'id'>> = [];
  let completed: string[] = [];
  let consumer: Consumer;

  // What each job does on its nth attempt (1-based).
  const behaviour: Record<string, (attempt: number) => void> = {
    bug: () => {
      throw new TypeError('rows.map is not a function');
    },
    // Postgres down for longer than the bound allows deterministic failures: never counted.
    'postgres-down': (attempt) => {
      if (attempt <= 5) throw new ServiceUnavailableError('database unavailable: connect ECONNREFUSED');
    },
    // Two transient failures first do not use up the bound of three.
    mixed: (attempt) => {
      if (attempt <= 2) throw new ServiceUnavailableError('database unavailable: the database system is starting up');
      throw new Error('relation "events_staging" does not exist');
    },
  };

  beforeAll(async () => {
    consumer = createConsumer({
      queueName: QUEUE_NAMES.events,
      redisUrl,
      prefix,
      concurrency: 3,
      maxDeterministicFailures: 3,
      process: async (_data, job) => {
        const attempt = (attempts.get(job.id) ?? 0) + 1;
        attempts.set(job.id, attempt);
        behaviour[job.id](attempt);
      },
      onFailedAttempt: (error, job) => reports.push({ ...job, message: error.message }),
      onCompleted: (job) => (completed = [...completed, job.id]),
    });
    await consumer.ready();
  });
  afterAll(async () => {
    await consumer.close();
    await queue.close();
    connection.disconnect();
    await deleteQueuePrefix(redisUrl, prefix);
  });

  it('fails a job for good after the bound of deterministic failures; transient ones are retried past it', async () => {
    for (const jobId of Object.keys(behaviour)) await queue.add(QUEUE_NAMES.events, { events: [], rejected: [] }, { jobId });
    await until(
      async () => (completed.includes('postgres-down') && (await queue.getFailedCount()) === 2 ? true : undefined),
      'two failed jobs and one completed',
    );

    expect(Object.fromEntries(attempts)).toEqual({ bug: 3, 'postgres-down': 6, mixed: 5 });
    const finals = reports.filter((report) => report.final).sort((a, b) => a.id.localeCompare(b.id));
    expect(finals).toEqual([
      { id: 'bug', attemptsMade: 3, deterministicFailures: 3, final: true, message: 'rows.map is not a function' },
      { id: 'mixed', attemptsMade: 5, deterministicFailures: 3, final: true, message: 'relation "events_staging" does not exist' },
    ]);
    expect(reports.filter((report) => report.id === 'postgres-down').map((report) => [report.deterministicFailures, report.final])).toEqual(
      Array.from({ length: 5 }, () => [0, false]),
    );

    const failed = await listFailedJobs(redisUrl, prefix, { queue: QUEUE_NAMES.events });
    expect(failed.map(({ failedAt, ...job }) => ({ ...job, failedAt: typeof failedAt })).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { queue: 'events', id: 'bug', attempts: 3, deterministicFailures: 3, failedAt: 'string', reason: 'rows.map is not a function' },
      { queue: 'events', id: 'mixed', attempts: 5, deterministicFailures: 3, failedAt: 'string', reason: 'relation "events_staging" does not exist' },
    ]);
    // What /metrics reports as evt_queue_jobs{state="failed"}.
    expect((await readQueueDepths(redisUrl, prefix)).find((depth) => depth.queue === 'events')).toEqual({
      queue: 'events',
      waiting: 0,
      active: 0,
      delayed: 0,
      failed: 2,
    });
  }, 30_000);
});
