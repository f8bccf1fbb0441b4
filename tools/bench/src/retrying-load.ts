import { basicAuth } from '@evt/testing';
import http from 'node:http';
import { trackEvent } from './payloads';

/** What clients that retry as SDKs do saw and got. */
export interface RetryingLoadResult {
  /** Numbers of the batches answered 200 (their events' ids follow from the number: see `eventId`). */
  acknowledgedBatches: number[];
  requests: number;
  answered503: number;
  answered429: number;
  /** Other non-200 answers, by status: 4xx other than 429 are not retried (the batch is lost on the client's side). */
  otherAnswers: Record<string, number>;
  /** Requests with no answer (connection error or timeout): retried, as SDKs do. */
  noAnswer: number;
  /** Batches accepted after at least one refusal. */
  retriesSucceeded: number;
  /** Batches still refused when the grace period ran out. */
  abandonedBatches: number;
}

/**
 * A messageId per (run, event number) in the UUID format, so that the acknowledged ids need not
 * be kept one by one: a batch number stands for its events, and SQL can rebuild the ids.
 */
export function eventId(run: string, eventNumber: number): string {
  return `${run}-0000-4000-8000-${eventNumber.toString(16).padStart(12, '0')}`;
}

/** The same, in SQL, for `run` = $run and event number `n`. */
export const EVENT_ID_SQL = (run: string, n: string) => `format('%s-0000-4000-8000-%s', ${run}, lpad(to_hex(${n}), 12, '0'))`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Batches of unique events from `connections` connections until `seconds` have passed; a batch
 * refused (503, 429, no answer) is sent again with the same messageIds after Retry-After (or a
 * backoff), until it is accepted or `graceSeconds` after the end, as SDKs retry.
 */
export async function retryingLoad(options: {
  url: string;
  writeKey: string;
  run: string;
  connections: number;
  seconds: number;
  graceSeconds: number;
  batchSize: number;
}): Promise<RetryingLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const authorization = basicAuth(options.writeKey);
  const result: RetryingLoadResult = {
    acknowledgedBatches: [],
    requests: 0,
    answered503: 0,
    answered429: 0,
    otherAnswers: {},
    noAnswer: 0,
    retriesSucceeded: 0,
    abandonedBatches: 0,
  };
  const deadline = Date.now() + options.seconds * 1000;
  const giveUp = deadline + options.graceSeconds * 1000;
  let nextBatch = 0;

  const post = (body: string) =>
    new Promise<{ status: number; retryAfterSeconds?: number }>((resolve) => {
      const request = http.request(
        `${options.url}/v1/batch`,
        { method: 'POST', agent, timeout: 30_000, headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          response.resume();
          const retryAfter = Number(response.headers['retry-after']);
          response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined }));
        },
      );
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', () => resolve({ status: 0 }));
      request.end(body);
    });

  const connection = async () => {
    while (Date.now() < deadline) {
      const batch = nextBatch++;
      const events = Array.from({ length: options.batchSize }, (_, i) => trackEvent(eventId(options.run, batch * options.batchSize + i)));
      // The same body on every attempt: same messageIds, as an SDK retries.
      const body = JSON.stringify({ batch: events, sentAt: new Date().toISOString() });
      for (let attempt = 0; ; attempt++) {
        const answer = await post(body);
        result.requests++;
        if (answer.status === 200) {
          result.acknowledgedBatches.push(batch);
          if (attempt > 0) result.retriesSucceeded++;
          break;
        }
        if (answer.status === 503) result.answered503++;
        else if (answer.status === 429) result.answered429++;
        else if (answer.status === 0) result.noAnswer++;
        else result.otherAnswers[answer.status] = (result.otherAnswers[answer.status] ?? 0) + 1;
        const retriable = answer.status === 0 || answer.status === 429 || answer.status >= 500;
        if (!retriable || Date.now() > giveUp) {
          if (retriable) result.abandonedBatches++;
          break;
        }
        // Retry-After when given, else an exponential backoff; jitter so refused clients do not come back in step.
        const waitMs = answer.retryAfterSeconds !== undefined ? answer.retryAfterSeconds * 1000 : Math.min(5000, 200 * 2 ** attempt);
        await sleep(waitMs * (1 + Math.random() * 0.25));
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, connection));
  agent.destroy();
  return result;
}
