import type { JobsOptions } from 'bullmq';

/** The longest wait between two attempts of a job whose failure may pass (Postgres down, …). */
export const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Jobs are retried until they succeed while their failures are transient: that must never drop
 * events. Data the database refuses is turned into rejected events by the processors; any other
 * failure is counted by the consumer (deterministicFailuresOf), which fails the job for good
 * after a bound (WORKER_MAX_ATTEMPTS).
 */
export const DURABLE_JOB_OPTIONS: JobsOptions = {
  // Practically for ever (68 years at the 30 s cap) and exact through Redis' number encoding.
  attempts: 2_147_483_647,
  backoff: { type: 'custom' },
  removeOnComplete: true,
  removeOnFail: false,
};

/** Exponential from 250 ms, capped at MAX_RETRY_DELAY_MS, with jitter so workers do not retry in lockstep. */
export function retryDelay(attemptsMade: number): number {
  const base = Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** Math.min(attemptsMade - 1, 20));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Failures of a job that were not transient, as the consumer keeps them in the job's progress. */
export function deterministicFailuresOf(progress: unknown): number {
  const count = (progress as { deterministicFailures?: unknown } | null)?.deterministicFailures;
  return typeof count === 'number' && Number.isInteger(count) && count > 0 ? count : 0;
}
