import type { JobsOptions } from 'bullmq';

/** The longest wait between two attempts of a job whose failure may pass (Postgres down, …). */
export const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Jobs are retried until they succeed: a transient failure must never drop events. Errors that
 * retrying cannot fix are turned into rejected events by the processors, not thrown.
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
