import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { isTransient } from '@evt/errors';
import { createRedis, type Redis } from './connection';
import { decodeJobData } from './job-data';
import { deterministicFailuresOf, retryDelay } from './job-options';

export interface JobInfo {
  id: string;
  attemptsMade: number;
}

export interface FailedAttempt extends JobInfo {
  /** Failures of this job that were not transient, this one included (0 for a transient one). */
  deterministicFailures: number;
  /** True when the job ended in `failed`: it will not be tried again unless an operator retries it. */
  final: boolean;
}

export interface ConsumerOptions {
  queueName: string;
  redisUrl: string;
  prefix: string;
  concurrency: number;
  /** A job whose worker stops renewing its lock (killed) is taken again after about this long. */
  lockMs?: number;
  /**
   * Failures that are not transient (see isTransient) a job may have before it ends in `failed`.
   * Transient ones (Postgres down) never count. Unset: every failure is retried for ever.
   */
  maxDeterministicFailures?: number;
  /** Does the job's work; throws a retriable error to have it tried again later. */
  process: (data: unknown, job: JobInfo) => Promise<void>;
  onFailedAttempt?: (error: Error, attempt: FailedAttempt) => void;
  onCompleted?: (job: JobInfo, durationMs: number) => void;
}

export interface Consumer {
  /** Stops taking jobs, lets the running ones finish, disconnects. */
  close(): Promise<void>;
  /** Resolves once the worker is connected and waiting for jobs. */
  ready(): Promise<void>;
}

/** Thrown for a job that failed for good: BullMQ moves it to `failed` whatever attempts are left. */
export class JobFailedForGoodError extends UnrecoverableError {
  constructor(reason: string) {
    super(reason);
    this.name = 'JobFailedForGoodError';
  }
}

/**
 * A BullMQ worker that never drops a job while a retry can help: transient failures (a
 * dependency down) are retried with capped exponential backoff for as long as they last, and a
 * worker that dies mid-job (kill -9) leaves the job to be taken again, however often. Any other
 * failure counts, in the job's progress (attemptsMade counts transient ones too); after
 * `maxDeterministicFailures` of them the job ends in `failed`, where an operator sees it.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const connection: Redis = createRedis(options.redisUrl, 'worker');
  const worker = new Worker(
    options.queueName,
    async (job: Job) => {
      const started = Date.now();
      try {
        await options.process(await decodeJobData(job.data), { id: job.id ?? '', attemptsMade: job.attemptsMade });
      } catch (error) {
        if (options.maxDeterministicFailures === undefined || isTransient(error)) throw error;
        const failures = deterministicFailuresOf(job.progress) + 1;
        await job.updateProgress({ deterministicFailures: failures });
        if (failures >= options.maxDeterministicFailures) throw new JobFailedForGoodError(error instanceof Error ? error.message : String(error));
        throw error;
      }
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
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError;
    const deterministicFailures = isTransient(error) ? 0 : deterministicFailuresOf(job.progress);
    options.onFailedAttempt?.(error, { id: job.id ?? '', attemptsMade: job.attemptsMade, deterministicFailures, final });
  });
  return {
    async ready() {
      await worker.waitUntilReady();
    },
    async close() {
      // A worker closed while its connections still start up can end the process: BullMQ emits the
      // start-up's failure as an 'error' after close() removed every listener (a worker stopped 20 ms
      // into its start-up exited 1 in CI). So it is closed once started, or after 2 s of a Redis that
      // does not answer.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([worker.waitUntilReady().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
      await worker.close();
      connection.disconnect();
    },
  };
}
