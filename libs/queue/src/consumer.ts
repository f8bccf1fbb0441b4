import { Worker, type Job } from 'bullmq';
import { createRedis, type Redis } from './connection';
import { decodeJobData } from './job-data';
import { retryDelay } from './job-options';

export interface JobInfo {
  id: string;
  attemptsMade: number;
}

export interface ConsumerOptions {
  queueName: string;
  redisUrl: string;
  prefix: string;
  concurrency: number;
  /** A job whose worker stops renewing its lock (killed) is taken again after about this long. */
  lockMs?: number;
  /** Does the job's work; throws a retriable error to have it tried again later. */
  process: (data: unknown, job: JobInfo) => Promise<void>;
  onFailedAttempt?: (error: Error, job: JobInfo) => void;
  onCompleted?: (job: JobInfo, durationMs: number) => void;
}

export interface Consumer {
  /** Stops taking jobs, lets the running ones finish, disconnects. */
  close(): Promise<void>;
  /** Resolves once the worker is connected and waiting for jobs. */
  ready(): Promise<void>;
}

/**
 * A BullMQ worker that never drops a job: failures are retried with capped exponential backoff,
 * and a worker that dies mid-job (kill -9) leaves the job to be taken again, however often.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const connection: Redis = createRedis(options.redisUrl, 'worker');
  const worker = new Worker(
    options.queueName,
    async (job: Job) => {
      const started = Date.now();
      await options.process(await decodeJobData(job.data), { id: job.id ?? '', attemptsMade: job.attemptsMade });
      options.onCompleted?.({ id: job.id ?? '', attemptsMade: job.attemptsMade }, Date.now() - started);
    },
    {
      connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // A stalled job (its worker died) goes back to the queue instead of failing.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: Math.max(250, Math.round((options.lockMs ?? 30_000) / 2)),
      settings: { backoffStrategy: (attemptsMade: number) => retryDelay(attemptsMade) },
    },
  );
  worker.on('error', () => undefined);
  // Processors turn permanent problems into rejected events, so whatever is thrown is retried:
  // retrying keeps the data, failing the job for good would lose it.
  worker.on('failed', (job, error) => {
    if (job) options.onFailedAttempt?.(error, { id: job.id ?? '', attemptsMade: job.attemptsMade });
  });
  return {
    async ready() {
      await worker.waitUntilReady();
    },
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}
